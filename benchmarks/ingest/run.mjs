#!/usr/bin/env node
// Ingestion benchmark: Botpulse vs a bare node:http server, same bodies, same load, same run;
// Botpulse on its embedded SQLite and on PostgreSQL with one or two processes.
// See README.md for what is measured and how to read the table.

import { fork, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { SIZE_CLASSES } from './lib/events.mjs';
import * as pgBench from './lib/pg.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const DEFAULT_SERVER_MAIN = join(REPO, 'packages/server/dist/cli/main.js');
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- options ------------------------------------------------------------------------------------

const HELP = `Usage: node run.mjs [options]        (or: npm start -- [options])

  --sizes <list>          event sizes, from ${Object.keys(SIZE_CLASSES).join(', ')}     [BENCH_SIZES]     default 5k,50k
  --levels <list>         concurrency levels (requests in flight)      [BENCH_LEVELS]    default 1,8,32,64
  --duration <s>          measured seconds per level                   [BENCH_DURATION]  default 5
  --warmup <s>            unmeasured warm-up per server start (c=8)     [BENCH_WARMUP]    default 1
  --targets <list>        bare,botpulse,botpulse-pg,botpulse-pg2        [BENCH_TARGETS]   default bare,botpulse
                          botpulse = SQLite; botpulse-pg = 1 process on PostgreSQL; botpulse-pg2 = 2 processes on one database
  --database-url <url>    PostgreSQL server for the -pg targets (a fresh database per row, dropped after)
                                                                        [BENCH_DATABASE_URL] default postgres://postgres@127.0.0.1:5432/postgres
  --clients <n>           load-generator processes (split the in-flight requests) [BENCH_CLIENTS] default 1
  --backlog-limit <n>     BOTPULSE_BACKLOG_LIMIT for the server         [BENCH_BACKLOG_LIMIT] default 1000000
  --drain-timeout <s>     give up waiting for the backlog to drain      [BENCH_DRAIN_TIMEOUT] default 120
  --max-requests <n>      cap per level and client                      default 1000000
  --request-timeout <s>   per request (counted as an error)             default 30
  --pool <n>              pre-generated bodies per size and client      default 4000 (5k), 1000 (50k)
  --server-env K=V        extra env for botpulse serve (repeatable; recorded in the JSON)
  --server-main <file>    the botpulse CLI to run (an A/B against a build copied aside) default packages/server/dist/cli/main.js
  --server-node-args=<a>  extra node flags for botpulse serve, e.g. --server-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"
  --tmp-dir <dir>         where the temporary data dirs go              default os.tmpdir()
  --out <file>            JSON output                                   default results/latest.json
  --keep-data             keep the temporary data dirs
  --quick                 smoke run (~30 s): levels 1,32; 2 s per level; 0.5 s warm-up
  --max-minutes <m>       hard stop for the whole run                   default 15
  -h, --help`;

let flags;
try {
  ({ values: flags } = parseArgs({
  options: {
    sizes: { type: 'string' },
    levels: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    targets: { type: 'string' },
    'database-url': { type: 'string' },
    clients: { type: 'string' },
    'backlog-limit': { type: 'string' },
    'drain-timeout': { type: 'string' },
    'max-requests': { type: 'string' },
    'request-timeout': { type: 'string' },
    pool: { type: 'string' },
    'server-env': { type: 'string', multiple: true },
    'server-node-args': { type: 'string' },
    'server-main': { type: 'string' },
    'tmp-dir': { type: 'string' },
    out: { type: 'string' },
    'keep-data': { type: 'boolean' },
    quick: { type: 'boolean' },
    'max-minutes': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  }));
} catch (err) {
  console.error(`bench: ${err.message}\n\n${HELP}`);
  process.exit(2);
}
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}
const env = process.env;
const quick = flags.quick || env.BENCH_QUICK === '1';
const list = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);
const num = (name, v, min = 0) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) fail(`--${name} must be a number ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
};
const opts = {
  quick,
  sizes: list(flags.sizes ?? env.BENCH_SIZES ?? '5k,50k'),
  levels: list(flags.levels ?? env.BENCH_LEVELS ?? (quick ? '1,32' : '1,8,32,64')).map((v) => num('levels', v, 1)),
  durationS: num('duration', flags.duration ?? env.BENCH_DURATION ?? (quick ? 2 : 5), 0.1),
  warmupS: num('warmup', flags.warmup ?? env.BENCH_WARMUP ?? (quick ? 0.5 : 1)),
  targets: list(flags.targets ?? env.BENCH_TARGETS ?? 'bare,botpulse'),
  databaseUrl: flags['database-url'] ?? env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  clients: num('clients', flags.clients ?? env.BENCH_CLIENTS ?? 1, 1),
  backlogLimit: num('backlog-limit', flags['backlog-limit'] ?? env.BENCH_BACKLOG_LIMIT ?? 1_000_000, 1),
  drainTimeoutS: num('drain-timeout', flags['drain-timeout'] ?? env.BENCH_DRAIN_TIMEOUT ?? 120, 1),
  maxRequests: num('max-requests', flags['max-requests'] ?? 1_000_000, 1),
  requestTimeoutS: num('request-timeout', flags['request-timeout'] ?? 30, 0.1),
  pool: flags.pool ? num('pool', flags.pool, 2) : null,
  serverEnv: Object.fromEntries((flags['server-env'] ?? []).map((kv) => {
    const at = kv.indexOf('=');
    if (at <= 0) fail(`--server-env expects KEY=VALUE, got ${kv}`);
    return [kv.slice(0, at), kv.slice(at + 1)];
  })),
  serverNodeArgs: list((flags['server-node-args'] ?? '').replace(/\s+/g, ',')),
  serverMain: flags['server-main'] ?? DEFAULT_SERVER_MAIN,
  tmpDir: flags['tmp-dir'] ?? os.tmpdir(),
  out: resolve(flags.out ?? join(HERE, 'results/latest.json')),
  keepData: Boolean(flags['keep-data']),
  maxMinutes: num('max-minutes', flags['max-minutes'] ?? 15, 0.1),
};
for (const s of opts.sizes) if (!SIZE_CLASSES[s]) fail(`unknown size ${s}; expected ${Object.keys(SIZE_CLASSES).join(', ')}`);
// Botpulse targets: the store and how many server processes share it (the load is split between them).
const BOTPULSE_TARGETS = {
  botpulse: { store: 'sqlite', processes: 1 },
  'botpulse-pg': { store: 'postgres', processes: 1 },
  'botpulse-pg2': { store: 'postgres', processes: 2 },
};
for (const t of opts.targets) if (t !== 'bare' && !BOTPULSE_TARGETS[t]) fail(`unknown target ${t}; expected bare, ${Object.keys(BOTPULSE_TARGETS).join(', ')}`);
const usesPostgres = opts.targets.some((t) => BOTPULSE_TARGETS[t]?.store === 'postgres');
const WARMUP_CONCURRENCY = 8;
const SERVER_MAIN = opts.serverMain;
const NOISY_OTHER_CPU_PCT = 25;
const poolSize = (size) => opts.pool ?? (size === '50k' ? 1000 : 4000);
if (opts.targets.some((t) => BOTPULSE_TARGETS[t]) && !existsSync(SERVER_MAIN)) {
  fail(`${SERVER_MAIN} is missing: run "npm run build" at the repository root (or "npx tsc -b packages/server")`);
}

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}

// ---- child bookkeeping: nothing outlives this process ------------------------------------------

const children = new Set();
const serverPids = new Set();
const dataDirs = new Set();
const databases = new Set(); // PostgreSQL databases of rows not yet dropped
function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
function killAll() {
  for (const pid of serverPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
  if (!opts.keepData) for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  // Synchronous, since this also runs on 'exit': a child drops what a killed row left behind.
  if (databases.size) spawnSync(process.execPath, [join(HERE, 'lib/pg.mjs'), 'drop', opts.databaseUrl, ...databases], { stdio: 'inherit', timeout: 30_000 });
  databases.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\nbench: ${sig}, stopping children`);
    killAll();
    process.exit(130);
  });
}
process.on('uncaughtException', (err) => {
  console.error('bench: failed:', err?.stack ?? err);
  killAll();
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  console.error('bench: failed:', err?.stack ?? err);
  killAll();
  process.exit(1);
});
setTimeout(() => {
  console.error(`bench: still running after ${opts.maxMinutes} min (--max-minutes); giving up`);
  killAll();
  process.exit(3);
}, opts.maxMinutes * 60_000).unref();

