import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DiskQueue, diskQueueDir, type StoredItem } from './disk-queue.js';
import { HttpTransport } from './transport.js';
import { Receiver } from './test-support/receiver.js';
import { memoryClient } from './test-support/memory.js';
import { BotpulseClient } from './client.js';

const event = (n: number): StoredItem => ({ type: 'event', payload: JSON.stringify({ message: `e${n}`, pad: 'x'.repeat(100) }), eventId: n.toString(16).padStart(32, '0') });
const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-dq-test-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('DiskQueue', () => {
  it('hands items back oldest file first, each file once', () => {
    const queue = new DiskQueue(freshDir());
    queue.write([event(1), event(2)]);
    queue.write([event(3)]);
    assert.deepEqual(queue.takeOldest()?.map((i) => i.eventId), [event(1).eventId, event(2).eventId]);
    assert.deepEqual(queue.takeOldest()?.map((i) => i.eventId), [event(3).eventId]);
    assert.equal(queue.takeOldest(), undefined);
    assert.equal(queue.hasPending(), false);
  });

  it('takes no more than asked; the rest stays first in line', () => {
    const queue = new DiskQueue(freshDir());
    queue.write([event(1), event(2), event(3)]);
    queue.write([event(4)]);
    assert.deepEqual(queue.takeOldest(2)?.map((i) => i.eventId), [event(1).eventId, event(2).eventId]);
    assert.deepEqual(queue.takeOldest(2)?.map((i) => i.eventId), [event(3).eventId]);
    assert.deepEqual(queue.takeOldest(2)?.map((i) => i.eventId), [event(4).eventId]);
  });

  it('stays within its bounds: the oldest files go, and their items are counted as lost', () => {
    const lost: [string, number][] = [];
    const dir = freshDir();
    const queue = new DiskQueue(dir, { maxFiles: 3, onLost: (type, n) => lost.push([type, n]) });
    for (let i = 0; i < 5; i++) queue.write([event(i), { type: 'log', payload: '{}' }]);
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.json')).length, 3);
    assert.deepEqual(lost, [['event', 1], ['log', 1], ['event', 1], ['log', 1]]);
    assert.equal(queue.takeOldest()?.[0]?.eventId, event(2).eventId, 'the newest three are kept');

    const bytes = new DiskQueue(freshDir(), { maxBytes: 600, onLost: (type, n) => lost.push([type, n]) });
    lost.length = 0;
    for (let i = 0; i < 10; i++) bytes.write([event(i)]);
    assert.ok(lost.length >= 5, `files beyond 600 bytes deleted (${lost.length})`);
  });

  it('skips what it cannot read; a write it cannot make returns false', () => {
    const dir = freshDir();
    writeFileSync(join(dir, '0000000000001-1-0.json'), 'not json');
    const queue = new DiskQueue(dir);
    assert.deepEqual(queue.takeOldest(), []);
    assert.equal(queue.takeOldest(), undefined);
    const blocked = new DiskQueue(join(dir, '0000000000002-1-0.json.tmp', 'x')); // a file in the way
    writeFileSync(join(dir, '0000000000002-1-0.json.tmp'), '');
    assert.equal(blocked.write([event(1)]), false);
  });

  it('lives per DSN under the temp directory, or where BOTPULSE_DISK_QUEUE says; "off" turns it off', () => {
    const a = diskQueueDir(undefined, 'http://a@127.0.0.1:1/1', {});
    const b = diskQueueDir(undefined, 'http://b@127.0.0.1:1/1', {});
    assert.ok(a && b && a !== b && a.startsWith(tmpdir()));
    assert.ok(!a.includes('http://a'), 'the key is not in the path');
    assert.equal(diskQueueDir(undefined, 'x', { BOTPULSE_DISK_QUEUE: '/var/lib/bot/queue' }), '/var/lib/bot/queue');
    assert.equal(diskQueueDir('/opt/q', 'x', { BOTPULSE_DISK_QUEUE: '/var/lib/bot/queue' }), '/opt/q', 'the option wins');
    assert.equal(diskQueueDir(undefined, 'x', { BOTPULSE_DISK_QUEUE: 'off' }), undefined);
  });
});

