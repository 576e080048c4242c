// The ingest pipeline of a log line without HTTP or the rules, for two builds in ONE process taking
// turns (docs/performance.md "Log lines", round 4): parse + scrub (parseNdjson of 1,000-line NDJSON
// bodies as run.mjs sends them), templates (LogTemplater), append (SqliteLogStore.appendLines into
// a fresh file, with the full-text index), each as CPU µs per line; median and minimum over the
// rounds, so load from other jobs that hits one round does not decide.
//
//   npx tsc -b && node --expose-gc benchmarks/logs/pipeline-ab.mjs [--a packages/server/dist-base] [--b packages/server/dist] [--lines 100000] [--rounds 8]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const LINES = Number(arg('lines', 100_000));
const ROUNDS = Number(arg('rounds', 8));

async function load(dist) {
  const m = (p) => import(pathToFileURL(join(REPO, dist, p)).href);
  return {
    dist,
    SqliteStore: (await m('store/sqlite/index.js')).SqliteStore,
    SqliteLogStore: (await m('store/sqlite/logs.js')).SqliteLogStore,
    parseNdjson: (await m('ingest/log-lines.js')).parseNdjson,
    createScrubber: (await m('digest/scrub.js')).createScrubber,
    LogTemplater: (await m('logs/templater.js')).LogTemplater,
  };
}
const builds = [await load(arg('a', 'packages/server/dist-base')), await load(arg('b', 'packages/server/dist'))];

/** run.mjs's lines (50 user patterns' worth of provider lines). */
function line(i) {
  const kind = i % 1000;
  const msg = kind === 0 ? 'Duplicate update_id 9' + i
    : kind === 1 ? `provider ${i % 50} timeout after ${i % 900} ms`
      : kind < 20 ? `Payment provider answered 502 for user ${i % 5000}`
        : `User balance checked for ${i % 5000} in ${i % 90} ms`;
  return JSON.stringify({ level: kind < 20 ? 50 : 30, time: Date.now(), msg, user_id: i % 5000, update_id: 100000 + i, operation: 'check_balance', duration_ms: i % 90, 'botpulse.line_id': `b-${i}` });
}
const bodies = [];
for (let s = 0; s < LINES; s += 1000) bodies.push(Buffer.from(Array.from({ length: Math.min(1000, LINES - s) }, (_, j) => line(s + j)).join('\n')));

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const results = new Map(builds.map((b) => [b.dist, { parse: [], template: [], append: [], all: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const b of round % 2 ? [...builds].reverse() : builds) {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-pipeline-ab-'));
    const store = await b.SqliteStore.open(join(dir, 'bench.db'), { checkpoints: false });
    const logs = new b.SqliteLogStore(store.db);
    const scrubber = b.createScrubber({});
    const templater = new b.LogTemplater({ load: async () => [], now: () => Date.now() });
    const spent = { parse: 0, template: 0, append: 0 };
    globalThis.gc?.();
    const start = cpu();
    for (const body of bodies) {
      let at = cpu();
      const parsed = b.parseNdjson(body, { projectId: 1, receivedAt: Date.now(), source: 'ndjson', scrubber });
      let now = cpu();
      spent.parse += now - at;
      at = now;
      await templater.prepare(parsed.lines);
      templater.assign(parsed.lines);
      now = cpu();
      spent.template += now - at;
      at = now;
      await logs.appendLines(parsed.lines);
      spent.append += cpu() - at;
    }
    const all = cpu() - start;
    const r = results.get(b.dist);
    for (const k of ['parse', 'template', 'append']) r[k].push(spent[k] / LINES);
    r.all.push(all / LINES);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
const median = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
console.log(`${LINES} lines × ${ROUNDS} rounds, load average ${loadavg()[0].toFixed(2)}: CPU µs per line, median (min)`);
console.log('| build | parse + scrub | templates | append (rows, indexes, FTS, commit) | all |');
console.log('| --- | --- | --- | --- | --- |');
for (const [dist, r] of results) console.log(`| ${dist} | ${['parse', 'template', 'append', 'all'].map((k) => `${median(r[k]).toFixed(2)} (${Math.min(...r[k]).toFixed(2)})`).join(' | ')} |`);