/** Sends one message to a child and resolves with its next reply. */
function ask(child, msg) {
  return new Promise((resolveAsk, rejectAsk) => {
    const onMessage = (reply) => {
      cleanup();
      if (reply?.type === 'error') rejectAsk(new Error(`child: ${reply.message}`));
      else resolveAsk(reply);
    };
    const onExit = (code, signal) => {
      cleanup();
      rejectAsk(new Error(`child exited (${code ?? signal}) while busy`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.send(msg);
  });
}

function nextMessage(child, type, timeoutMs, what) {
  return new Promise((resolveMsg, rejectMsg) => {
    const timer = setTimeout(() => done(new Error(`${what}: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m) => m?.type === type && done(null, m);
    const onExit = (code, signal) => done(new Error(`${what} exited (${code ?? signal})`));
    const done = (err, m) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      err ? rejectMsg(err) : resolveMsg(m);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

// ---- small HTTP / proc helpers ---------------------------------------------------------------------

const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function getJson(port, path, timeoutMs = 5000) {
  return new Promise((resolveGet, rejectGet) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: probeAgent, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try {
          resolveGet({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch (err) {
          rejectGet(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', rejectGet);
  });
}

function freePort() {
  return new Promise((resolvePort, rejectPort) => {
    const srv = net.createServer();
    srv.on('error', rejectPort);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (ms) used by a process so far, from /proc/<pid>/stat (utime + stime). */
function procCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

/**
 * The scheduler's figures of the processes' main threads (a process's main thread has tid = pid),
 * summed: /proc/<pid>/task/<pid>/schedstat holds ns on a CPU, ns runnable but waiting for one, and
 * times it was scheduled in. Null where the kernel does not keep them.
 */
function mainThreadsSchedstat(pids) {
  try {
    const sum = { cpuMs: 0, waitMs: 0, slices: 0 };
    for (const pid of pids) {
      const [cpu, wait, slices] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
      sum.cpuMs += cpu / 1e6;
      sum.waitMs += wait / 1e6;
      sum.slices += slices;
    }
    return sum;
  } catch {
    return null;
  }
}

/** Busy CPU time (ms, all cores) of the whole machine, from /proc/stat. */
function machineBusyMs() {
  try {
    const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/);
    const n = v.map(Number); // user nice system idle iowait irq softirq steal guest guest_nice
    return ((n[0] + n[1] + n[2] + n[5] + n[6] + n[7]) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

function procMemKb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/**
 * Polls VmRSS/VmHWM of the server processes every 100 ms. A process's peak is the larger of its
 * sampled maximum and VmHWM; `peakKb` is the sum of the processes' peaks (with two processes an
 * upper bound of what they held at one moment; `maxSampledSumKb` is the largest sampled sum).
 */
function rssSampler(pids) {
  const per = pids.map(() => ({ maxRss: 0, hwm: 0 }));
  let maxSum = 0;
  const sample = () => {
    let sum = 0;
    pids.forEach((pid, i) => {
      const m = procMemKb(pid);
      if (!m) return;
      sum += m.rss;
      if (m.rss > per[i].maxRss) per[i].maxRss = m.rss;
      if (m.hwm > per[i].hwm) per[i].hwm = m.hwm;
    });
    if (sum > maxSum) maxSum = sum;
  };
  sample();
  const timer = setInterval(sample, 100);
  return {
    stop() {
      sample();
      clearInterval(timer);
      const peaks = per.map((p) => Math.max(p.maxRss, p.hwm));
      return {
        maxSampledRssKb: per.reduce((n, p) => n + p.maxRss, 0),
        vmHwmKb: per.reduce((n, p) => n + p.hwm, 0),
        maxSampledSumKb: maxSum,
        peakKbPerProcess: peaks,
        peakKb: peaks.reduce((a, b) => a + b, 0),
      };
    },
  };
}

/** CPU time (ms) of several processes together; null if one cannot be read. */
function procsCpuMs(pids) {
  let sum = 0;
  for (const pid of pids) {
    const ms = procCpuMs(pid);
    if (ms === null) return null;
    sum += ms;
  }
  return sum;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

function mergeSorted(arrays) {
  const total = arrays.reduce((n, a) => n + a.length, 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const a of arrays) {
    all.set(a, at);
    at += a.length;
  }
  return all.sort();
}

// ---- servers -------------------------------------------------------------------------------------

async function startBare() {
  const child = track(fork(join(HERE, 'lib/bare-server.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const { port } = await nextMessage(child, 'listening', 10_000, 'bare server');
  return {
    port,
    pid: child.pid,
    path: '/api/1/envelope/?sentry_key=bare',
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await waitExit(child, 5000);
    },
  };
}

/** One `botpulse serve` with a fresh data dir; `storeEnv` adds BOTPULSE_DATABASE_URL for PostgreSQL. */
async function startBotpulse(storeEnv = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(opts.tmpDir, 'botpulse-bench-'));
  dataDirs.add(dataDir);
  const logFile = join(dataDir, 'server.log');
  const serverEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOTPULSE_')));
  Object.assign(serverEnv, {
    BOTPULSE_HOST: '127.0.0.1',
    BOTPULSE_PORT: String(port),
    BOTPULSE_DATA_DIR: dataDir,
    BOTPULSE_LOG_LEVEL: 'warn',
    BOTPULSE_BACKLOG_LIMIT: String(opts.backlogLimit),
    ...storeEnv,
    ...opts.serverEnv,
  });
  const guard = track(fork(join(HERE, 'lib/guard.mjs'), [logFile, opts.keepData ? '-' : dataDir, process.execPath, ...opts.serverNodeArgs, SERVER_MAIN, 'serve'], { env: serverEnv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  let exitInfo = null;
  guard.on('message', (m) => {
    if (m?.type === 'exit') exitInfo = m;
  });
  const logText = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const logTail = () => logText().split('\n').slice(-30).join('\n');
  let pid;
  let key = null;
  try {
    ({ pid } = await nextMessage(guard, 'spawned', 10_000, 'server guard'));
    serverPids.add(pid);
    // Ready when /health answers; the DSN (public key) is in the start banner. A start takes about
    // a second here, but 10-30 s when other jobs load the machine (seen at load average 30).
    const deadline = now() + 90_000;
    for (;;) {
      if (exitInfo) throw new Error(`botpulse serve exited during start (${exitInfo.code ?? exitInfo.signal}):\n${logTail()}`);
      if (now() > deadline) throw new Error(`botpulse serve did not become ready in 90 s:\n${logTail()}`);
      try {
        const h = await getJson(port, '/health', 1000);
        if (h.status === 200) {
          key = /DSN: http:\/\/([0-9a-f]+)@[^/\s]+\/(\d+)/.exec(logText());
          if (key) break;
        }
      } catch {}
      await sleep(50);
    }
  } catch (err) {
    guard.kill('SIGTERM'); // the guard SIGKILLs the server
    await waitExit(guard, 5000);
    if (pid) serverPids.delete(pid);
    if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const [, publicKey, projectId] = key;
  let stopped = false;
  return {
    port,
    pid,
    dataDir,
    logTail,
    /** Log lines at warn level or above (the server runs with BOTPULSE_LOG_LEVEL=warn). */
    logProblems() {
      const out = [];
      for (const line of logText().split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const entry = JSON.parse(line);
          if (entry.level >= 40) {
            const why = entry.err ? `: ${entry.err.code ? entry.err.code + ' ' : ''}${entry.err.message ?? ''}` : entry.error ? `: ${entry.error}` : '';
            out.push(`${entry.msg ?? ''}${why}`.slice(0, 300));
          }
        } catch {}
      }
      return out;
    },
    path: `/api/${projectId}/envelope/?sentry_key=${publicKey}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!exitInfo && guard.connected) {
        guard.send({ cmd: 'stop', graceMs: 10_000 });
        await waitExit(guard, 15_000);
      }
      serverPids.delete(pid);
      if (exitInfo && exitInfo.code !== 0 && exitInfo.code !== null) console.error(`bench: botpulse exited with ${exitInfo.code}:\n${logTail()}`);
    },
  };
}

/**
 * The servers of one row, as one target: a bare server, Botpulse on SQLite, or 1–2 Botpulse processes
 * on a fresh PostgreSQL database (created here, dropped by `stop`). The processes start one after the
 * other, so the first applies the migrations and creates the default project, whose DSN the second
 * then prints too; the load generators split their requests between `ports`.
 */
async function startTarget(target, rowIndex) {
  if (target === 'bare') {
    const bare = await startBare();
    return { ...bare, ports: [bare.port], pids: [bare.pid], servers: [bare] };
  }
  const spec = BOTPULSE_TARGETS[target];
  if (spec.store === 'sqlite') {
    const bp = await startBotpulse();
    return { ...bp, ports: [bp.port], pids: [bp.pid], servers: [bp] };
  }
  const database = await pgBench.createDatabase(opts.databaseUrl, rowIndex);
  databases.add(database);
  const url = pgBench.urlForDatabase(opts.databaseUrl, database);
  const servers = [];
  let monitor = null;
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (monitor) await monitor.close().catch(() => {});
    monitor = null;
    if (!opts.keepData && databases.has(database)) {
      await pgBench.dropDatabase(opts.databaseUrl, database);
      databases.delete(database);
    }
  };
  try {
    for (let i = 0; i < spec.processes; i++) servers.push(await startBotpulse({ BOTPULSE_DATABASE_URL: url }));
    if (servers.some((s) => s.path !== servers[0].path)) throw new Error(`the processes print different DSNs: ${servers.map((s) => s.path).join(' ')}`);
    monitor = await pgBench.openMonitor(url, database);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    database,
    monitor,
    servers,
    ports: servers.map((s) => s.port),
    pids: servers.map((s) => s.pid),
    path: servers[0].path,
    logProblems: () => servers.flatMap((s) => s.logProblems()),
    /** Stops the processes (the data dirs go with them), keeps the database for `inspect`. */
    stopServers: () => Promise.all(servers.map((s) => s.stop())),
    stop,
  };
}

function waitExit(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolveExit();
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveExit();
    });
  });
}

