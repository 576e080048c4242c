import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { HttpTransport, parseRateLimits, parseRetryAfter } from './transport.js';
import { Receiver } from './test-support/receiver.js';
import { SDK_VERSION } from './version.js';

const item = (type: string, body: unknown, eventId?: string) => ({ type, payload: Buffer.from(JSON.stringify(body)), ...(eventId ? { eventId } : {}) });

describe('HttpTransport', () => {
  let receiver: Receiver;
  const transports: HttpTransport[] = [];
  const make = (options: Partial<ConstructorParameters<typeof HttpTransport>[0]> = {}) => {
    const transport = new HttpTransport({ dsn: receiver.dsn, retryBaseMs: 20, ...options });
    transports.push(transport);
    return transport;
  };
  before(async () => {
    receiver = await Receiver.start();
  });
  beforeEach(() => {
    receiver.requests.length = 0;
    receiver.script.length = 0;
  });
  after(async () => {
    await Promise.all(transports.map((t) => t.close(100)));
    await receiver.close();
  });

  it('posts envelopes with the Sentry auth header; one event per envelope, other items batched', async () => {
    const transport = make();
    transport.send(item('event', { event_id: 'a'.repeat(32) }, 'a'.repeat(32)));
    transport.send(item('event', { event_id: 'b'.repeat(32) }, 'b'.repeat(32)));
    transport.send(item('check_in', { status: 'ok' }));
    transport.send(item('transaction', { type: 'transaction' }));
    assert.equal(await transport.flush(2000), true);
    assert.equal(receiver.requests.length, 3);
    const [first, second, third] = receiver.requests;
    assert.equal(first?.headers['x-sentry-auth'], `Sentry sentry_version=7, sentry_key=publickey, sentry_client=botpulse.javascript.node/${SDK_VERSION}`);
    assert.equal(first?.envelope.headers.event_id, 'a'.repeat(32));
    assert.equal(first?.envelope.items.length, 1);
    assert.equal(second?.envelope.headers.event_id, 'b'.repeat(32));
    assert.deepEqual(third?.envelope.items.map((i) => i.headers.type), ['check_in', 'transaction']);
    assert.equal(transport.stats().sentItems, 4);
  });

  it('gzips bodies over the threshold', async () => {
    const transport = make({ gzipThreshold: 1024 });
    transport.send(item('event', { message: 'x'.repeat(20_000) }, 'c'.repeat(32)));
    transport.send(item('check_in', { status: 'ok' }));
    await transport.flush(2000);
    const [big, small] = receiver.requests;
    assert.equal(big?.headers['content-encoding'], 'gzip');
    assert.ok((big?.rawLength ?? 0) < 5000);
    assert.equal(small?.headers['content-encoding'], undefined);
  });

  it('retries network errors and 5xx with backoff, then delivers', async () => {
    const transport = make();
    receiver.script.push({ status: 0, drop: true }, { status: 503 });
    transport.send(item('event', { n: 1 }, 'd'.repeat(32)));
    assert.equal(await transport.flush(5000), true);
    assert.equal(receiver.requests.length, 2, 'the 503 and the final 200 were recorded (the drop was not)');
    assert.equal(transport.stats().retries, 2);
    assert.equal(transport.stats().sentItems, 1);
  });

  it('gives up after maxRetries and counts the drop; drops 4xx at once', async () => {
    const transport = make({ maxRetries: 2 });
    receiver.script.push({ status: 500 }, { status: 500 }, { status: 500 }, { status: 400 });
    transport.send(item('event', { n: 1 }, 'e'.repeat(32)));
    await transport.flush(5000);
    transport.send(item('event', { n: 2 }, 'f'.repeat(32)));
    await transport.flush(5000);
    assert.equal(transport.stats().dropped.send_error, 1);
    assert.equal(transport.stats().dropped.rejected, 1);
  });

  it('honours 429 Retry-After: waits, then sends the same batch again', async () => {
    const transport = make();
    receiver.script.push({ status: 429, headers: { 'Retry-After': '1' } });
    transport.send(item('event', { n: 1 }, '1'.repeat(32)));
    await transport.flush(5000);
    assert.equal(receiver.requests.length, 2);
    const gap = (receiver.requests[1]?.at ?? 0) - (receiver.requests[0]?.at ?? 0);
    assert.ok(gap >= 900, `retried after ${gap} ms`);
  });

  it('honours X-Sentry-Rate-Limits per category: other categories keep flowing', async () => {
    const transport = make();
    receiver.script.push({ status: 429, headers: { 'X-Sentry-Rate-Limits': '1:error:organization' } });
    transport.send(item('event', { n: 1 }, '2'.repeat(32)));
    await receiver.waitFor(() => receiver.requests.length === 1);
    transport.send(item('check_in', { status: 'ok' }));
    await receiver.waitFor(() => receiver.requests.length >= 2);
    // Second, before the limited event's retry: had the limit held it back, the older event would
    // have gone out first when the limit lapsed (the queue keeps its order).
    assert.equal(receiver.requests[1]?.envelope.items[0]?.headers.type, 'check_in', 'the check-in went out while errors were limited');
    await transport.flush(5000);
    assert.equal(receiver.payloads('event').length, 2);
  });

  it('bounds memory: beyond maxQueueItems the OLDEST items are dropped and counted', async () => {
    const transport = make({ maxQueueItems: 5 });
    for (let n = 0; n < 20; n++) transport.send(item('check_in', { n }));
    assert.equal(transport.stats().queuedItems, 5);
    assert.equal(transport.stats().dropped.queue_overflow, 15);
    await transport.flush(2000);
    assert.deepEqual(receiver.payloads('check_in').map((p) => p.n), [15, 16, 17, 18, 19]);
  });

  it('bounds memory by bytes too', () => {
    const transport = make({ maxQueueBytes: 10_000 });
    for (let n = 0; n < 10; n++) transport.send(item('log', { pad: 'x'.repeat(3000) }));
    assert.ok(transport.stats().queuedBytes <= 10_000);
    assert.equal(transport.stats().dropped.queue_overflow, 7);
  });

  it('close() flushes, then refuses new items', async () => {
    const transport = make();
    transport.send(item('check_in', { status: 'ok' }));
    assert.equal(await transport.close(2000), true);
    transport.send(item('check_in', { status: 'late' }));
    assert.equal(transport.stats().dropped.closed, 1);
    assert.equal(receiver.payloads('check_in').length, 1);
  });
});

describe('rate limit headers', () => {
  it('parses X-Sentry-Rate-Limits and Retry-After', () => {
    assert.deepEqual(parseRateLimits('60:error;transaction:organization, 2700::organization'), [
      [['error', 'transaction'], 60_000],
      [[], 2_700_000],
    ]);
    assert.equal(parseRetryAfter('17'), 17_000);
    assert.equal(parseRetryAfter(undefined), 60_000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000);
  });
});
