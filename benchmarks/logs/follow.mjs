// What the Logs page's reads cost on a large SQLite log table (docs/logs.md, docs/dashboard.md
// "Logs"): a live-follow poll (lines after the newest shown) plain and with a word filter, the
// first page, and an issue page's matching lines (by rule, through the partial index of migration
// 025). The word-filtered poll is measured two ways side by side in one run: the full-text
// subquery bounded by the cursor (what the store does) and unbounded (what it did before), on
// the same data. Prints a table and writes results/follow-<stamp>.json (the run docs quote is
// kept as results/ab-follow.json).
//
//   npx tsc -b && node benchmarks/logs/follow.mjs [--lines 300000] [--runs 50]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../../packages/server/dist/store/sqlite/index.js';
import { SqliteLogStore } from '../../packages/server/dist/store/sqlite/logs.js';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const LINES = arg('lines', 300_000);
const RUNS = arg('runs', 50);

const dir = mkdtempSync(join(tmpdir(), 'botpulse-bench-follow-'));
try {
  const store = await SqliteStore.open(join(dir, 'botpulse.db'));
  const logs = new SqliteLogStore(store.db);
  const project = await store.createProject({ name: 'Bench', shortIdPrefix: 'B' });
  const now = Date.now();
  const loadStart = performance.now();
  for (let i = 0; i < LINES; i += 5000) {
    const batch = [];
    for (let j = i; j < Math.min(LINES, i + 5000); j++) {
      // Every line holds "update" (a common word); one in 1000 is a forbidden line.
      const forbidden = j % 1000 === 0;
      batch.push({
        projectId: project.id, time: now - (LINES - j) * 10, receivedAt: now, level: j % 7 === 0 ? 'error' : 'info', logger: 'bot.handlers',
        message: forbidden ? `Database connection lost during update ${j}` : `Handled update ${j} for user ${j % 977} in ${j % 300} ms`,
        fields: { update_id: String(j), user_id: String(j % 977) }, environment: null, release: null, source: 'ndjson', lineId: null,
      });
    }
    await logs.appendLines(batch);
  }
  const loadMs = performance.now() - loadStart;
  // Mark the forbidden lines as the evaluator does (the rule index covers marked lines only).
  const ids = store.db.prepare("SELECT id FROM log_lines WHERE message LIKE 'Database connection lost%'").pluck().all();
  await logs.commitRuleBatch({ from: 0, to: ids[ids.length - 1], states: [], notifications: [], matches: ids.map((id) => ({ id, rule: 'forbidden:Database connection lost', eventId: null })) });
  const newest = (await logs.searchLines({ projectId: project.id, limit: 1 }))[0].id;
  const after = newest - 20;

  const time = async (fn) => {
    await fn();
    const samples = [];
    for (let r = 0; r < RUNS; r++) {
      const t = performance.now();
      await fn();
      samples.push(performance.now() - t);
    }
    samples.sort((a, b) => a - b);
    return { p50: samples[Math.floor(RUNS * 0.5)], p95: samples[Math.floor(RUNS * 0.95)] };
  };
  const unbounded = store.db.prepare(
    'SELECT * FROM log_lines WHERE project_id = ? AND id > ? AND id IN (SELECT rowid FROM log_lines_fts WHERE log_lines_fts MATCH ?) ORDER BY id DESC LIMIT 200',
  );
  const rows = [
    ['follow poll, no filter (after newest-20)', await time(() => logs.searchLines({ projectId: project.id, afterId: after, limit: 200 }))],
    ['follow poll, word "update", bounded FTS (store)', await time(() => logs.searchLines({ projectId: project.id, afterId: after, text: 'update', limit: 200 }))],
    ['follow poll, word "update", unbounded FTS (before)', await time(() => unbounded.all(project.id, after, '"update"'))],
    ['follow poll, min_level error', await time(() => logs.searchLines({ projectId: project.id, afterId: after, minLevel: 'error', limit: 200 }))],
    ['first page (200 newest)', await time(() => logs.searchLines({ projectId: project.id, limit: 200 }))],
    ['issue page: 20 lines of a rule', await time(() => logs.searchLines({ projectId: project.id, rule: 'forbidden:Database connection lost', limit: 20 }))],
  ];
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`${LINES} lines (loaded in ${(loadMs / 1000).toFixed(1)} s), ${RUNS} runs each, load average ${load}`);
  console.log('| read | p50 ms | p95 ms |\n| --- | ---: | ---: |');
  for (const [name, t] of rows) console.log(`| ${name} | ${t.p50.toFixed(2)} | ${t.p95.toFixed(2)} |`);
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', `follow-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ lines: LINES, runs: RUNS, loadavg: loadavg(), results: Object.fromEntries(rows) }, null, 2));
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