// ---- load --------------------------------------------------------------------------------------

/** Runs `concurrency` in-flight requests, split across the clients, and merges their results. */
async function load(clients, { ports, path, concurrency, durationMs }) {
  const shares = clients.map((_, i) => Math.floor(concurrency / clients.length) + (i < concurrency % clients.length ? 1 : 0));
  const results = await Promise.all(
    clients.map((c, i) =>
      shares[i] === 0
        ? null
        : ask(c, { cmd: 'run', ports, path, concurrency: shares[i], durationMs, maxRequests: opts.maxRequests, timeoutMs: opts.requestTimeoutS * 1000 }),
    ),
  );
  const rs = results.filter(Boolean);
  const sum = (f) => rs.reduce((n, r) => n + f(r), 0);
  const addMaps = (f) => {
    const out = {};
    for (const r of rs) for (const [k, v] of Object.entries(f(r))) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const statuses = addMaps((r) => r.statuses);
  const errors = addMaps((r) => r.errors);
  const latOk = mergeSorted(rs.map((r) => r.latOk));
  const latAll = mergeSorted(rs.map((r) => r.latAll));
  const tStart = Math.min(...rs.map((r) => r.tStart));
  const tEnd = Math.max(...rs.map((r) => r.tEnd));
  return {
    tStart,
    tEnd,
    sent: sum((r) => r.issued),
    ok: sum((r) => r.ok),
    rejected429: statuses[429] ?? 0,
    otherStatus: Object.entries(statuses).filter(([s]) => s !== '200' && s !== '429').reduce((n, [, v]) => n + v, 0),
    badAnswers: sum((r) => r.badAnswers),
    netErrors: Object.values(errors).reduce((a, b) => a + b, 0),
    statuses,
    errors,
    bytesSent: sum((r) => r.bytesSent),
    clientCpuMs: sum((r) => r.cpuMs),
    latencyMs: {
      p50: percentile(latOk, 50),
      p90: percentile(latOk, 90),
      p99: percentile(latOk, 99),
      max: latOk.length ? latOk[latOk.length - 1] : null,
    },
    latencyAllAnswersMs: { p50: percentile(latAll, 50), p99: percentile(latAll, 99) },
  };
}

// ---- one row: fresh server, warm-up, measured load, drain --------------------------------------

async function runRow(target, size, concurrency, clients, rowIndex) {
  const spec = BOTPULSE_TARGETS[target];
  const isBp = Boolean(spec);
  const isPg = spec?.store === 'postgres';
  const build = isBp ? serverBuildStamp().newestJs : null;
  const server = await startTarget(target, rowIndex);
  const rss = rssSampler(server.pids);
  const db = isPg ? dbActivityTracker(server.monitor) : null;
  // Progress. SQLite: the process's /health. PostgreSQL: the tables every process shares (each
  // process's /health counts only what it digested itself): spool rows left and events stored, so
  // "digested" there means "in the events table".
  const health = isPg
    ? async () => {
        const p = await server.monitor.progress();
        const t = now();
        await db.sample();
        return { t, backlog: p.backlog, digested: p.events };
      }
    : async () => {
        const h = await getJson(server.port, '/health', 10_000);
        return { t: now(), backlog: h.body.backlog, digested: h.body.digested };
      };
  try {
    // Warm-up (not measured): JIT, connections, and for Botpulse the ~200 issues get created.
    let warmupOk = 0;
    if (opts.warmupS > 0) {
      const w = await load(clients, { ports: server.ports, path: server.path, concurrency: WARMUP_CONCURRENCY, durationMs: opts.warmupS * 1000 });
      warmupOk = w.ok;
      if (isBp) {
        const drained = await waitDrained(health, 0, isPg ? warmupOk : 0, opts.drainTimeoutS * 1000);
        if (!drained.drained) throw new Error('the warm-up backlog did not drain');
      }
    }

    const h0 = isBp ? await health() : null;
    await db?.start();
    const cpu0 = procsCpuMs(server.pids);
    const sched0 = mainThreadsSchedstat(server.pids);
    const busy0 = machineBusyMs();
    const self0 = process.cpuUsage();
    const w0 = now();
    // During the load: /health every 250 ms for the backlog curve (Botpulse only).
    const timeline = [];
    let polling = isBp;
    let stopPolling;
    const pollingStopped = new Promise((r) => (stopPolling = r));
    const poller = (async () => {
      while (polling) {
        try {
          const h = await health();
          timeline.push([Math.round(h.t), h.backlog, h.digested]);
        } catch {}
        await Promise.race([sleep(250), pollingStopped]);
      }
    })();
    const res = await load(clients, { ports: server.ports, path: server.path, concurrency, durationMs: opts.durationS * 1000 });
    polling = false;
    stopPolling();
    await poller;
    await db?.sample();
    const cpu1 = procsCpuMs(server.pids);
    const sched1 = mainThreadsSchedstat(server.pids);
    const dbCpuLoadMs = db ? db.cpuMs() : 0;
    const busy1 = machineBusyMs();
    const selfCpu = process.cpuUsage(self0);
    const windowMs = now() - w0;
    const loadS = (res.tEnd - res.tStart) / 1000;
    const serverCpuMs = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
    const row = {
      target,
      store: spec?.store ?? null,
      processes: server.pids.length,
      size,
      sizeLabel: SIZE_CLASSES[size].label,
      concurrency,
      warmupAccepted: warmupOk,
      ...res,
      loadSeconds: loadS,
      acceptedPerSec: res.ok / loadS,
      answersPerSec: (res.sent - res.netErrors) / loadS,
      serverCpuPctLoad: serverCpuMs !== null ? (serverCpuMs / windowMs) * 100 : null,
      clientCpuPctLoad: (res.clientCpuMs / (loadS * 1000)) * 100,
      // PostgreSQL: CPU of the backends serving this row's database (not the server's shared
      // background processes: WAL writer, checkpointer, autovacuum).
      dbCpuPctLoad: db ? (dbCpuLoadMs / windowMs) * 100 : null,
      // How long the main threads were ready to run but waited for a CPU (% of the load window,
      // summed over the processes), and how often they were scheduled in per accepted event: on a
      // saturated machine every hand-off between threads and processes costs a wait and a switch.
      mainThreadRunQueuePctLoad: sched0 && sched1 ? ((sched1.waitMs - sched0.waitMs) / windowMs) * 100 : null,
      mainThreadSwitchesPerEvent: sched0 && sched1 && res.ok > 0 ? (sched1.slices - sched0.slices) / res.ok : null,
      // CPU used by everything else on the machine during the load (other users, the OS), in % of one core.
      otherCpuPctLoad:
        busy0 !== null && busy1 !== null && serverCpuMs !== null
          ? Math.max(0, ((busy1 - busy0 - serverCpuMs - dbCpuLoadMs - res.clientCpuMs - (selfCpu.user + selfCpu.system) / 1000) / windowMs) * 100)
          : null,
    };

    // Efficiency, less sensitive to a busy machine than rates: accepted events per CPU-second the
    // server used (Botpulse: from the load start until everything was digested).
    if (!isBp && serverCpuMs) row.perServerCpuSec = res.ok / (serverCpuMs / 1000);
    if (isBp) {
      const hEnd = await health();
      const d = await waitDrained(health, h0.digested, res.ok, opts.drainTimeoutS * 1000);
      await db?.sample();
      const cpu2 = procsCpuMs(server.pids);
      const sched2 = mainThreadsSchedstat(server.pids);
      const digestedInLoad = hEnd.digested - h0.digested;
      const drainS = d.drained ? (d.t - res.tEnd) / 1000 : null;
      const drainPhaseS = d.drained ? (d.t - hEnd.t) / 1000 : null;
      const peakBacklog = Math.max(hEnd.backlog, ...timeline.map((x) => x[1]));
      const serverCpuToDrainMs = d.drained && cpu2 !== null && cpu0 !== null && cpu2 > cpu0 ? cpu2 - cpu0 : null;
      Object.assign(row, {
        drained: d.drained,
        backlogAtLoadEnd: hEnd.backlog,
        backlogLeft: d.drained ? 0 : d.backlog,
        peakBacklog,
        drainSeconds: drainS,
        fullyDigestedPerSec: d.drained ? res.ok / ((d.t - res.tStart) / 1000) : null,
        digestPerSecDuringLoad: digestedInLoad / ((hEnd.t - res.tStart) / 1000),
        // Digest alone (no ingest competing): only meaningful when there was a backlog to drain.
        digestPerSecDrainOnly: d.drained && hEnd.backlog >= 200 && drainPhaseS >= 0.2 ? (d.digested - hEnd.digested) / drainPhaseS : null,
        serverCpuPctDrain: d.drained && drainPhaseS > 0 && cpu2 !== null && cpu1 !== null ? ((cpu2 - cpu1) / (drainPhaseS * 1000)) * 100 : null,
        perServerCpuSec: serverCpuToDrainMs ? res.ok / (serverCpuToDrainMs / 1000) : null,
        // Server and database together (SQLite runs inside the server, so there it is the same figure).
        perCpuSecWithDb: serverCpuToDrainMs ? res.ok / ((serverCpuToDrainMs + (db ? db.cpuMs() : 0)) / 1000) : null,
        timeline,
      });
      if (db) Object.assign(row, { dbCpuMsToDrain: db.cpuMs(), ...db.connections() });
      // Where the CPU went, per accepted event (µs, load start to drained): the servers' main
      // threads (HTTP, the spool's appends), their other threads (digest, V8's garbage collection,
      // log lines), and PostgreSQL's backends. A steadier figure than a rate on a noisy machine.
      if (serverCpuToDrainMs && sched0 && sched2 && res.ok > 0) {
        const perEvent = (ms) => (ms * 1000) / res.ok;
        const mainMs = sched2.cpuMs - sched0.cpuMs;
        Object.assign(row, {
          mainThreadUsPerEvent: perEvent(mainMs),
          otherThreadsUsPerEvent: perEvent(serverCpuToDrainMs - mainMs),
          dbUsPerEvent: db ? perEvent(db.cpuMs()) : null,
        });
      }
    }
    Object.assign(row, rss.stop());
    row.peakRssMb = row.peakKb / 1024;
    if (isBp) {
      if (isPg) {
        await server.stopServers();
        Object.assign(row, await inspectPostgres(server.monitor), { database: server.database });
      } else {
        await server.stop();
        Object.assign(row, inspectDb(server.dataDir));
      }
      const problems = server.logProblems();
      row.serverLogWarnings = problems.length;
      if (problems.length) row.serverLogSample = problems.slice(0, 5);
      row.expectedEvents = warmupOk + res.ok;
      // Whole row (start, warm-up, load, drain): how many commits, so how many WAL flushes, per event.
      if (row.dbCommits !== undefined) row.dbCommitsPerEvent = row.dbCommits / row.expectedEvents;
      row.serverBuild = build;
    }
    return row;
  } finally {
    rss.stop();
    await server.stop();
    for (const s of server.servers) {
      if (s.dataDir && !opts.keepData) {
        rmSync(s.dataDir, { recursive: true, force: true });
        dataDirs.delete(s.dataDir);
      }
    }
  }
}

/**
 * Connections to one row's database and the CPU of their backends (PostgreSQL runs one process per
 * connection; /proc/<pid>/stat gives its CPU time). `start()` takes the baseline after the warm-up;
 * each `sample()` lists the connections again, so peaks are seen at the polling rate (250 ms during
 * the load, 50 ms while draining). A backend that appears after the baseline counts from 0 (it was
 * born during the measurement); one that exits between samples loses at most its last interval.
 */
function dbActivityTracker(monitor) {
  const baseMs = new Map();
  const lastMs = new Map();
  let started = false;
  let peakTotal = 0;
  const peakByApp = {};
  const observe = (rows, baseline) => {
    const byApp = {};
    for (const { pid, app } of rows) {
      byApp[app || '(none)'] = (byApp[app || '(none)'] ?? 0) + 1;
      const ms = procCpuMs(pid);
      if (ms === null) continue;
      if (!baseMs.has(pid)) baseMs.set(pid, baseline ? ms : 0);
      lastMs.set(pid, ms);
    }
    peakTotal = Math.max(peakTotal, rows.length);
    for (const [app, n] of Object.entries(byApp)) peakByApp[app] = Math.max(peakByApp[app] ?? 0, n);
  };
  return {
    async start() {
      observe(await monitor.activity(), true);
      started = true;
    },
    async sample() {
      if (started) observe(await monitor.activity(), false);
    },
    cpuMs: () => [...lastMs].reduce((n, [pid, ms]) => n + ms - baseMs.get(pid), 0),
    connections: () => ({ dbConnectionsPeak: peakTotal, dbConnectionsPeakByApp: peakByApp, dbBackendsSeen: lastMs.size }),
  };
}

/** After the processes stopped: issues and events in the row's PostgreSQL database, its size. */
async function inspectPostgres(monitor) {
  try {
    const c = await monitor.contents();
    return { issues: c.issues, eventsStored: c.events, dbBytes: c.bytes, dbCommits: c.commits };
  } catch (err) {
    return { dbError: err.message };
  }
}

/** Polls /health every 50 ms until the spool is empty and every accepted event was digested. */
async function waitDrained(health, digestedBase, expected, timeoutMs) {
  const deadline = now() + timeoutMs;
  let h;
  for (;;) {
    h = await health();
    if (h.backlog === 0 && h.digested - digestedBase >= expected) return { drained: true, ...h };
    if (now() > deadline) return { drained: false, ...h };
    await sleep(50);
  }
}

/** After the server stopped: issues and events on disk, database size. Best effort. */
function inspectDb(dataDir) {
  const out = {};
  try {
    const dbFile = join(dataDir, 'botpulse.db');
    out.dbBytes = ['', '-wal'].reduce((n, s) => n + (existsSync(dbFile + s) ? statSync(dbFile + s).size : 0), 0);
    const Database = createRequire(join(REPO, 'package.json'))('better-sqlite3');
    const db = new Database(dbFile, { readonly: true, fileMustExist: true });
    try {
      out.issues = db.prepare('SELECT count(*) AS n FROM issues').get().n;
      out.eventsStored = db.prepare('SELECT count(*) AS n FROM events').get().n;
    } finally {
      db.close();
    }
  } catch (err) {
    out.dbError = err.message;
  }
  return out;
}

// ---- output --------------------------------------------------------------------------------------

const f0 = (v) => (v === null || v === undefined || Number.isNaN(v) ? '-' : Math.round(v).toLocaleString('en-US'));
const f1 = (v) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(1));
const f2 = (v) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));

