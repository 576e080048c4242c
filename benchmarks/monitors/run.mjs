#!/usr/bin/env node
// Monitors benchmark: N heartbeat monitors pinging every P seconds (plain ping URL, keep-alive, a
// separate load-generator process) on top of an error-ingest load (the ingest benchmark's 5 KB
// envelopes, another process), against a real `botpulse serve` built from packages/server/dist.
// Measures the sweeper's cost per tick (the server's debug line "monitor tick" and the
// botpulse_monitor_tick_duration_seconds histogram), ping answer times, and correctness: every
// monitor pinged on time stays up (no late, no down), then a known subset stops pinging and
// exactly those go down after period + grace. A third process probes the event loop (GET /health
// every 10 ms) and scrapes /metrics every 15 s, as a Prometheus would: the probe's worst answer is
// the longest time the server's event loop was held. See docs/monitors.md and docs/performance.md.
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../lib/local-server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const SERVER_MAIN = join(REPO, 'packages/server/dist/cli/main.js');
const GUARD = join(REPO, 'benchmarks/ingest/lib/guard.mjs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const HELP = `Usage: node run.mjs [options]
  --monitors <n>        heartbeat monitors                       default 10000
  --interval <s>        each monitor pings every                 default 20
  --period <s>          BOTPULSE_MONITOR_PERIOD_SECONDS          default 25 (interval + 5 s of slack)
  --grace <s>           BOTPULSE_MONITOR_GRACE_SECONDS           default 15
  --tick <s>            BOTPULSE_MONITOR_TICK_SECONDS            default 1
  --steady <s>          measured seconds with every monitor pinging (after one creation round) default 60
  --silence <n>         monitors that stop pinging afterwards    default 100
  --events <n>          error events per second alongside        default 300 (0: none)
  --scrape <s>          /metrics scrape every (0: none)           default 15
  --server <cli/main.js> the server to run (another build, e.g. main's, for an A/B)
                                                                 default packages/server/dist/cli/main.js
  --out <file>          JSON output                              default results/latest.json
  --quick               1,000 monitors, steady 25 s
  --keep-data`;
const { values: flags } = parseArgs({
  options: {
    monitors: { type: 'string' }, interval: { type: 'string' }, period: { type: 'string' }, grace: { type: 'string' }, tick: { type: 'string' },
    steady: { type: 'string' }, silence: { type: 'string' }, events: { type: 'string' }, scrape: { type: 'string' }, server: { type: 'string' }, out: { type: 'string' }, quick: { type: 'boolean' }, 'keep-data': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) (console.log(HELP), process.exit(0));
const num = (v, d) => (v === undefined ? d : Number(v));
const opts = {
  monitors: num(flags.monitors, flags.quick ? 1000 : 10_000),
  intervalS: num(flags.interval, 20),
  periodS: num(flags.period, 25),
  graceS: num(flags.grace, 15),
  tickS: num(flags.tick, 1),
  steadyS: num(flags.steady, flags.quick ? 25 : 60),
  silence: num(flags.silence, flags.quick ? 20 : 100),
  eventsPerSec: num(flags.events, 300),
  scrapeS: num(flags.scrape, 15),
  server: resolve(flags.server ?? SERVER_MAIN),
  out: resolve(HERE, flags.out ?? 'results/latest.json'),
  keepData: !!flags['keep-data'],
};
if (!existsSync(opts.server)) (console.error(`${opts.server} is missing: run "npx tsc -b" at the repository root`), process.exit(2));
const Database = createRequire(join(REPO, 'packages/server/package.json'))('better-sqlite3');

const children = new Set();
const track = (c) => (children.add(c), c.on('exit', () => children.delete(c)), c);
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function nextMessage(child, type, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no "${type}" message in ${timeoutMs} ms`)), timeoutMs);
    const on = (m) => {
      if (m?.type === 'error') (clearTimeout(t), child.off('message', on), reject(new Error(m.message)));
      if (m?.type === type) (clearTimeout(t), child.off('message', on), resolve(m));
    };
    child.on('message', on);
  });
}
function get(port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers }, (res) => { let b = ''; res.setEncoding('utf8'); res.on('data', (c) => (b += c)); res.on('end', () => resolve({ status: res.statusCode, body: b })); }).on('error', reject);
  });
}
const quantile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : null);
const r1 = (v) => (v === null || v === undefined ? null : Math.round(v * 10) / 10);
const r2 = (v) => (v === null || v === undefined ? null : Math.round(v * 100) / 100);

