// Log lines over the NDJSON endpoint (docs/logs.md): lines per second accepted (parsed, scrubbed,
// stored with their full-text index, answered 200), then how long the log rules take to decide on
// all of them (seed 002's 10 default patterns + the error rate + `--user-patterns` more patterns),
// with the server's RSS. A real `botpulse serve` child process on SQLite (or PostgreSQL with
// `--postgres <url>`), batches of `--batch` lines posted `--concurrency` at a time.
//
//   npx tsc -b && node benchmarks/logs/run.mjs [--lines 200000] [--batch 1000] [--concurrency 4] [--user-patterns 50]
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = join(here, '../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const CLI = join(resolve(REPO, arg('dist', 'packages/server/dist')), 'cli/main.js'); // --dist: relative to the repository, or absolute
const LINES = Number(arg('lines', 200_000));
const BATCH = Number(arg('batch', 1000));
const CONCURRENCY = Number(arg('concurrency', 4));
const USER_PATTERNS = Number(arg('user-patterns', 50));
const POSTGRES = arg('postgres', null);
/** `--rules off`: lines stored only (the evaluator still walks them, deciding nothing): separates storing from matching. */
const RULES = arg('rules', 'on');

const port = 20000 + Math.floor(Math.random() * 20000);
const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-bench-logs-'));
const userPatterns = Array.from({ length: USER_PATTERNS }, (_, i) => `provider ${i} (timeout|refused) after \\d+ ms`);
const env = {
  ...process.env,
  BOTPULSE_DATA_DIR: dataDir,
  BOTPULSE_PORT: String(port),
  BOTPULSE_LOG_LEVEL: 'warn',
  BOTPULSE_LOG_MAX_BODY_BYTES: String(16 * 1024 * 1024),
  BOTPULSE_LOG_MAX_DECOMPRESSED_BYTES: String(64 * 1024 * 1024),
  BOTPULSE_LOG_RULES: RULES === 'off' ? JSON.stringify({ '*': { enabled: false } }) : JSON.stringify({ '*': { forbidden: [...['Decimal.*is not JSON serializable', 'OID.*out of range', 'Error handling request', 'Lock acquisition failed', 'Queue full', 'Database connection lost', 'Webhook timeout'], ...userPatterns] } }),
  ...(POSTGRES ? { BOTPULSE_DATABASE_URL: POSTGRES } : {}),
};
const PROF = arg('cpu-prof', null);
const server = spawn(process.execPath, [...(PROF ? ['--cpu-prof', '--cpu-prof-dir', PROF] : []), CLI, 'serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
// A server that dies (a wrong --dist, a port taken, a crash) ends the run with its code, rather than
// leaving the waits below polling a port nobody listens on.
let stopping = false;
server.once('exit', (code, signal) => {
  if (stopping) return;
  console.error(`botpulse serve (${CLI}) exited with ${code ?? signal} before the benchmark ended`);
  process.exit(1);
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(check) {
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch {}
    await sleep(50);
  }
}

function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) * 1024;
  } catch {
    return 0;
  }
}

/** The server's CPU time so far (ms, user + system, all its threads): CPU per line does not depend on the machine's load as rates do. */
function cpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** The main thread's CPU time so far (ms): the thread that parses, templates, stores and judges; the rest of the process's is GC helpers, the digest and upstream threads. */
function mainThreadCpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

const base = `http://127.0.0.1:${port}`;
await until(async () => (await fetch(`${base}/health`)).ok);

const token = readFileSync(join(dataDir, 'initial-api-token'), 'utf8').trim();
const projects = await (await fetch(`${base}/api/v1/projects`, { headers: { authorization: `Bearer ${token}` } })).json();
const project = projects[0] ?? projects.projects?.[0];
const key = /\/\/([^@]+)@/.exec(project.dsn)[1];

/** Realistic bot lines: mostly info with seed 002's fields, some warnings, a few rule hits. */
function line(i) {
  const kind = i % 1000;
  const msg =
    kind === 0 ? 'Duplicate update_id 9' + i
      : kind === 1 ? `provider ${i % USER_PATTERNS} timeout after ${i % 900} ms`
        : kind < 20 ? `Payment provider answered 502 for user ${i % 5000}`
          : `User balance checked for ${i % 5000} in ${i % 90} ms`;
  return JSON.stringify({ level: kind < 20 ? 50 : 30, time: Date.now(), msg, user_id: i % 5000, update_id: 100000 + i, operation: 'check_balance', duration_ms: i % 90, 'botpulse.line_id': `b-${i}` });
}

const bodies = [];
for (let start = 0; start < LINES; start += BATCH) {
  const n = Math.min(BATCH, LINES - start);
  bodies.push(Array.from({ length: n }, (_, j) => line(start + j)).join('\n'));
}
let next = 0;
let accepted = 0;
let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssOf(server.pid))), 200);
const cpu0 = cpuMsOf(server.pid);
const mainCpu0 = mainThreadCpuMsOf(server.pid);
const t0 = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const r = await fetch(`${base}/api/${project.id}/logs/?sentry_key=${key}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
      const j = await r.json();
      if (r.status !== 200) throw new Error(`answered ${r.status}: ${JSON.stringify(j)}`);
      accepted += j.accepted;
    }
  }),
);
const ingestS = (performance.now() - t0) / 1000;
// The rules are done when their cursor (`evaluatedThrough`) reaches the newest line.
const auth = { headers: { authorization: `Bearer ${token}` } };
const newest = (await (await fetch(`${base}/api/v1/projects/${project.id}/logs?limit=1`, auth)).json()).lines[0].id;
await until(async () => (await (await fetch(`${base}/api/v1/projects/${project.id}/log-rules`, auth)).json()).evaluatedThrough >= newest);
const rulesS = (performance.now() - t0) / 1000;
const cpuMs = cpuMsOf(server.pid) - cpu0;
const mainCpuMs = mainThreadCpuMsOf(server.pid) - mainCpu0;
clearInterval(rssTimer);

stopping = true;
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });

const result = {
  store: POSTGRES ? 'postgres' : 'sqlite',
  lines: LINES,
  batch: BATCH,
  concurrency: CONCURRENCY,
  patterns: RULES === 'off' ? 0 : 10 + USER_PATTERNS,
  accepted,
  ingestSeconds: Number(ingestS.toFixed(2)),
  ingestLinesPerSecond: Math.round(accepted / ingestS),
  ruledSeconds: Number(rulesS.toFixed(2)),
  ruledLinesPerSecond: Math.round(accepted / rulesS),
  peakRssMiB: Math.round(peakRss / 1048576),
  // Server CPU (all threads) from the first batch to the last line ruled, per line.
  serverCpuMicrosPerLine: Number(((cpuMs * 1000) / accepted).toFixed(1)),
  mainThreadCpuMicrosPerLine: Number(((mainCpuMs * 1000) / accepted).toFixed(1)),
};
console.log('| store | lines | batch | c | rules | ingest lines/s | all lines ruled after | ruled lines/s | peak RSS | server CPU µs/line | main thread µs/line |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
console.log(`| ${result.store} | ${LINES} | ${BATCH} | ${CONCURRENCY} | ${RULES === 'off' ? 'off' : `${result.patterns} patterns + error rate`} | ${result.ingestLinesPerSecond} | ${result.ruledSeconds} s | ${result.ruledLinesPerSecond} | ${result.peakRssMiB} MiB | ${result.serverCpuMicrosPerLine} | ${result.mainThreadCpuMicrosPerLine} |`);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', `${result.store}-${Date.now()}.json`), JSON.stringify(result, null, 2));