const COLUMNS = [
  ['target', (r) => r.target, 'l'],
  ['size', (r) => r.sizeLabel, 'l'],
  ['conc', (r) => String(r.concurrency)],
  ['sent', (r) => f0(r.sent)],
  ['200', (r) => f0(r.ok)],
  ['429', (r) => f0(r.rejected429)],
  ['err', (r) => f0(r.otherStatus + r.netErrors + r.badAnswers)],
  ['accepted/s', (r) => f0(r.acceptedPerSec)],
  ['procs', (r) => (r.store === 'postgres' ? String(r.processes) : '')],
  ['%bare', (r) => (r.pctOfBare === undefined ? '' : f0(r.pctOfBare) + '%')],
  ['p50 ms', (r) => f2(r.latencyMs.p50)],
  ['p99 ms', (r) => f2(r.latencyMs.p99)],
  ['digested/s', (r) => (r.target === 'bare' ? '' : f0(r.fullyDigestedPerSec))],
  ['%sqlite', (r) => (r.pctOfSqlite === undefined ? '' : f0(r.pctOfSqlite) + '%')],
  ['dig/s load', (r) => (r.target === 'bare' ? '' : f0(r.digestPerSecDuringLoad))],
  ['dig/s drain', (r) => (r.target === 'bare' ? '' : f0(r.digestPerSecDrainOnly))],
  ['peak backlog', (r) => (r.target === 'bare' ? '' : f0(r.peakBacklog))],
  ['drain s', (r) => (r.target === 'bare' ? '' : r.drained ? f1(r.drainSeconds) : `NO (${f0(r.backlogLeft)} left)`)],
  ['RSS MB', (r) => f0(r.peakRssMb)],
  ['srv cpu%', (r) => f0(r.serverCpuPctLoad)],
  ['ev/cpu-s', (r) => f0(r.perServerCpuSec)],
  ['db cpu%', (r) => (r.store === 'postgres' ? f0(r.dbCpuPctLoad) : '')],
  ['ev/cpu-s+db', (r) => (r.target === 'bare' ? '' : f0(r.perCpuSecWithDb))],
  ['db conns', (r) => (r.store === 'postgres' ? f0(r.dbConnectionsPeak) : '')],
  ['µs/ev main', (r) => (r.target === 'bare' ? '' : f0(r.mainThreadUsPerEvent))],
  ['µs/ev threads', (r) => (r.target === 'bare' ? '' : f0(r.otherThreadsUsPerEvent))],
  ['µs/ev db', (r) => (r.store === 'postgres' ? f0(r.dbUsPerEvent) : '')],
  ['main wait%', (r) => (r.target === 'bare' ? '' : f0(r.mainThreadRunQueuePctLoad))],
  ['cli cpu%', (r) => f0(r.clientCpuPctLoad)],
  ['other cpu%', (r) => f0(r.otherCpuPctLoad)],
  ['issues', (r) => (r.target === 'bare' ? '' : f0(r.issues))],
];

