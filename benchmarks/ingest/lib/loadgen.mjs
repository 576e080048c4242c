// Load generator child process (forked by run.mjs with IPC, advanced serialization).
// Holds a pre-generated pool of envelopes and, on command, keeps a fixed number of requests in
// flight over keep-alive connections to 127.0.0.1 for a fixed time or count, whichever ends first.
//
// Messages in:  {cmd:'prepare', size, poolSize, seed}        -> {type:'prepared', stats}
//               {cmd:'run', ports, path, concurrency, durationMs, maxRequests, timeoutMs}
//                                                            -> {type:'result', ...}
// With several ports (several servers on one database), request loop k always targets
// ports[k % ports.length], so the in-flight requests are split evenly between the servers.
// The process exits when its parent goes away (IPC disconnect).

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { buildPool } from './events.mjs';

let pool = null;
let cursor = 0;

process.on('disconnect', () => process.exit(0));
process.on('message', (msg) => {
  handle(msg).then(
    (reply) => process.send(reply),
    (err) => process.send({ type: 'error', message: err?.stack ?? String(err) }),
  );
});

async function handle(msg) {
  if (msg.cmd === 'prepare') {
    const t0 = performance.now();
    const built = buildPool({ sizeKey: msg.size, count: msg.poolSize, seed: msg.seed });
    pool = built.pool;
    cursor = 0;
    return { type: 'prepared', stats: { ...built.stats, genMs: Math.round(performance.now() - t0) } };
  }
  if (msg.cmd === 'run') return run(msg);
  throw new Error(`unknown command ${msg.cmd}`);
}

const epochNow = () => performance.timeOrigin + performance.now();

async function run({ ports, path, concurrency, durationMs, maxRequests, timeoutMs }) {
  if (!pool) throw new Error('run before prepare');
  // Bodies are reused round-robin with a fresh event id stamped in before each send. Reuse is safe
  // because a body comes round again only after pool.length requests, and at most `concurrency`
  // (< pool.length) are in flight, so the previous send of the same buffer has completed.
  if (pool.length <= concurrency) throw new Error(`pool (${pool.length}) must be larger than concurrency (${concurrency})`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency, scheduling: 'fifo' });
  const latOk = new Float64Array(maxRequests);
  const latAll = new Float64Array(maxRequests);
  let nOk = 0;
  let nAll = 0;
  let issued = 0;
  let bytesSent = 0;
  const statuses = {};
  const errors = {};
  let badAnswers = 0;
  const cpu0 = process.cpuUsage();
  const tStartPerf = performance.now();
  const tStart = performance.timeOrigin + tStartPerf;
  const deadline = tStartPerf + durationMs;
  let lastAnswer = tStartPerf;

  const sendOne = (port, entry) =>
    new Promise((resolve) => {
      let done = false;
      const finish = (r) => {
        if (done) return;
        done = true;
        resolve(r);
      };
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/x-sentry-envelope', 'content-length': entry.buf.length },
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => finish({ status: res.statusCode, body: Buffer.concat(chunks) }));
          res.on('error', (err) => finish({ error: err.code ?? err.message }));
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (err) => finish({ error: err.code ?? err.message }));
      req.end(entry.buf);
    });

  const loop = async (_, k) => {
    const port = ports[k % ports.length];
    while (issued < maxRequests && performance.now() < deadline) {
      issued += 1;
      const entry = pool[cursor];
      cursor = (cursor + 1) % pool.length;
      const eventId = randomUUID().replace(/-/g, '');
      entry.buf.write(eventId, entry.idOffsets[0], 'latin1');
      entry.buf.write(eventId, entry.idOffsets[1], 'latin1');
      const t0 = performance.now();
      const r = await sendOne(port, entry);
      const t1 = performance.now();
      lastAnswer = t1;
      if (r.error) {
        errors[r.error] = (errors[r.error] ?? 0) + 1;
        continue;
      }
      bytesSent += entry.buf.length;
      latAll[nAll++] = t1 - t0;
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status === 200) {
        // The answer must name the event we sent; anything else is not an accepted event.
        let id = null;
        try {
          id = JSON.parse(r.body.toString('utf8')).id;
        } catch {}
        if (id !== eventId) {
          badAnswers += 1;
          continue;
        }
        latOk[nOk++] = t1 - t0;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const tEnd = performance.timeOrigin + lastAnswer;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  return {
    type: 'result',
    tStart,
    tEnd,
    issued,
    ok: nOk,
    statuses,
    errors,
    badAnswers,
    bytesSent,
    cpuMs: (cpu.user + cpu.system) / 1000,
    latOk: latOk.slice(0, nOk),
    latAll: latAll.slice(0, nAll),
    epochAtReply: epochNow(),
  };
}
