// Error-ingest load (forked by run.mjs): open-loop POSTs of realistic 5 KB envelopes (the ingest
// benchmark's pool, each sent with a fresh event id) at a fixed rate over keep-alive connections.
// In: {cmd:'start', port, path, rate, poolSize}  Out: {type:'started'};  {cmd:'stop'} → {type:'stats', ...}
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { buildPool } from '../../ingest/lib/events.mjs';

let cfg, agent, timer, pool;
let startAt = 0;
let next = 0;
let inFlight = 0;
const s = { sent: 0, ok: 0, bad: 0, errors: 0, statuses: {}, latencies: [] };

process.on('disconnect', () => process.exit(0));
process.on('message', (msg) => {
  if (msg.cmd === 'start') {
    cfg = msg;
    pool = buildPool({ sizeKey: '5k', count: msg.poolSize ?? 1000, seed: 7 }).pool;
    agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    startAt = performance.now();
    timer = setInterval(pump, 5);
    process.send({ type: 'started', meanBytes: Math.round(pool.reduce((a, p) => a + p.buf.length, 0) / pool.length) });
  } else if (msg.cmd === 'stop') {
    clearInterval(timer);
    const finish = () => {
      if (inFlight > 0) return setTimeout(finish, 20);
      s.latencies.sort((a, b) => a - b);
      const q = (p) => (s.latencies.length ? s.latencies[Math.min(s.latencies.length - 1, Math.ceil(p * s.latencies.length) - 1)] : null);
      const seconds = (performance.now() - startAt) / 1000;
      process.send({ type: 'stats', sent: s.sent, ok: s.ok, bad: s.bad, errors: s.errors, statuses: s.statuses, seconds, ratePerSec: s.ok / seconds, p50: q(0.5), p99: q(0.99) });
      agent.destroy();
    };
    finish();
  }
});

function pump() {
  const due = Math.floor(((performance.now() - startAt) / 1000) * cfg.rate);
  for (; next < due; next++) {
    if (inFlight > 256) return; // a stalled server: do not pile up sockets (counted as not sent)
    send(pool[next % pool.length]);
  }
}

function send(entry) {
  const id = randomUUID().replace(/-/g, '');
  entry.buf.write(id, entry.idOffsets[0], 'latin1');
  entry.buf.write(id, entry.idOffsets[1], 'latin1');
  const body = Buffer.from(entry.buf); // copy: the pool entry is rewritten by the next send
  const t0 = performance.now();
  s.sent++;
  inFlight++;
  const req = http.request({ host: '127.0.0.1', port: cfg.port, path: cfg.path, method: 'POST', agent, headers: { 'content-type': 'application/x-sentry-envelope', 'content-length': body.length } }, (res) => {
    res.resume();
    res.on('end', () => {
      inFlight--;
      s.statuses[res.statusCode] = (s.statuses[res.statusCode] ?? 0) + 1;
      if (res.statusCode === 200) (s.ok++, s.latencies.push(performance.now() - t0));
      else s.bad++;
    });
  });
  req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
  req.on('error', () => (inFlight--, s.errors++));
  req.end(body);
}
