#!/usr/bin/env node
// End to end under load (issue 13's benchmark): how long from a forbidden line written to a log
// file to the alert's `sendMessage` at the fake Telegram, while the server takes NDJSON batches
// as fast as a client can post them and `botpulse tail` ships a steadily written file.
//
// Parts, all real: a `botpulse serve` child process (SQLite), a `botpulse tail` child process
// following a file, a load child process posting NDJSON batches (`--batch` lines, `--concurrency`
// at a time) to another project, and the fake Telegram in this process (each project its own chat,
// so Telegram's 1 message/s per chat pacing of the load's alerts never queues the probes'). This
// process appends background lines to the file (`--tail-rate` lines/s, seed 002's text format)
// and, every `--interval` ms, a probe: an ERROR line matching one of `--probes` forbidden user
// patterns, each its own issue, so each must page at once. Rules everywhere: seed 002's 10
// defaults + 50 user patterns (30 the load can hit, 20 the probes).
//
// Prints the probes' write→sendMessage p50/p95/max, the load's lines/s, the tail's lines, the
// server's peak RSS and the load average; writes results/e2e-<store>-<time>.json.
//
//   npx tsc -b && node benchmarks/logs/e2e.mjs [--probes 20] [--interval 1500] [--tail-rate 1000] [--load-rate 0] [--dist packages/server/dist]
// (`--load-rate N`: the HTTP load posts at most N lines/s; 0, the default, as fast as the server answers.)
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, seedAlertProjects, startServe } from '../lib/local-server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (process.argv.includes('--load')) await loadChild();
else await main();

/** The load: NDJSON batches posted `concurrency` at a time until SIGTERM; prints what was accepted. */
async function loadChild() {
  const url = arg('url');
  const batch = Number(arg('batch', 1000));
  const concurrency = Number(arg('concurrency', 4));
  /** Lines per second to post at most (0: as fast as the server answers). */
  const rate = Number(arg('load-rate', 0));
  let i = 0;
  let accepted = 0;
  // Stopped by SIGTERM: says what was accepted at once (a paced worker may be asleep).
  process.once('SIGTERM', () => {
    process.stdout.write(JSON.stringify({ accepted, seconds: (performance.now() - t0) / 1000 }) + '\n', () => process.exit(0));
  });
  const line = (n) => {
    const kind = n % 1000;
    const msg = kind === 1 ? `provider ${n % 30} timeout after ${n % 900} ms` : kind < 20 ? `Payment provider answered 502 for user ${n % 5000}` : `User balance checked for ${n % 5000} in ${n % 90} ms`;
    return JSON.stringify({ level: kind < 20 ? 50 : 30, time: Date.now(), msg, user_id: n % 5000, update_id: 100000 + n, operation: 'check_balance', duration_ms: n % 90, 'botpulse.line_id': `l-${n}` });
  };
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        if (rate > 0) {
          const ahead = i / rate - (performance.now() - t0) / 1000;
          if (ahead > 0) await sleep(ahead * 1000);
        }
        const body = Array.from({ length: batch }, () => line(i++)).join('\n');
        const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
        const j = await r.json();
        if (r.status !== 200) throw new Error(`answered ${r.status}: ${JSON.stringify(j)}`);
        accepted += j.accepted;
      }
    }),
  );
}

