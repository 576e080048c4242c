// The expedite's cost (docs/performance.md "Log lines", round 3): the log rules' CPU per line with
// forbidden lines sent ahead while the rules are behind (on) and without (off, the expedite
// stubbed out), in one process taking turns, over a stand-in store (no database: the rules and
// the pattern passes only). Lines as benchmarks/logs/run.mjs sends them, 57 forbidden patterns.
//
//   npx tsc -b && node benchmarks/logs/expedite.mjs [--lines 100000] [--rounds 6] [--dist packages/server/dist]
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const LINES = Number(arg('lines', 100000));
const ROUNDS = Number(arg('rounds', 6));
const DIST = resolve(arg('dist', 'packages/server/dist'));
const { LogRuleEvaluator } = await import(pathToFileURL(join(DIST, 'logs/evaluator.js')).href);
const { DEFAULT_LOG_RULES } = await import(pathToFileURL(join(DIST, 'logs/config.js')).href);

const forbidden = ['Decimal.*is not JSON serializable', 'OID.*out of range', 'Error handling request', 'Lock acquisition failed', 'Queue full', 'Database connection lost', 'Webhook timeout', ...Array.from({ length: 50 }, (_, i) => `provider ${i} (timeout|refused) after \\d+ ms`)];
function message(i) {
  const kind = i % 1000;
  return kind === 0 ? `Duplicate update_id 9${i}` : kind === 1 ? `provider ${i % 50} timeout after ${i % 900} ms` : kind < 20 ? `Payment provider answered 502 for user ${i % 5000}` : `User balance checked for ${i % 5000} in ${i % 90} ms`;
}

function evaluator(expedite) {
  const db = { cursor: 0 };
  const logs = {
    ruleCursor: async () => db.cursor,
    ruleStates: async () => [],
    commitRuleBatch: async (b) => ((db.cursor = b.to), true),
    linesByIds: async (ids) => ids.map((id) => ({ id, projectId: 1, time: id, receivedAt: id, level: 'error', message: 'x', logger: null, fields: {}, environment: null, release: null, source: 'ndjson', lineId: null })),
  };
  const ev = new LogRuleEvaluator({
    logs,
    store: { getProject: async () => ({ id: 1, slug: 'bench' }), getProjectSettings: async () => ({}) },
    config: { retentionDays: 7, limits: { maxBodyBytes: 1, maxDecompressedBytes: 1 }, overrides: { '*': { ...DEFAULT_LOG_RULES, forbidden } } },
    spoolEvents: async () => undefined,
    lease: async () => true,
    notify: () => undefined,
    clock: { now: () => Date.now() },
    logger: pino({ level: 'silent' }),
    workerId: 'bench',
  });
  ev.stopped = false;
  if (!expedite) ev.expedite = async () => undefined;
  return { ev, db };
}

async function round(expedite) {
  const { ev, db } = evaluator(expedite);
  const now = Date.now();
  let id = 0;
  const c0 = process.cpuUsage();
  while (id < LINES) {
    // Four appends of 1,000 lines, then the rules catch up: they are behind as under a saturating load.
    for (let k = 0; k < 4 && id < LINES; k++) {
      const after = id;
      const lines = Array.from({ length: 1000 }, () => ((id += 1), { id, projectId: 1, time: now, receivedAt: now, level: id % 1000 < 20 ? 'error' : 'info', message: message(id), operation: 'check_balance', durationMs: String(id % 90) }));
      ev.handOver({ after, lines });
    }
    await new Promise((r) => setImmediate(r));
    while (db.cursor < id) await ev.runOnce();
  }
  const c = process.cpuUsage(c0);
  return { expedite, cpuMicrosPerLine: +((c.user + c.system) / LINES).toFixed(2), expedited: ev.expeditedTotal ?? 0, loadAverage: +loadavg()[0].toFixed(1) };
}

const rows = [];
for (let r = 0; r < ROUNDS; r++) for (const mode of r % 2 ? [true, false] : [false, true]) rows.push({ round: r + 1, ...(await round(mode)) });
console.table(rows);
for (const mode of [false, true]) {
  const v = rows.filter((x) => x.expedite === mode).map((x) => x.cpuMicrosPerLine).sort((a, b) => a - b);
  console.log(`expedite ${mode ? 'on ' : 'off'}: median ${v[Math.floor(v.length / 2)]} µs CPU per line (min ${v[0]}, max ${v[v.length - 1]})`);
}
