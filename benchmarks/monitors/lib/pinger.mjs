// Heartbeat load generator (forked by run.mjs with IPC). Pings `count` monitors, each every
// `intervalMs`, their phases spread evenly over the interval (≈ count / interval pings per second),
// with plain GETs on keep-alive connections. Monitors can be silenced (no more pings) by index.
//
// In:  {cmd:'start', port, projectId, key, count, intervalMs, sockets}   Out: {type:'started'}
//      {cmd:'silence', indexes}                                         Out: {type:'silenced', lastPingAt: {index: ms}}
//      {cmd:'mark'}  (starts a new measurement window)                   Out: {type:'marked'}
//      {cmd:'stop'}                                                     Out: {type:'stats', ...}
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const epoch = () => performance.timeOrigin + performance.now();
let cfg = null;
let agent = null;
let timer = null;
let startAt = 0;
let nextOrdinal = 0;
const silenced = new Set();
const lastPingAt = new Map();
let window = newWindow();
let inFlight = 0;
let maxInFlight = 0;
let maxLagMs = 0;

function newWindow() {
  return { from: epoch(), sent: 0, ok: 0, bad: 0, errors: 0, statuses: {}, latencies: [] };
}

process.on('disconnect', () => process.exit(0));
process.on('message', (msg) => {
  if (msg.cmd === 'start') {
    cfg = msg;
    agent = new http.Agent({ keepAlive: true, maxSockets: msg.sockets ?? 32 });
    startAt = epoch() + 200;
    timer = setInterval(pump, 5);
    process.send({ type: 'started', startAt });
  } else if (msg.cmd === 'silence') {
    for (const i of msg.indexes) silenced.add(i);
    process.send({ type: 'silenced', lastPingAt: Object.fromEntries(msg.indexes.map((i) => [i, lastPingAt.get(i) ?? null])) });
  } else if (msg.cmd === 'mark') {
    window = newWindow();
    maxLagMs = 0;
    process.send({ type: 'marked' });
  } else if (msg.cmd === 'stop') {
    clearInterval(timer);
    const w = window;
    const wait = () => (inFlight > 0 ? setTimeout(wait, 20) : finish());
    const finish = () => {
      w.latencies.sort((a, b) => a - b);
      const q = (p) => (w.latencies.length ? w.latencies[Math.min(w.latencies.length - 1, Math.ceil(p * w.latencies.length) - 1)] : null);
      const seconds = (epoch() - w.from) / 1000;
      process.send({ type: 'stats', sent: w.sent, ok: w.ok, bad: w.bad, errors: w.errors, statuses: w.statuses, seconds, ratePerSec: w.ok / seconds, p50: q(0.5), p99: q(0.99), max: w.latencies.at(-1) ?? null, maxInFlight, maxLagMs });
      agent.destroy();
    };
    wait();
  }
});

/** Sends every ping whose time has come (ordinal j → monitor j % count at startAt + j × spacing). */
function pump() {
  const spacing = cfg.intervalMs / cfg.count;
  const now = epoch();
  const due = Math.floor((now - startAt) / spacing);
  for (; nextOrdinal <= due; nextOrdinal++) {
    const index = nextOrdinal % cfg.count;
    if (silenced.has(index)) continue;
    maxLagMs = Math.max(maxLagMs, now - (startAt + nextOrdinal * spacing));
    ping(index);
  }
}

function ping(index) {
  const t0 = performance.now();
  const at = epoch();
  const w = window;
  w.sent++;
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  const req = http.request({ host: '127.0.0.1', port: cfg.port, path: `/api/${cfg.projectId}/heartbeat/hb-${index}?sentry_key=${cfg.key}`, method: 'GET', agent }, (res) => {
    res.resume();
    res.on('end', () => {
      inFlight--;
      w.statuses[res.statusCode] = (w.statuses[res.statusCode] ?? 0) + 1;
      if (res.statusCode === 200) {
        w.ok++;
        w.latencies.push(performance.now() - t0);
        lastPingAt.set(index, at);
      } else w.bad++;
    });
  });
  req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
  req.on('error', () => {
    inFlight--;
    w.errors++;
  });
  req.end();
}
