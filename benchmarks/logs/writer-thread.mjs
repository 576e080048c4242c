// Option (b) of issue 13's round 5, measured without building it (docs/performance.md "Log lines",
// round 5): the append on a writer thread owning a second better-sqlite3 connection to the same
// WAL file, the main thread cloning it each batch's lines and writing small transactions of its own
// on its connection meanwhile (as the rules' commitRuleBatch does). Prints the main thread's CPU
// per line to hand the lines over (structured clone of the line objects), the writer's CPU per
// line, and how long the main thread's own small write transactions were blocked by the writer's
// write lock (better-sqlite3 is synchronous: a blocked write stops the main thread).
//
//   npx tsc -b && node benchmarks/logs/writer-thread.mjs [--lines 100000] [--every-ms 20]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const m = (p) => import(pathToFileURL(join(REPO, 'packages/server/dist', p)).href);
const { SqliteStore } = await m('store/sqlite/index.js');
const { SqliteLogStore } = await m('store/sqlite/logs.js');
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

if (!isMainThread) {
  const store = await SqliteStore.open(workerData.file, { checkpoints: false });
  const logs = new SqliteLogStore(store.db);
  let spent = 0;
  parentPort.on('message', async (msg) => {
    if (msg === 'done') return parentPort.postMessage({ cpu: spent });
    const at = cpu();
    const r = await logs.appendLines(msg.lines);
    spent += cpu() - at;
    parentPort.postMessage({ id: msg.id, after: r.stored?.after ?? 0, accepted: r.accepted });
  });
  parentPort.postMessage('ready');
} else {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const LINES = Number(arg('lines', 100_000));
  const EVERY_MS = Number(arg('every-ms', 20));
  const { parseNdjson } = await m('ingest/log-lines.js');
  const { createScrubber } = await m('digest/scrub.js');
  const { LogTemplater } = await m('logs/templater.js');
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-writer-thread-'));
  const file = join(dir, 'bench.db');
  const store = await SqliteStore.open(file, { checkpoints: false });
  const scrubber = createScrubber({});
  const templater = new LogTemplater({ load: async () => [], now: () => Date.now() });
  const line = (i) => JSON.stringify({ level: i % 1000 < 20 ? 50 : 30, time: Date.now(), msg: `User balance checked for ${i % 5000} in ${i % 90} ms`, user_id: i % 5000, update_id: 100000 + i, operation: 'check_balance', duration_ms: i % 90, 'botpulse.line_id': `b-${i}` });
  const batches = [];
  for (let s = 0; s < LINES; s += 1000) {
    const parsed = parseNdjson(Buffer.from(Array.from({ length: 1000 }, (_, j) => line(s + j)).join('\n')), { projectId: 1, receivedAt: Date.now(), source: 'ndjson', scrubber });
    await templater.prepare(parsed.lines);
    templater.assign(parsed.lines);
    batches.push(parsed.lines);
  }
  store.db.exec('CREATE TABLE IF NOT EXISTS bench_cursor (k TEXT PRIMARY KEY, v INTEGER)');
  const bump = store.db.prepare('INSERT INTO bench_cursor (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v');
  const writer = new Worker(fileURLToPath(import.meta.url), { workerData: { file } });
  await new Promise((r) => writer.once('message', r));
  const waits = [];
  let cloneCpu = 0;
  // The main thread's own writes (the rules' commits) while the writer appends.
  let n = 0;
  const timer = setInterval(() => {
    const at = performance.now();
    store.db.transaction(() => bump.run('rules', ++n)).immediate();
    waits.push(performance.now() - at);
  }, EVERY_MS);
  const pending = new Map();
  writer.on('message', (msg) => pending.get(msg.id)?.(msg));
  const start = performance.now();
  // Four batches in flight, as run.mjs's --concurrency 4.
  let next = 0;
  const one = async () => {
    while (next < batches.length) {
      const id = next++;
      const done = new Promise((r) => pending.set(id, r));
      const at = cpu();
      writer.postMessage({ id, lines: batches[id] });
      cloneCpu += cpu() - at;
      await done;
    }
  };
  await Promise.all([one(), one(), one(), one()]);
  const wall = performance.now() - start;
  clearInterval(timer);
  writer.postMessage('done');
  const { cpu: writerCpu } = await new Promise((r) => writer.once('message', r));
  await writer.terminate();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  waits.sort((a, b) => a - b);
  const q = (p) => waits[Math.min(waits.length - 1, Math.floor(p * waits.length))].toFixed(2);
  console.log(`${LINES} lines, load average ${loadavg()[0].toFixed(2)}: ${Math.round(LINES / (wall / 1000))} lines/s appended by the writer thread`);
  console.log(`main thread: ${(cloneCpu / LINES).toFixed(2)} µs/line to post the lines (structured clone); writer thread: ${(writerCpu / LINES).toFixed(2)} µs/line (clone read not included)`);
  console.log(`main thread's own write transactions (${waits.length}, one per ${EVERY_MS} ms) blocked: p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(1)} ms, total ${waits.reduce((a, b) => a + b, 0).toFixed(0)} ms of ${wall.toFixed(0)} ms`);
}
