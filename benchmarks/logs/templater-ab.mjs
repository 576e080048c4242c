// Template mining (LogTemplater.assign) for two builds side by side in one process, taking turns
// round by round: CPU µs per line (process.cpuUsage around the assign calls only), with the load
// average. The messages are templates.mjs's mix (about 10 templates, numbers in most lines).
//
//   npx tsc -b && node benchmarks/logs/templater-ab.mjs [--a packages/server/dist-base] [--b packages/server/dist] [--lines 100000] [--rounds 4]
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { message } from './messages.mjs';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const builds = { before: arg('a', 'packages/server/dist-base'), after: arg('b', 'packages/server/dist') };
const LINES = Number(arg('lines', 100_000));
const ROUNDS = Number(arg('rounds', 4));

const templaters = {};
for (const [name, dist] of Object.entries(builds)) templaters[name] = (await import(join(REPO, dist, 'logs/templater.js'))).LogTemplater;
const batches = () => Array.from({ length: LINES / 1000 }, (_, b) => Array.from({ length: 1000 }, (_, j) => ({ projectId: 1, message: message(b * 1000 + j), fields: {} })));

console.log('| round | build | CPU µs per line | load avg (1 min) |');
console.log('| --- | --- | --- | --- |');
for (let round = 1; round <= ROUNDS; round++) {
  for (const name of round % 2 ? ['before', 'after'] : ['after', 'before']) {
    const templater = new templaters[name]({ load: async () => [] });
    const input = batches();
    for (const b of input.slice(0, 10)) templater.assign(b.map((l) => ({ ...l }))); // warm up, templates learnt
    const start = process.cpuUsage();
    for (const b of input) templater.assign(b);
    const used = process.cpuUsage(start);
    console.log(`| ${round} | ${name} | ${((used.user + used.system) / LINES).toFixed(1)} | ${loadavg()[0].toFixed(1)} |`);
  }
}