// Columns that only say something when a PostgreSQL row is in the run (left out otherwise, so a
// SQLite-only table reads as before).
const POSTGRES_COLUMNS = new Set(['procs', '%sqlite', 'db cpu%', 'ev/cpu-s+db', 'db conns', 'µs/ev db']);

function table(rows) {
  const columns = rows.some((r) => r.store === 'postgres') ? COLUMNS : COLUMNS.filter(([h]) => !POSTGRES_COLUMNS.has(h));
  const cells = [columns.map(([h]) => h), ...rows.map((r) => columns.map(([, f]) => f(r)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  const line = (c) => c.map((v, i) => (columns[i][2] === 'l' ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function summarize(rows) {
  const bp = rows.filter((r) => r.target === 'botpulse');
  const lines = [];
  const checks = [];
  const best = (size) => bp.filter((r) => r.size === size && r.fullyDigestedPerSec !== null).sort((a, b) => b.fullyDigestedPerSec - a.fullyDigestedPerSec)[0];
  for (const [size, target] of [['5k', 5000], ['50k', 1000]]) {
    if (!bp.some((r) => r.size === size)) continue;
    const b = best(size);
    const pass = Boolean(b) && b.fullyDigestedPerSec >= target;
    checks.push({ check: `${SIZE_CLASSES[size].label} fully digested ≥ ${target}/s (best level)`, pass, value: b ? Math.round(b.fullyDigestedPerSec) : null, at: b?.concurrency ?? null });
  }
  for (const size of opts.sizes) {
    const withRatio = bp.filter((r) => r.size === size && r.pctOfBare !== undefined);
    if (!withRatio.length) continue;
    const worst = withRatio.reduce((a, r) => (r.pctOfBare < a.pctOfBare ? r : a));
    const atBest = withRatio.reduce((a, r) => (r.acceptedPerSec > a.acceptedPerSec ? r : a));
    checks.push({ check: `${SIZE_CLASSES[size].label} accept rate ≥ 50% of bare (every level)`, pass: worst.pctOfBare >= 50, value: `worst ${Math.round(worst.pctOfBare)}% at c=${worst.concurrency}; at Botpulse's best level (c=${atBest.concurrency}) ${Math.round(atBest.pctOfBare)}%` });
  }
  checks.push(...postgresChecks(rows));
  // The checks below hold for every Botpulse row, whatever its store.
  const all = rows.filter((r) => r.store);
  const name = (r) => `${r.target === 'botpulse' ? '' : r.target + ' '}${r.sizeLabel} c=${r.concurrency}`;
  if (all.length) {
    const undrained = all.filter((r) => !r.drained);
    checks.push({ check: 'backlog drains after every level', pass: undrained.length === 0, value: undrained.length ? `not drained: ${undrained.map(name).join(', ')}` : `slowest drain ${f1(Math.max(...all.map((r) => r.drainSeconds)))} s after the load stopped` });
    // Per process: a row with two processes holds two heaps by design.
    const perProcess = (r) => Math.max(...r.peakKbPerProcess) / 1024;
    const maxRss = all.reduce((a, r) => (perProcess(r) > perProcess(a) ? r : a));
    checks.push({ check: 'peak RSS < 250 MB (per process)', pass: perProcess(maxRss) < 250, value: `${f1(perProcess(maxRss))} MB (${name(maxRss)})` });
    const lost = all.filter((r) => r.eventsStored !== undefined && r.eventsStored !== r.expectedEvents);
    checks.push({ check: 'every accepted event stored (events table = 200 answers incl. warm-up)', pass: lost.length === 0 && all.every((r) => r.eventsStored !== undefined), value: lost.length ? lost.map((r) => `${name(r)}: ${r.eventsStored}/${r.expectedEvents}`).join(', ') : 'yes' });
  }
  for (const c of checks) lines.push(`${c.pass ? 'PASS' : 'FAIL'}  ${c.check}: ${c.value}${c.at ? ` (c=${c.at})` : ''}`);
  const logged = all.filter((r) => r.serverLogWarnings > 0);
  if (logged.length) {
    const samples = [...new Set(logged.flatMap((r) => r.serverLogSample ?? []))].slice(0, 3);
    lines.push(
      `NOTE  the server logged warnings/errors in ${logged.length} of ${all.length} rows (${logged.map((r) => `${name(r)}: ${r.serverLogWarnings}`).join(', ')}), e.g. ` +
        samples.map((x) => JSON.stringify(x)).join('; '),
    );
  }
  const noisy = rows.filter((r) => r.otherCpuPctLoad !== null && r.otherCpuPctLoad > NOISY_OTHER_CPU_PCT);
  if (noisy.length) {
    lines.push(
      `NOTE  ${noisy.length} of ${rows.length} rows ran while other processes used > ${NOISY_OTHER_CPU_PCT}% of a core ("other cpu%"): ` +
        `${noisy.map((r) => `${r.target} ${r.sizeLabel} c=${r.concurrency}`).join(', ')}. Those figures are low by an unknown amount; rerun on an idle machine.`,
    );
  }
  return { checks, text: lines.join('\n') };
}

/**
 * Issue 12's goals for PostgreSQL, level by level (same size and concurrency, same run): one process
 * fully digests at least 70% of SQLite's rate, and a second process adds throughput. The second is
 * judged with the CPU figures beside it: on a machine without idle CPU it cannot hold.
 */
function postgresChecks(rows) {
  const checks = [];
  const at = (target, size, c) => rows.find((r) => r.target === target && r.size === size && r.concurrency === c && r.fullyDigestedPerSec);
  const pairs = (a, b) =>
    opts.sizes.flatMap((size) => opts.levels.map((c) => [at(a, size, c), at(b, size, c)]).filter(([x, y]) => x && y));
  const pct = (x, y) => Math.round((y.fullyDigestedPerSec / x.fullyDigestedPerSec) * 100);
  const describe = (ps) => ps.map(([x, y]) => `${y.sizeLabel} c=${y.concurrency} ${pct(x, y)}% (${f0(y.fullyDigestedPerSec)} vs ${f0(x.fullyDigestedPerSec)}/s)`).join('; ');
  const vsSqlite = pairs('botpulse', 'botpulse-pg');
  if (vsSqlite.length) {
    checks.push({ check: 'PostgreSQL, 1 process, fully digested ≥ 70% of SQLite (every level)', pass: vsSqlite.every(([x, y]) => pct(x, y) >= 70), value: describe(vsSqlite) });
  }
  const twoVsOne = pairs('botpulse-pg', 'botpulse-pg2');
  if (twoVsOne.length) {
    checks.push({ check: 'PostgreSQL, 2 processes fully digest more than 1 (every level)', pass: twoVsOne.every(([x, y]) => pct(x, y) > 100), value: describe(twoVsOne) });
  }
  return checks;
}

/**
 * The newest modification time among the built server files. Others may rebuild the server while
 * a run is under way; comparing this before and after tells whether all rows ran the same code.
 */
function serverBuildStamp() {
  let newest = 0;
  let files = 0;
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.js')) {
        files += 1;
        newest = Math.max(newest, statSync(path).mtimeMs);
      }
    }
  };
  walk(join(REPO, 'packages/server/dist'));
  walk(join(REPO, 'packages/protocol/dist'));
  return { newestJs: newest ? new Date(newest).toISOString() : null, jsFiles: files };
}

function machineInfo() {
  const cpus = os.cpus();
  const git = (args) => {
    try {
      return execFileSync('git', args, { cwd: REPO, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      return null;
    }
  };
  let fsType = null;
  try {
    const target = resolve(opts.tmpDir);
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')).filter((p) => p.length > 2);
    const m = mounts.filter(([, mp]) => target === mp || target.startsWith(mp.endsWith('/') ? mp : mp + '/')).sort((a, b) => b[1].length - a[1].length)[0];
    fsType = m ? `${m[2]} (${m[0]} on ${m[1]})` : null;
  } catch {}
  let serverVersion = null;
  try {
    serverVersion = JSON.parse(readFileSync(join(REPO, 'packages/server/package.json'), 'utf8')).version;
  } catch {}
  return {
    date: new Date().toISOString(),
    cpuModel: cpus[0]?.model ?? null,
    cores: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? null,
    memTotalMb: Math.round(os.totalmem() / 1048576),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAvgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    dataDirFilesystem: fsType,
    gitCommit: git(['rev-parse', '--short', 'HEAD']),
    serverTreeDirty: git(['status', '--porcelain', '--', 'packages/server', 'packages/protocol']) ? true : false,
    botpulseVersion: serverVersion,
    serverBuildAtStart: serverBuildStamp(),
  };
}

// ---- main ------------------------------------------------------------------------------------------

async function main() {
  const machine = machineInfo();
  const t0 = now();
  console.log(`Botpulse ingest benchmark — ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load avg ${machine.loadAvgAtStart.join(' ')}`);
  console.log(`server: commit ${machine.gitCommit}${machine.serverTreeDirty ? ' + uncommitted changes' : ''}, dist built ${machine.serverBuildAtStart.newestJs}`);
  console.log(
    `sizes ${opts.sizes.join(',')}; levels ${opts.levels.join(',')}; ${opts.durationS} s per level after ${opts.warmupS} s warm-up; ` +
      `${opts.clients} load process(es); fresh server per row; BOTPULSE_BACKLOG_LIMIT=${opts.backlogLimit}` +
      (Object.keys(opts.serverEnv).length ? `; server env ${JSON.stringify(opts.serverEnv)}` : '') +
      (opts.serverNodeArgs.length ? `; server node flags ${opts.serverNodeArgs.join(' ')}` : ''),
  );
  if (usesPostgres) {
    // Also checks the server is there before any row starts.
    machine.postgres = await pgBench.serverInfo(opts.databaseUrl);
    const orphans = await pgBench.dropOrphans(opts.databaseUrl);
    console.log(
      `PostgreSQL ${machine.postgres.version} at ${pgBench.redactUrl(opts.databaseUrl)} (a fresh database per row; ` +
        `max_connections ${machine.postgres.settings.max_connections}, synchronous_commit ${machine.postgres.settings.synchronous_commit})` +
        (orphans.length ? `; dropped ${orphans.length} database(s) left by killed runs` : ''),
    );
  }
  if (machine.loadAvgAtStart[0] > 0.5) console.log(`note: the machine is not idle (1-min load ${machine.loadAvgAtStart[0]}); figures will be noisy`);

  const clients = Array.from({ length: opts.clients }, () => track(fork(join(HERE, 'lib/loadgen.mjs'), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
  const rows = [];
  const pools = {};
  for (const size of opts.sizes) {
    const prepared = await Promise.all(clients.map((c, i) => ask(c, { cmd: 'prepare', size, poolSize: poolSize(size), seed: i + 1 })));
    pools[size] = prepared.map((p) => p.stats);
    const st = prepared[0].stats;
    console.log(
      `\n${st.label}: ${st.count} distinct envelopes per load process (${st.callSites} call sites, ${st.frames[0]}–${st.frames[1]} frames, ` +
        `${st.breadcrumbs[0]}–${st.breadcrumbs[1]} breadcrumbs, ${st.minBytes}–${st.maxBytes} B, mean ${st.meanBytes} B), generated in ${st.genMs} ms`,
    );
    for (const c of opts.levels) {
      let bareRow = null;
      let sqliteRow = null;
      for (const target of opts.targets) {
        process.stdout.write(`  ${target.padEnd(12)} c=${String(c).padEnd(3)} … `);
        const row = await runRow(target, size, c, clients, rows.length);
        if (target === 'bare') bareRow = row;
        else if (bareRow) row.pctOfBare = (row.acceptedPerSec / bareRow.acceptedPerSec) * 100;
        if (target === 'botpulse') sqliteRow = row;
        else if (row.store === 'postgres' && sqliteRow?.fullyDigestedPerSec && row.fullyDigestedPerSec) {
          row.pctOfSqlite = (row.fullyDigestedPerSec / sqliteRow.fullyDigestedPerSec) * 100;
        }
        rows.push(row);
        console.log(
          `${f0(row.acceptedPerSec)} accepted/s, p50 ${f2(row.latencyMs.p50)} ms, p99 ${f2(row.latencyMs.p99)} ms` +
            (row.store ? `, ${row.drained ? `fully digested ${f0(row.fullyDigestedPerSec)}/s, drained ${f1(row.drainSeconds)} s after the load` : 'backlog NOT drained'}, RSS ${f0(row.peakRssMb)} MB` : '') +
            (row.store === 'postgres' ? `, ${row.dbConnectionsPeak} db connections` : ''),
        );
      }
    }
  }
  for (const c of clients) c.kill();

  const summary = summarize(rows);
  machine.serverBuildAtEnd = serverBuildStamp();
  machine.gitCommitAtEnd = machineInfo().gitCommit;
  const rebuilt = JSON.stringify(machine.serverBuildAtEnd) !== JSON.stringify(machine.serverBuildAtStart);
  const builds = [...new Set(rows.filter((r) => r.serverBuild).map((r) => r.serverBuild))];
  if (builds.length > 1) {
    const byBuild = builds.map((b) => `${b}: ${rows.filter((r) => r.serverBuild === b).map((r) => `${r.sizeLabel} c=${r.concurrency}`).join(', ')}`);
    summary.text += `\nWARN  Botpulse rows ran ${builds.length} different server builds (someone rebuilt dist during the run; commit ${machine.gitCommit} → ${machine.gitCommitAtEnd}): ${byBuild.join(' | ')}. Rerun to compare rows.`;
  } else if (rebuilt) {
    summary.text +=
      `\nnote  the server build changed during the run (newest .js in dist ${machine.serverBuildAtStart.newestJs} → ${machine.serverBuildAtEnd.newestJs}; ` +
      `commit ${machine.gitCommit} → ${machine.gitCommitAtEnd}), but every Botpulse row started on the same build.`;
  } else if (machine.gitCommitAtEnd !== machine.gitCommit) {
    summary.text += `\nnote  commits landed during the run (${machine.gitCommit} → ${machine.gitCommitAtEnd}) but the server build (dist) did not change.`;
  }
  const elapsedS = (now() - t0) / 1000;
  machine.loadAvgAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
  console.log('\n' + table(rows));
  console.log('\n' + summary.text);
  console.log(`\n(${elapsedS.toFixed(0)} s; load avg at end ${machine.loadAvgAtEnd.join(' ')}; JSON: ${opts.out})`);

  mkdirSync(dirname(opts.out), { recursive: true });
  const { out: _out, ...optsForJson } = opts;
  optsForJson.databaseUrl = pgBench.redactUrl(opts.databaseUrl);
  writeFileSync(
    opts.out,
    JSON.stringify(
      {
        machine,
        options: { ...optsForJson, warmupConcurrency: WARMUP_CONCURRENCY, restartPolicy: 'fresh server (and data dir) per row' },
        pools,
        elapsedSeconds: Number(elapsedS.toFixed(1)),
        rows: rows.map(({ latOk, latAll, ...r }) => r),
        checks: summary.checks,
        summary: summary.text.split('\n'),
        table: table(rows),
      },
      null,
      2,
    ) + '\n',
  );
}

await main();
process.exit(0);