// ---- server -------------------------------------------------------------------------------------
const dataDir = mkdtempSync(join(os.tmpdir(), 'botpulse-bench-monitors-'));
const logFile = join(dataDir, 'server.log');
const port = await freePort();
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOTPULSE_')));
Object.assign(env, {
  BOTPULSE_HOST: '127.0.0.1', BOTPULSE_PORT: String(port), BOTPULSE_DATA_DIR: dataDir, BOTPULSE_LOG_LEVEL: 'debug', BOTPULSE_BACKLOG_LIMIT: '1000000',
  BOTPULSE_MONITOR_PERIOD_SECONDS: String(opts.periodS), BOTPULSE_MONITOR_GRACE_SECONDS: String(opts.graceS), BOTPULSE_MONITOR_TICK_SECONDS: String(opts.tickS),
  // Every monitor of the run is made by its first ping, all in one project: above the default limit of 100.
  BOTPULSE_CHECKIN_MONITOR_LIMIT: String(opts.monitors + 100),
});
const token = execFileSync(process.execPath, [opts.server, 'token', 'create', '--label', 'bench'], { env, encoding: 'utf8' }).trim().split('\n').at(-1);
const guard = track(fork(GUARD, [logFile, opts.keepData ? '-' : dataDir, process.execPath, opts.server, 'serve'], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
const { pid: serverPid } = await nextMessage(guard, 'spawned', 10_000);
const logText = () => { try { return readFileSync(logFile, 'utf8'); } catch { return ''; } };
let dsn = null;
for (const until = Date.now() + 30_000; !dsn; await sleep(100)) {
  if (Date.now() > until) throw new Error(`server did not start:\n${logText().slice(-3000)}`);
  try { if ((await get(port, '/health')).status === 200) dsn = /DSN: http:\/\/([0-9a-f]+)@[^/\s]+\/(\d+)/.exec(logText()); } catch {}
}
const [, publicKey, projectId] = dsn;
const db = new Database(join(dataDir, 'botpulse.db'), { readonly: true, fileMustExist: true });
const q = (sql, ...args) => db.prepare(sql).all(...args);
const cpuOf = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / os.constants.priority.PRIORITY_NORMAL || (Number(f[11]) + Number(f[12])); };
const clkTck = 100;
const serverCpuS = () => { const f = readFileSync(`/proc/${serverPid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / clkTck; };
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${serverPid}/status`, 'utf8'))[1]) / 1024;
void cpuOf;
/** All CPUs' jiffies from /proc/stat: busy (not idle or iowait) and total. */
const machineCpu = () => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
};
const pidCpuS = (pid) => { try { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / clkTck; } catch { return 0; } };
/** CPU seconds of this run's own processes other than the server: this one and the load generators. */
const oursCpuS = () => pidCpuS(process.pid) + [...children].reduce((a, c) => a + pidCpuS(c.pid), 0);

