// Event-loop probe (forked by run.mjs): a tiny GET (/health, answered from memory) every 10 ms on
// one keep-alive connection of its own, so its answer time is the server's event-loop delay plus
// a small constant: a 300 ms scrape or sweep holding the loop shows as a 300 ms answer here.
// Also scrapes /metrics every `scrapeMs` (as a Prometheus would) and times each scrape.
// In: {cmd:'start', port, everyMs, scrapeMs}  Out: {type:'started'}
//     {cmd:'mark'} (new window)               Out: {type:'marked'}
//     {cmd:'stop'}                            Out: {type:'stats', probe: {...}, scrapes: [...]}
import http from 'node:http';
import { performance } from 'node:perf_hooks';

let cfg = null;
let probeAgent = null;
let scrapeAgent = null;
let probeTimer = null;
let scrapeTimer = null;
let win = newWindow();
let busy = false;
let stopping = false;
let scraping = 0;

function dist(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => (s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] : null);
  return { count: s.length, p50: q(0.5), p99: q(0.99), max: s.at(-1) ?? null };
}

function newWindow() {
  return { latencies: [], samples: [], errors: 0, scrapes: [] };
}

process.on('disconnect', () => process.exit(0));
process.on('message', (msg) => {
  if (msg.cmd === 'start') {
    cfg = msg;
    probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    scrapeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    probeTimer = setInterval(probe, msg.everyMs ?? 10);
    if (msg.scrapeMs > 0) scrapeTimer = setInterval(scrape, msg.scrapeMs);
    process.send({ type: 'started' });
  } else if (msg.cmd === 'mark') {
    win = newWindow();
    process.send({ type: 'marked' });
  } else if (msg.cmd === 'stop') {
    stopping = true;
    clearInterval(probeTimer);
    clearInterval(scrapeTimer);
    const finish = () => {
      if (busy || scraping > 0) return setTimeout(finish, 20);
      const w = win;
      w.latencies.sort((a, b) => a - b);
      const q = (p) => (w.latencies.length ? w.latencies[Math.min(w.latencies.length - 1, Math.ceil(p * w.latencies.length) - 1)] : null);
      // Probes whose answer overlapped a scrape vs the others: on a machine shared with other jobs,
      // the others show what the machine's own contention costs, the first what a scrape adds.
      const during = (s) => w.scrapes.some((x) => s[0] < x.from + x.ms && s[0] + s[1] > x.from);
      const split = (keep) => dist(w.samples.filter(keep).map((s) => s[1]));
      process.send({ type: 'stats', probe: { count: w.latencies.length, errors: w.errors, p50: q(0.5), p99: q(0.99), max: w.latencies.at(-1) ?? null, duringScrapes: split(during), otherwise: split((s) => !during(s)) }, scrapes: w.scrapes });
      probeAgent.destroy();
      scrapeAgent.destroy();
    };
    finish();
  }
});

/** One probe at a time: a stalled loop delays the answer, and the next probe waits for it (no pile-up). */
function probe() {
  if (busy || stopping) return;
  busy = true;
  const w = win;
  const t0 = performance.now();
  const req = http.get({ host: '127.0.0.1', port: cfg.port, path: '/health', agent: probeAgent }, (res) => {
    res.resume();
    res.on('end', () => {
      busy = false;
      if (res.statusCode === 200) (w.latencies.push(performance.now() - t0), w.samples.push([t0, performance.now() - t0]));
      else w.errors++;
    });
  });
  req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
  req.on('error', () => ((busy = false), w.errors++));
}

function scrape() {
  if (stopping) return;
  scraping++;
  const w = win;
  const t0 = performance.now();
  const at = Date.now();
  const req = http.get({ host: '127.0.0.1', port: cfg.port, path: '/metrics', agent: scrapeAgent }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => (body += c));
    res.on('end', () => {
      scraping--;
      const series = body.split('\n').filter((l) => l && !l.startsWith('#')).length;
      w.scrapes.push({ at, from: t0, status: res.statusCode, ms: performance.now() - t0, bytes: Buffer.byteLength(body), series });
    });
  });
  req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
  req.on('error', (err) => ((scraping--), w.scrapes.push({ at, from: t0, status: 0, ms: performance.now() - t0, error: err.message })));
}