describe('HttpTransport with a disk queue', () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await Receiver.start();
  });
  after(async () => receiver.close());

  it('persistSync keeps unsent events and logs on disk, counts check-ins and transactions as send_error', async () => {
    const dir = freshDir();
    const discarded: string[] = [];
    const transport = new HttpTransport({ dsn: receiver.dsn, diskQueue: new DiskQueue(dir), onDiscard: (reason, category, n) => discarded.push(`${reason}:${category}:${n}`) });
    transport.send({ type: 'event', payload: Buffer.from('{"message":"kept"}'), eventId: 'a'.repeat(32) });
    transport.send({ type: 'log', payload: Buffer.from('{"items":[]}') });
    transport.send({ type: 'check_in', payload: Buffer.from('{"status":"ok"}') });
    transport.send({ type: 'transaction', payload: Buffer.from('{}') });
    transport.persistSync(); // as from process.on('exit'): before any request left
    assert.deepEqual(discarded, ['send_error:monitor:1', 'send_error:transaction:1']);
    assert.deepEqual(new DiskQueue(dir).takeOldest()?.map((i) => i.type), ['event', 'log']);
    assert.equal(transport.stats().spilledToDisk, 2);
    await transport.close(100);
  });

  it('what an earlier process left is sent at the next start', async () => {
    const dir = freshDir();
    new DiskQueue(dir).write([{ type: 'event', payload: '{"message":"from last time"}', eventId: 'b'.repeat(32) }]);
    receiver.requests.length = 0;
    const transport = new HttpTransport({ dsn: receiver.dsn, diskQueue: new DiskQueue(dir) });
    for (let i = 0; i < 100 && receiver.payloads('event').length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(receiver.payloads('event'), [{ message: 'from last time' }]);
    assert.equal(receiver.requests[0]?.envelope.headers['event_id'], 'b'.repeat(32));
    assert.equal(new DiskQueue(dir).hasPending(), false, 'taken off the disk');
    await transport.close(100);
  });

  it('an event still queued can be replaced (made fatal); one already sent cannot', async () => {
    receiver.requests.length = 0;
    const transport = new HttpTransport({ dsn: receiver.dsn });
    transport.send({ type: 'event', payload: Buffer.from('{"level":"error"}'), eventId: 'c'.repeat(32) });
    assert.equal(transport.replace('c'.repeat(32), Buffer.from('{"level":"fatal"}')), true);
    await transport.flush(2000);
    assert.deepEqual(receiver.payloads('event'), [{ level: 'fatal' }]);
    assert.equal(transport.replace('c'.repeat(32), Buffer.from('{}')), false);
    await transport.close(100);
  });
});

describe('client reports', () => {
  it('counts sample_rate, before_send and storm drops, and sends them as one client_report with the next flush', async () => {
    const { client, transport } = memoryClient({ sampleRate: 0 });
    client.captureException(new Error('sampled out'));
    client.captureException(new Error('sampled out too'));
    const dropper = memoryClient({ beforeSend: () => null, errorStorm: { burst: 1, ratePerSecond: 0.001, totalBurst: 100, totalRatePerSecond: 100 } });
    dropper.client.captureException(new Error('dropped'));
    dropper.client.captureException(new Error('dropped')); // the same signature: held back by the storm guard
    await client.flush();
    await dropper.client.flush();
    const [report] = transport.payloads('client_report');
    assert.deepEqual(report.discarded_events, [{ reason: 'sample_rate', category: 'error', quantity: 2 }]);
    assert.ok(Math.abs(report.timestamp - Date.now() / 1000) < 60);
    const byReason = (a: { reason: string }, b: { reason: string }) => a.reason.localeCompare(b.reason);
    assert.deepEqual([...dropper.transport.payloads('client_report')[0].discarded_events].sort(byReason), [
      { reason: 'before_send', category: 'error', quantity: 1 },
      { reason: 'event_processor', category: 'error', quantity: 1 },
    ]);
    await client.flush();
    assert.equal(transport.payloads('client_report').length, 1, 'nothing new: no empty report');
    assert.deepEqual(client.counters().discarded, { 'sample_rate:error': 2 });
  });

  it('sendClientReports: false sends none', async () => {
    const { client, transport } = memoryClient({ sampleRate: 0, sendClientReports: false });
    client.captureException(new Error('x'));
    await client.flush();
    assert.equal(transport.payloads('client_report').length, 0);
  });

  it('the default transport reports what it had to drop: a 4xx answer is send_error', async () => {
    const receiver = await Receiver.start();
    try {
      const client = new BotpulseClient({ dsn: receiver.dsn, env: {}, diskQueue: false });
      receiver.script.push({ status: 400 });
      client.captureException(new Error('refused'));
      await client.flush(2000);
      await client.flush(2000);
      assert.deepEqual(receiver.payloads('client_report').flatMap((r) => r.discarded_events), [{ reason: 'send_error', category: 'error', quantity: 1 }]);
      await client.close(100);
    } finally {
      await receiver.close();
    }
  });
});