console.log(`botpulse serve pid ${serverPid} on :${port}; ${opts.monitors} monitors every ${opts.intervalS} s (period ${opts.periodS} s, grace ${opts.graceS} s, tick ${opts.tickS} s), ${opts.eventsPerSec} events/s; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

// ---- load ---------------------------------------------------------------------------------------
const errors = opts.eventsPerSec > 0 ? track(fork(join(HERE, 'lib/errorload.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })) : null;
const pinger = track(fork(join(HERE, 'lib/pinger.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
const prober = track(fork(join(HERE, 'lib/probe.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
prober.send({ cmd: 'start', port, everyMs: 10, scrapeMs: opts.scrapeS * 1000 });
await nextMessage(prober, 'started');
if (errors) {
  errors.send({ cmd: 'start', port, path: `/api/${projectId}/envelope/?sentry_key=${publicKey}`, rate: opts.eventsPerSec, poolSize: 1000 });
  await nextMessage(errors, 'started');
}
pinger.send({ cmd: 'start', port, projectId, key: publicKey, count: opts.monitors, intervalMs: opts.intervalS * 1000, sockets: 32 });
await nextMessage(pinger, 'started');

// Round 1 creates the monitors (first ping of each slug); the steady phase starts after it.
console.log(`creation round (${opts.intervalS} s)…`);
await sleep(opts.intervalS * 1000 + 1000);
const created = q('SELECT count(*) AS n FROM monitors')[0].n;
const tickLines = () => logText().split('\n').filter((l) => l.includes('"monitor tick"')).map((l) => JSON.parse(l));
pinger.send({ cmd: 'mark' });
await nextMessage(pinger, 'marked');
prober.send({ cmd: 'mark' });
await nextMessage(prober, 'marked');
const steadyFrom = Date.now();
const ticksBefore = tickLines().length;
const cpu0 = serverCpuS();
const machine0 = machineCpu();
const ours0 = oursCpuS();
let rssMax = rssMb();
console.log(`steady phase (${opts.steadyS} s), ${created} monitors…`);
for (let t = 0; t < opts.steadyS; t += 5) (await sleep(5000), (rssMax = Math.max(rssMax, rssMb())));
const cpuSteady = serverCpuS() - cpu0;
const steadySeconds = (Date.now() - steadyFrom) / 1000;
// The machine is shared: what other processes (not the server, not our load) used meanwhile.
const machine1 = machineCpu();
const machineBusy = (machine1.busy - machine0.busy) / (machine1.total - machine0.total);
const otherCpuPercent = Math.max(0, machineBusy * os.cpus().length * 100 - ((cpuSteady + oursCpuS() - ours0) / steadySeconds) * 100);
const loadAtSteadyEnd = os.loadavg().map(r2);
const steadyTicks = tickLines().slice(ticksBefore);

// Correctness while everyone pings: no monitor left up.
const statesSteady = Object.fromEntries(q('SELECT status, count(*) AS n FROM monitor_states GROUP BY status').map((r) => [r.status, r.n]));
const falseLate = q("SELECT count(*) AS n FROM monitor_flips WHERE to_status = 'late'")[0].n;
const falseDown = q("SELECT count(*) AS n FROM monitor_flips WHERE to_status = 'down'")[0].n;

// ---- silence a known subset ---------------------------------------------------------------------
const step = Math.floor(opts.monitors / opts.silence);
const silencedIdx = Array.from({ length: opts.silence }, (_, k) => k * step + (k % step));
pinger.send({ cmd: 'silence', indexes: silencedIdx });
const { lastPingAt } = await nextMessage(pinger, 'silenced');
const lastOfAll = Math.max(...Object.values(lastPingAt).map(Number));
const waitMs = lastOfAll + (opts.periodS + opts.graceS + 2 * opts.tickS + 3) * 1000 - Date.now();
console.log(`silenced ${opts.silence} monitors; waiting ${(waitMs / 1000).toFixed(0)} s (period + grace + 2 ticks + 3 s)…`);
await sleep(Math.max(0, waitMs));
const pingStats = await (pinger.send({ cmd: 'stop' }), nextMessage(pinger, 'stats'));
const errorStats = errors ? await (errors.send({ cmd: 'stop' }), nextMessage(errors, 'stats')) : null;
const probeStats = await (prober.send({ cmd: 'stop' }), nextMessage(prober, 'stats'));
const metrics = (await get(port, '/metrics')).body;

const downRows = q("SELECT m.slug, s.last_ping_at, f.at, (SELECT min(n.created_at) FROM monitor_notifications n WHERE n.monitor_id = m.id AND n.kind = 'down') AS alerted FROM monitors m JOIN monitor_states s ON s.monitor_id = m.id JOIN monitor_flips f ON f.monitor_id = m.id AND f.to_status = 'down'");
const wanted = new Set(silencedIdx.map((i) => `hb-${i}`));
const downSet = new Set(downRows.map((r) => r.slug));
const missed = [...wanted].filter((s) => !downSet.has(s));
const wrong = [...downSet].filter((s) => !wanted.has(s));
const downAlerts = q("SELECT count(*) AS n FROM monitor_notifications WHERE kind = 'down'")[0].n;
// How long after "last ping + period + grace" each silent monitor was judged down (the down alert's time).
const delays = downRows.filter((r) => wanted.has(r.slug) && r.alerted).map((r) => (r.alerted - (r.last_ping_at + (opts.periodS + opts.graceS) * 1000)) / 1000).sort((a, b) => a - b);
const early = delays.filter((d) => d < 0).length;
const statesEnd = Object.fromEntries(q('SELECT status, count(*) AS n FROM monitor_states GROUP BY status').map((r) => [r.status, r.n]));
const lateEnd = q("SELECT count(*) AS n FROM monitor_flips WHERE to_status = 'late'")[0].n;
db.close();

guard.send({ cmd: 'stop', graceMs: 10_000 });
await new Promise((r) => (guard.exitCode !== null ? r() : guard.once('exit', r)));
const problems = logText().split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter((e) => e && e.level >= 40).map((e) => String(e.msg)).slice(0, 10);
if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });

// ---- report -------------------------------------------------------------------------------------
const dist = (xs) => { const s = [...xs].sort((a, b) => a - b); return { p50: r2(quantile(s, 0.5)), p99: r2(quantile(s, 0.99)), max: r2(s.at(-1) ?? null), mean: r2(s.reduce((a, b) => a + b, 0) / (s.length || 1)) }; };
const tick = { count: steadyTicks.length, total: dist(steadyTicks.map((t) => t.tick.totalMs)), consume: dist(steadyTicks.map((t) => t.tick.consumeMs)), sweep: dist(steadyTicks.map((t) => t.tick.sweepMs)), rest: dist(steadyTicks.map((t) => t.tick.totalMs - t.tick.consumeMs - t.tick.sweepMs)), swept: steadyTicks.reduce((a, t) => a + t.tick.swept, 0) };
const histogram = Object.fromEntries([...metrics.matchAll(/^botpulse_monitor_tick_duration_seconds_(sum|count)\{phase="total"\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])]));
const ok = (cond) => (cond ? '✔' : '✘');
const scrapes = probeStats.scrapes;
const scrapeMs = dist(scrapes.map((x) => x.ms));
const scrapeRow = scrapes.length ? `${scrapes.length} every ${opts.scrapeS} s: answer p50 ${r1(scrapeMs.p50)} ms · max ${r1(scrapeMs.max)} ms · ${Math.max(...scrapes.map((x) => x.series ?? 0))} series · ${r1(Math.max(...scrapes.map((x) => x.bytes ?? 0)) / 1e6)} MB` : 'none';
const serverLoopDelay = Object.fromEntries([...metrics.matchAll(/^botpulse_event_loop_delay_(max|p99)_seconds (\S+)$/gm)].map((m) => [m[1], Number(m[2])]));
const upWhilePinging = (statesSteady.up ?? 0) === opts.monitors;
const rows = [
  ['monitors created', `${created} of ${opts.monitors} in one ${opts.intervalS} s round`, ok(created === opts.monitors)],
  ['ping rate (steady)', `${r1(pingStats.ratePerSec)} /s answered 200 (${pingStats.ok} of ${pingStats.sent}; ${JSON.stringify(pingStats.statuses)}, ${pingStats.errors} errors)`, ok(pingStats.bad === 0 && pingStats.errors === 0)],
  ['ping answer time', `p50 ${r1(pingStats.p50)} ms · p99 ${r1(pingStats.p99)} ms · max ${r1(pingStats.max)} ms`, ''],
  ['event-loop delay (probe)', `GET /health every 10 ms: ${probeStats.probe.count} answers, p50 ${r1(probeStats.probe.p50)} ms · p99 ${r1(probeStats.probe.p99)} ms · max ${r1(probeStats.probe.max)} ms`, ok(probeStats.probe.errors === 0)],
  ['  during / apart from scrapes', `probes overlapping a scrape: ${probeStats.probe.duringScrapes.count}, p99 ${r1(probeStats.probe.duringScrapes.p99)} ms · max ${r1(probeStats.probe.duringScrapes.max)} ms; the others: p99 ${r1(probeStats.probe.otherwise.p99)} ms · max ${r1(probeStats.probe.otherwise.max)} ms`, ''],
  ['/metrics scrapes', scrapeRow, ok(scrapes.length > 0 ? scrapes.every((x) => x.status === 200) : opts.scrapeS === 0)],
  ['error events alongside', errorStats ? `${r1(errorStats.ratePerSec)} /s accepted (${errorStats.ok} of ${errorStats.sent}; p50 ${r1(errorStats.p50)} ms · p99 ${r1(errorStats.p99)} ms)` : 'none', errorStats ? ok(errorStats.bad === 0 && errorStats.errors === 0) : ''],
  ['sweeper tick (steady)', `${tick.count} ticks: total p50 ${tick.total.p50} ms · p99 ${tick.total.p99} ms · max ${tick.total.max} ms`, ''],
  ['  consume / sweep / rest', `consume p50 ${tick.consume.p50} · p99 ${tick.consume.p99} ms; sweep p50 ${tick.sweep.p50} · p99 ${tick.sweep.p99} ms; thresholds + notify p50 ${tick.rest.p50} · p99 ${tick.rest.p99} ms`, ''],
  ['server CPU (steady)', `${r1((cpuSteady / steadySeconds) * 100)} % of a core · peak RSS ${Math.round(rssMax)} MB`, ''],
  // A starved load generator sends pings late (and then in bursts): the run measures the machine, not Botpulse.
  ['load generator on time', `pings sent at most ${r1(pingStats.maxLagMs)} ms late`, ok(pingStats.maxLagMs < 1000)],
  ['machine (steady)', `other processes ${Math.round(otherCpuPercent)} % CPU (of ${os.cpus().length * 100} %) · load ${loadAtSteadyEnd.join(' ')}`, ''],
  ['pinged on time stay up', `${statesSteady.up ?? 0}/${opts.monitors} up · ${falseLate} late flips · ${falseDown} down flips`, ok(upWhilePinging && falseLate === 0 && falseDown === 0)],
  ['silenced go down', `${downSet.size - wrong.length}/${opts.silence} down · ${missed.length} missed · ${wrong.length} false · ${downAlerts} down alerts`, ok(missed.length === 0 && wrong.length === 0 && downAlerts === opts.silence)],
  ['down after period + grace', `+${dist(delays).p50} s p50 · +${dist(delays).max} s max · ${early} early`, ok(early === 0 && delays.length === opts.silence)],
];
const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
const table = [`${'measure'.padEnd(w0)}  ${'result'.padEnd(w1)}  ok`, `${'-'.repeat(w0)}  ${'-'.repeat(w1)}  --`, ...rows.map((r) => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`)].join('\n');
console.log(`\n${table}\n`);
if (problems.length) console.log(`server warnings: ${problems.join(' | ')}`);
const result = {
  when: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavgAtEnd: os.loadavg().map(r2) },
  options: opts,
  created, statesSteady, statesEnd, falseLate, falseDown, lateEnd,
  ping: pingStats, errors: errorStats,
  eventLoopProbe: probeStats.probe, scrapes, scrapeMs, serverLoopDelay,
  otherCpuPercent: Math.round(otherCpuPercent), loadAtSteadyEnd, server: opts.server,
  tick, tickHistogramTotal: histogram,
  serverCpuPercent: r1((cpuSteady / steadySeconds) * 100), peakRssMb: Math.round(rssMax),
  silence: { silenced: opts.silence, down: downSet.size, missed, falseDown: wrong, downAlerts, delaySeconds: dist(delays), early },
  serverWarnings: problems,
  table,
};
mkdirSync(dirname(opts.out), { recursive: true });
writeFileSync(opts.out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${opts.out}`);
process.exit(rows.some((r) => r[2] === '✘') ? 1 : 0);
