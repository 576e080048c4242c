// What log templates cost per line (docs/logs.md "Templates"), in process, A/B side by side:
//   - mining: LogTemplater.assign (mask, tokenise, route, match) on seed-002-like lines;
//   - storing: SqliteLogStore.appendLines of the same batches into three databases, in rotating
//     order each round so load changes hit all alike: A = as before this branch (no template, no
//     template index), B = template ids, an index (project_id, template_id, id) and the
//     per-batch counts, C = template ids and counts without that index (what migration 022 does).
// Prints a table with the load average and writes results/ab-templates-<time>.json.
//
//   npx tsc -b && node benchmarks/logs/templates.mjs [--lines 60000] [--batch 1000] [--rounds 12]
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { message } from './messages.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '../../packages/server/dist');
const { SqliteStore } = await import(join(dist, 'store/sqlite/index.js'));
const { SqliteLogStore } = await import(join(dist, 'store/sqlite/logs.js'));
const { LogTemplater } = await import(join(dist, 'logs/templater.js'));

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const LINES = arg('lines', 60_000);
const BATCH = arg('batch', 1000);
const ROUNDS = arg('rounds', 12);

const dir = mkdtempSync(join(tmpdir(), 'botpulse-bench-templates-'));
const open = async (name, index) => {
  const store = await SqliteStore.open(join(dir, `${name}.db`));
  if (index) store.db.exec('CREATE INDEX log_lines_template ON log_lines (project_id, template_id, id)');
  const project = await store.createProject({ name: 'Bench', shortIdPrefix: 'B' });
  return { store, logs: new SqliteLogStore(store.db), project };
};
const dbs = { a: await open('a', false), b: await open('b', true), c: await open('c', false) };
const templater = new LogTemplater({ load: async () => [] });

const lineAt = (i) => ({
  projectId: dbs.a.project.id, time: Date.now(), receivedAt: Date.now(), level: 'info', logger: 'bot', message: message(i),
  fields: { user_id: String(i % 5000), update_id: String(100000 + i), operation: 'check_balance', duration_ms: String(i % 90) },
  environment: 'production', release: null, source: 'ndjson', lineId: `b-${i}`,
});

// Mining alone.
const all = Array.from({ length: LINES }, (_, i) => lineAt(i));
await templater.prepare(all.slice(0, 1));
let t = process.hrtime.bigint();
for (let i = 0; i < all.length; i += BATCH) templater.assign(all.slice(i, i + BATCH));
const mineUs = Number(process.hrtime.bigint() - t) / 1000 / LINES;
const templates = new Set(all.map((l) => l.template.id)).size;

// Storing: A, B, C in rotating order.
const perRound = Math.max(1, Math.floor(LINES / BATCH / ROUNDS));
const ns = { a: 0, b: 0, c: 0 };
let stored = 0;
const orders = [['a', 'b', 'c'], ['b', 'c', 'a'], ['c', 'a', 'b']];
for (let r = 0; r < ROUNDS; r++) {
  const start = r * perRound * BATCH;
  for (const variant of orders[r % 3]) {
    const batches = Array.from({ length: perRound }, (_, k) =>
      all.slice(start + k * BATCH, start + (k + 1) * BATCH).map((l) => {
        const copy = { ...l, projectId: dbs[variant].project.id };
        if (variant === 'a') delete copy.template;
        return copy;
      }),
    );
    t = process.hrtime.bigint();
    for (const batch of batches) await dbs[variant].logs.appendLines(batch);
    ns[variant] += Number(process.hrtime.bigint() - t);
  }
  stored += perRound * BATCH;
}
const us = (v) => ns[v] / 1000 / stored;
const load = loadavg().map((l) => l.toFixed(2)).join(' ');

console.log(`\nlog templates, ${LINES} lines mined (${templates} templates), ${stored} stored per variant in batches of ${BATCH}, ${ROUNDS} rotating rounds; load average ${load}\n`);
console.log('| step | µs per line | lines/s |');
console.log('| --- | --- | --- |');
console.log(`| mining (LogTemplater.assign) | ${mineUs.toFixed(1)} | ${Math.round(1e6 / mineUs)} |`);
console.log(`| SQLite append, A: before this branch | ${us('a').toFixed(1)} | ${Math.round(1e6 / us('a'))} |`);
console.log(`| SQLite append, B: template ids + index + counts | ${us('b').toFixed(1)} | ${Math.round(1e6 / us('b'))} |`);
console.log(`| SQLite append, C: template ids + counts (migration 022) | ${us('c').toFixed(1)} | ${Math.round(1e6 / us('c'))} |`);

mkdirSync(join(here, 'results'), { recursive: true });
const out = join(here, 'results', `ab-templates-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, JSON.stringify({ lines: LINES, batch: BATCH, rounds: ROUNDS, stored, templates, mineUsPerLine: mineUs, storeUsPerLine: { a: us('a'), b: us('b'), c: us('c') }, loadavg: loadavg() }, null, 2));
console.log(`\nwritten ${out}`);
for (const d of Object.values(dbs)) await d.store.close();
rmSync(dir, { recursive: true, force: true });
