import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Shipper, type QueuedLine } from './shipper.js';

const line = (end: number): QueuedLine => {
  const json = JSON.stringify({ message: `line ${end}`, 'botpulse.line_id': `s:${end}` });
  return { json, bytes: json.length + 1, sourceId: 's', end };
};

describe('Shipper', () => {
  it('sends two batches at once but saves positions in order: a later answer waits for the earlier batch', async () => {
    const held: ServerResponse[] = [];
    let requests = 0;
    const events: string[] = [];
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const n = ++requests;
        const answer = (r: ServerResponse) => r.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":2,"duplicates":0,"rejected":[]}');
        if (n === 1) return void held.push(res); // the first batch's answer is slow...
        events.push('batch 2 answered');
        answer(res);
        setTimeout(() => answer(held.pop()!), 200); // ...and comes after the second's
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const shipper = new Shipper({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/1/logs/`,
      auth: 'Sentry sentry_key=k',
      dropOldest: false,
      maxBatchLines: 2,
      batchWaitMs: 60_000,
      onSettled: async (last) => void events.push(`saved ${last.end}`),
      warn: (m) => events.push(m),
    });
    const running = shipper.run();
    for (const end of [1, 2, 3, 4]) shipper.push(line(end));
    shipper.close();
    await running;
    server.close();
    assert.equal(requests, 2);
    assert.deepEqual(events, ['batch 2 answered', 'saved 2', 'saved 4']);
    assert.equal(shipper.counts.sent, 4);
    assert.equal(shipper.counts.buffered, 0);
  });
  it('sends a partial batch at once when it holds an urgent (ERROR or worse) line, not after batchWaitMs', { timeout: 20_000 }, async () => {
    const bodies: string[] = [];
    let received!: () => void;
    const arrived = new Promise<void>((r) => (received = r));
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString());
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":2,"duplicates":0,"rejected":[]}');
        received();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const shipper = new Shipper({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/1/logs/`,
      auth: 'Sentry sentry_key=k',
      dropOldest: false,
      batchWaitMs: 3_600_000, // only the urgent line can make this batch leave before the test times out
      onSettled: async () => undefined,
      warn: () => undefined,
    });
    const running = shipper.run();
    shipper.push(line(1));
    shipper.push({ ...line(2), urgent: true });
    await arrived;
    assert.equal(bodies.length, 1);
    assert.deepEqual(bodies[0]!.trim().split('\n').map((l) => (JSON.parse(l) as { message: string }).message), ['line 1', 'line 2']);
    shipper.close();
    await running;
    server.close();
  });
});
