import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { getPriority } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { threadWorker } from '../lib/thread-worker.js';
import { UpstreamPoster } from './poster.js';

describe('UpstreamPoster (the forwarder\'s HTTP)', () => {
  let server: Server;
  let url: URL;
  let connections = 0;
  const bodies: string[] = [];
  let mode: 'ok' | 'limited' | 'hang' | 'drop-second' = 'ok';
  const perSocket = new WeakMap<object, number>();
  before(async () => {
    server = createServer((req, res) => {
      const nth = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, nth);
      // Closes a kept-alive connection instead of answering its second request, as a server
      // closing an idle connection just as the client reuses it does.
      if (mode === 'drop-second' && nth === 2) return void req.socket.destroy();
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(`${req.headers['x-sentry-auth']}|${Buffer.concat(chunks).toString()}`);
        if (mode === 'hang') return;
        if (mode === 'limited') return void res.writeHead(429, { 'Retry-After': '7', 'X-Sentry-Rate-Limits': '60:error:key' }).end('{}');
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"x"}');
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/api/1/envelope/`);
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('posts the body with the headers, answers status and headers, and keeps one connection for many posts', async () => {
    const poster = new UpstreamPoster(url, 1);
    try {
      for (let i = 0; i < 5; i++) assert.equal((await poster.post(Buffer.from(`envelope ${i}`), { 'X-Sentry-Auth': 'Sentry k' }, 5000)).status, 200);
      assert.deepEqual(bodies.slice(-5), [0, 1, 2, 3, 4].map((i) => `Sentry k|envelope ${i}`));
      assert.equal(connections, 1, 'kept alive');
      mode = 'limited';
      const limited = await poster.post(Buffer.from('x'), {}, 5000);
      assert.deepEqual([limited.status, limited.header('retry-after'), limited.header('X-Sentry-Rate-Limits'), limited.header('nope')], [429, '7', '60:error:key', null]);
    } finally {
      mode = 'ok';
      poster.close();
    }
  });

  it('sends a request again, once, on a new connection when the kept-alive one turns out closed', async () => {
    const poster = new UpstreamPoster(url, 1);
    const before = connections;
    mode = 'drop-second';
    try {
      assert.equal((await poster.post(Buffer.from('first'), {}, 5000)).status, 200);
      assert.equal((await poster.post(Buffer.from('second'), {}, 5000)).status, 200, 'answered on a second connection');
      assert.equal(connections - before, 2);
      assert.deepEqual(bodies.slice(-2), ['undefined|first', 'undefined|second']);
    } finally {
      mode = 'ok';
      poster.close();
    }
  });

  it('rejects when nothing answers in time or nothing listens', async () => {
    const poster = new UpstreamPoster(url, 2);
    try {
      mode = 'hang';
      await assert.rejects(poster.post(Buffer.from('x'), {}, 200), /no answer within 200 ms/);
    } finally {
      mode = 'ok';
      poster.close();
    }
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const nowhere = new UpstreamPoster(new URL(`http://127.0.0.1:${port}/api/1/envelope/`), 1);
    await assert.rejects(nowhere.post(Buffer.from('x'), {}, 5000), /ECONNREFUSED/);
    nowhere.close();
  });
});

describe('the forwarder thread\'s priority', { skip: process.platform !== 'linux' && 'nice per thread is a Linux feature' }, () => {
  it('is lowered for that thread only, not for the thread answering ingestion', async () => {
    const mainNice = getPriority();
    // A worker thread lowering its own priority with the forwarder thread's function.
    const worker = threadWorker(new URL('../test-support/priority-probe.ts', import.meta.url), null);
    const answer = await new Promise<{ tid: number | null; nice: number | null; wanted: number; error?: string }>((resolve) => worker.once('message', resolve));
    await worker.terminate();
    assert.equal(answer.error, undefined, answer.error);
    assert.ok(answer.tid !== null && answer.tid !== process.pid, `a thread of its own (${answer.tid})`);
    assert.equal(answer.nice, Math.max(mainNice, answer.wanted));
    assert.equal(getPriority(), mainNice, 'the main thread keeps its priority');
  });
});