async function main() {
  const DIST = join(REPO, arg('dist', 'packages/server/dist'));
  const PROBES = Number(arg('probes', 20));
  const INTERVAL = Number(arg('interval', 1500));
  const TAIL_RATE = Number(arg('tail-rate', 1000));
  const BATCH = Number(arg('batch', 1000));
  const CONCURRENCY = Number(arg('concurrency', 4));
  const LOAD_RATE = Number(arg('load-rate', 0));
  const { FakeTelegram } = await import(pathToFileURL(join(REPO, 'packages/fake-telegram/dist/index.js')).href);
  const { SqliteStore } = await import(pathToFileURL(join(DIST, 'store/sqlite/index.js')).href);

  const tg = await FakeTelegram.start({ maxCallLog: 100_000 });
  const { token } = tg.createBot({ username: 'botpulse_bench_bot' });
  const dir = mkdtempSync(join(os.tmpdir(), 'botpulse-bench-logs-e2e-'));
  const [loadProject, probeProject] = await seedAlertProjects({
    dist: DIST,
    tg,
    dataDir: dir,
    firstChatId: -1003000000000,
    projects: [
      { name: 'Bench load', slug: 'bench-load', shortIdPrefix: 'L' },
      { name: 'Bench probe', slug: 'bench-probe', shortIdPrefix: 'P' },
    ],
  });
  const projects = { load: loadProject, probe: probeProject };

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const probePattern = (k) => `E2E probe p${k}x fired`;
  const forbidden = ['Decimal.*is not JSON serializable', 'OID.*out of range', 'Error handling request', 'Lock acquisition failed', 'Queue full', 'Database connection lost', 'Webhook timeout'];
  const user = [...Array.from({ length: 30 }, (_, i) => `provider ${i} (timeout|refused) after \\d+ ms`), ...Array.from({ length: 20 }, (_, k) => probePattern(k))];
  const PROF = arg('cpu-prof', null);
  const server = await startServe({
    dist: DIST,
    dataDir: dir,
    port,
    nodeArgs: PROF ? ['--cpu-prof', '--cpu-prof-dir', PROF] : [],
    env: {
      BOTPULSE_TELEGRAM_TOKEN: token,
      BOTPULSE_TELEGRAM_API_ROOT: tg.apiRoot,
      BOTPULSE_TELEGRAM_UPDATES: 'off',
      BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0',
      BOTPULSE_LOG_MAX_BODY_BYTES: String(16 * 1024 * 1024),
      BOTPULSE_LOG_MAX_DECOMPRESSED_BYTES: String(64 * 1024 * 1024),
      BOTPULSE_LOG_RULES: JSON.stringify({ '*': { forbidden: [...forbidden, ...user] } }),
    },
  });

  const children = [server];
  const killAll = () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL'));
  process.once('exit', killAll);
  process.once('uncaughtException', (err) => (console.error(err), killAll(), process.exit(1)));
  process.once('unhandledRejection', (err) => (console.error(err), killAll(), process.exit(1)));
  const file = join(dir, 'bot.log');
  writeFileSync(file, '');
  const dsn = (p) => `http://${p.publicKey}@127.0.0.1:${port}/${p.id}`;
  const tail = spawn(process.execPath, [join(DIST, 'cli/main.js'), 'tail', file, '--state', join(dir, 'tail-state.json'), '--dsn', dsn(projects.probe)], { stdio: ['ignore', 'ignore', 'inherit'] });

  // The background lines of the file, written every 20 ms.
  let written = 0;
  const stamp = () => new Date().toISOString().replace('T', ' ').replace('Z', '').replace('.', ',');
  const writer = setInterval(() => {
    const n = Math.round(TAIL_RATE / 50);
    let text = '';
    for (let j = 0; j < n; j++, written++) text += `${stamp()} - bot.handlers - INFO - Webhook processed update_id=${100000 + written} in ${written % 900}ms\n`;
    appendFileSync(file, text);
  }, 20);

  const load = spawn(process.execPath, [fileURLToPath(import.meta.url), '--load', '--url', `${base}/api/${projects.load.id}/logs/?sentry_key=${projects.load.publicKey}`, '--batch', String(BATCH), '--concurrency', String(CONCURRENCY), '--load-rate', String(LOAD_RATE)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(tail, load);
  let loadOut = '';
  load.stdout.on('data', (d) => (loadOut += d));
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssOf(server.pid))), 200);
  const loadStart = os.loadavg()[0];

  await sleep(3000); // the load and the tail running before the first probe
  const probes = [];
  for (let k = 0; k < PROBES; k++) {
    const writtenAt = Date.now();
    appendFileSync(file, `${stamp()} - bot.payments - ERROR - ${probePattern(k)} for user ${k}\n`);
    probes.push({ k, writtenAt });
    await sleep(INTERVAL);
  }
  const sentAt = (k) => tg.calls({ token, method: 'sendMessage', ok: true }).find((c) => String(c.params.text).includes(probePattern(k)))?.at;
  await until(() => probes.every((p) => sentAt(p.k) !== undefined), 60_000, 'every probe\'s alert').catch((err) => console.error(String(err)));
  const loadEnd = os.loadavg()[0];
  // Where the time went: each probe line's receive time at the server (file → tail → stored).
  const reader = await SqliteStore.open(join(dir, 'botpulse.db'), { migrate: false });
  const find = reader.db.prepare('SELECT received_at, rule FROM log_lines WHERE project_id = ? AND message LIKE ?');
  for (const p of probes) {
    const stored = find.get(projects.probe.id, `%${probePattern(p.k)}%`);
    p.storedMs = stored ? Number(stored.received_at) - p.writtenAt : null;
    p.rule = stored?.rule ?? null;
  }
  await reader.close();
  load.kill('SIGTERM');
  await new Promise((r) => load.once('exit', r));
  clearInterval(writer);
  clearInterval(rssTimer);
  tail.kill('SIGTERM');
  await new Promise((r) => tail.once('exit', r));
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await tg.stop?.();
  rmSync(dir, { recursive: true, force: true });

  const stages = probes.map((p) => ({ k: p.k, storedMs: p.storedMs, alertedMs: (sentAt(p.k) ?? NaN) - p.writtenAt, rule: p.rule }));
  if (process.argv.includes('--verbose')) console.table(stages);
  const storedSorted = stages.map((s) => s.storedMs).filter(Number.isFinite).sort((a, b) => a - b);
  const latencies = probes.map((p) => (sentAt(p.k) ?? NaN) - p.writtenAt).filter(Number.isFinite).sort((a, b) => a - b);
  const pct = (q) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)];
  const loadResult = JSON.parse(loadOut.trim() || '{"accepted":0,"seconds":1}');
  const result = {
    at: new Date().toISOString(),
    dist: arg('dist', 'packages/server/dist'),
    store: 'sqlite',
    probes: PROBES,
    alerted: latencies.length,
    p50Ms: pct(0.5),
    p95Ms: pct(0.95),
    storedP95Ms: storedSorted[Math.min(storedSorted.length - 1, Math.ceil(0.95 * storedSorted.length) - 1)],
    stages,
    maxMs: latencies[latencies.length - 1],
    loadLinesPerSecond: Math.round(loadResult.accepted / loadResult.seconds),
    tailLinesWritten: written,
    tailRate: TAIL_RATE,
    loadRateCap: LOAD_RATE || null,
    peakRssMiB: Math.round(peakRss / 1048576),
    loadAverage: [loadStart, loadEnd].map((l) => Number(l.toFixed(1))),
    cores: os.cpus().length,
  };
  console.log('| build | probes alerted | write→stored p95 | write→sendMessage p50 | p95 | max | HTTP load lines/s (cap) | tail lines/s | server peak RSS | load avg (start→end) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  console.log(`| ${result.dist} | ${result.alerted}/${PROBES} | ${result.storedP95Ms} ms | ${result.p50Ms} ms | ${result.p95Ms} ms | ${result.maxMs} ms | ${result.loadLinesPerSecond} (${LOAD_RATE || 'none'}) | ${TAIL_RATE} | ${result.peakRssMiB} MiB | ${result.loadAverage.join(' → ')} |`);
  mkdirSync(join(HERE, 'results'), { recursive: true });
  writeFileSync(join(HERE, 'results', `e2e-${result.store}-${Date.now()}.json`), JSON.stringify(result, null, 2) + '\n');
  process.exit(0);
}

async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {}
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function rssOf(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  } catch {
    return 0;
  }
}
