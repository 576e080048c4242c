// run.mjs for two builds side by side in one session (docs/performance.md "Log lines"): the
// builds take turns, the order rotating each round, so load from other jobs hits both alike;
// each row carries the load average it ran under. Writes results/ab-logs-<store>-<time>.json.
//
//   node benchmarks/logs/ab.mjs --a packages/server/dist-base --b packages/server/dist [--rounds 3]
//     [--lines 100000] [--batch 1000] [--concurrency 4] [--user-patterns 50] [--postgres <url>]
// With --postgres each run gets a fresh database: <url>'s database name with _a / _b appended
// (dropped and created through `psql` on the url's server).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const builds = { before: arg('a', 'packages/server/dist-base'), after: arg('b', 'packages/server/dist') };
const ROUNDS = Number(arg('rounds', 3));
const POSTGRES = arg('postgres', null);
const pass = ['lines', 'batch', 'concurrency', 'user-patterns'].flatMap((k) => (arg(k, null) === null ? [] : [`--${k}`, arg(k)]));

function freshDatabase(label) {
  const url = new URL(POSTGRES);
  const name = `${url.pathname.slice(1)}_${label}`;
  const admin = new URL(POSTGRES);
  admin.pathname = '/postgres';
  execFileSync('psql', [admin.href, '-qc', `DROP DATABASE IF EXISTS ${name}`], { stdio: 'ignore' });
  execFileSync('psql', [admin.href, '-qc', `CREATE DATABASE ${name}`], { stdio: 'ignore' });
  url.pathname = `/${name}`;
  return url.href;
}

const rows = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? ['after', 'before'] : ['before', 'after'];
  for (const build of order) {
    const load = loadavg()[0];
    const db = POSTGRES ? ['--postgres', freshDatabase(build === 'before' ? 'a' : 'b')] : [];
    const out = execFileSync(process.execPath, [join(here, 'run.mjs'), '--dist', builds[build], ...pass, ...db], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const cells = out.trim().split('\n').at(-1).split('|').map((c) => c.trim());
    const row = { round: round + 1, build, store: cells[1], ingestLinesPerSecond: Number(cells[6]), ruledSeconds: cells[7], ruledLinesPerSecond: Number(cells[8]), peakRss: cells[9], serverCpuMicrosPerLine: Number(cells[10]), mainThreadCpuMicrosPerLine: Number(cells[11]), loadAverage: Number(load.toFixed(1)) };
    rows.push(row);
    console.error(JSON.stringify(row));
  }
}
console.log('| round | build | store | ingest lines/s | all lines ruled after | ruled lines/s | peak RSS | server CPU µs/line | main thread µs/line | load avg (1 min) |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.round} | ${r.build} | ${r.store} | ${r.ingestLinesPerSecond} | ${r.ruledSeconds} | ${r.ruledLinesPerSecond} | ${r.peakRss} | ${r.serverCpuMicrosPerLine} | ${r.mainThreadCpuMicrosPerLine} | ${r.loadAverage} |`);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', `ab-logs-${POSTGRES ? 'postgres' : 'sqlite'}-${Date.now()}.json`), JSON.stringify({ builds, argv: process.argv.slice(2), rows }, null, 2));
