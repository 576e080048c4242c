// The SDK's own failure paths (docs/sdk.md, "Failure paths"): each one is handled, or counted
// in `counters().failures` / client reports and logged through `init({ logger })`, or rethrown.
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BotpulseClient } from './client.js';
import { Diagnostics, DIAGNOSTIC_LOG_INTERVAL_MS, type DiagnosticLogger } from './diagnostics.js';
import { DiskQueue } from './disk-queue.js';
import { startPollingWithLock } from './grammy/polling-lock.js';
import { pollingLock } from './lock.js';
import { memoryClient } from './test-support/memory.js';
import { Receiver } from './test-support/receiver.js';
import { UpdateScope } from './update-scope.js';
import { guardWebhook } from './webhook.js';

/** A pino-shaped logger that keeps what it is given. */
function recordingLogger(): DiagnosticLogger & { lines: { obj: Record<string, unknown>; msg: string }[] } {
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  return { lines, warn: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }) };
}

async function waitFor(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !predicate(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(predicate(), `timed out waiting for ${what}`);
}

const temporaryDirs: string[] = [];
function temporaryDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-failure-paths-'));
  temporaryDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

describe('diagnostics', () => {
  it('counts every failure, logs the first of a kind and then at most once per interval with the count in between', () => {
    const logger = recordingLogger();
    let now = 0;
    const diagnostics = new Diagnostics(logger, () => now);
    diagnostics.report('disk_queue', 'could not write', new Error('EACCES: permission denied'));
    diagnostics.report('disk_queue', 'could not write', new Error('EACCES: permission denied'));
    diagnostics.report('polling_lock', 'could not refresh');
    assert.deepEqual(diagnostics.failures, { disk_queue: 2, polling_lock: 1 });
    assert.deepEqual(logger.lines.map((l) => l.obj['botpulse']), ['disk_queue', 'polling_lock']);
    now += DIAGNOSTIC_LOG_INTERVAL_MS;
    diagnostics.report('disk_queue', 'could not write', new Error('EACCES: permission denied'));
    assert.equal(logger.lines.length, 3);
    assert.equal(logger.lines[2]?.obj['repeated'], 1, 'the occurrence not logged in between is carried');
    assert.equal(logger.lines[2]?.obj['error'], 'Error: EACCES: permission denied');
  });

  it('a throwing logger breaks nothing (the failure is still counted)', () => {
    const diagnostics = new Diagnostics({ warn: () => { throw new Error('logger down'); } });
    assert.doesNotThrow(() => diagnostics.report('x', 'y'));
    assert.equal(diagnostics.failures['x'], 1);
  });
});

describe('client: beforeSend and serialisation failures', () => {
  it('a throwing beforeSend: the event is sent unchanged, the failure counted and logged', () => {
    const logger = recordingLogger();
    const { client, transport } = memoryClient({ logger, beforeSend: () => { throw new Error('hook bug'); } });
    client.captureException(new Error('payment failed'));
    assert.equal(transport.payloads('event').at(-1).exception.values.at(-1).value, 'payment failed');
    assert.equal(client.counters().failures['before_send'], 1);
    assert.match(logger.lines[0]?.msg ?? '', /beforeSend threw/);
    assert.equal(logger.lines[0]?.obj['error'], 'Error: hook bug');
  });

  it('a rejecting async beforeSend: the event is sent unchanged, the failure counted and logged', async () => {
    const logger = recordingLogger();
    const { client, transport } = memoryClient({ logger, beforeSend: async () => { throw new Error('async hook bug'); } });
    client.captureException(new Error('payment failed'));
    await client.flush(2000);
    assert.equal(transport.payloads('event').length, 1);
    assert.equal(client.counters().failures['before_send'], 1);
    assert.match(logger.lines[0]?.msg ?? '', /beforeSend rejected/);
  });

  it('an async beforeSend returning a BigInt in the exception: sent converted, no unhandled rejection', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const logger = recordingLogger();
      const { client, transport } = memoryClient({
        logger,
        beforeSend: async (event) => {
          const values = (event.exception as { values: Record<string, unknown>[] }).values;
          (values[0] as Record<string, unknown>)['amount_cents'] = 1999n;
          return event;
        },
      });
      client.captureException(new Error('charge failed'));
      await client.flush(2000);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(rejections, [], 'nothing escaped as an unhandled rejection (it would end the bot)');
      assert.equal(transport.payloads('event').at(-1).exception.values[0].amount_cents, '1999');
      assert.equal(client.counters().failures['event_serialization'], 1);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('an event that cannot be serialised at all is dropped, counted (client report) and logged, never thrown', () => {
    const logger = recordingLogger();
    const { client, transport } = memoryClient({ logger });
    const poison = { toJSON: () => { throw new Error('no JSON for you'); } };
    assert.doesNotThrow(() => client.captureEvent({ message: 'custom', extra: { poison } } as never));
    assert.equal(transport.payloads('event').length, 0);
    const counters = client.counters();
    assert.equal(counters.eventsDropped['internal_sdk_error'], 1);
    assert.equal(counters.discarded['internal_sdk_error:error'], 1);
    assert.equal(counters.failures['event_serialization'], 1);
    assert.ok(logger.lines.some((l) => /could not be serialised/.test(l.msg)));
  });
});

describe('client: thrown values the SDK cannot read', () => {
  const nullPrototype = Object.create(null) as object;
  const throwingStack = new Error('stack getter throws');
  Object.defineProperty(throwingStack, 'stack', { get: () => { throw new Error('no stack'); } });
  const throwingProxy = new Proxy(new Error('proxy'), { get: () => { throw new Error('trap'); } });

  for (const [name, value] of [['a null-prototype object', nullPrototype], ['an Error whose stack getter throws', throwingStack], ['a Proxy that throws on every read', throwingProxy]] as const) {
    it(`captureException(${name}) reports a placeholder instead of throwing`, () => {
      const logger = recordingLogger();
      const { client, transport } = memoryClient({ logger });
      let id: string | undefined;
      assert.doesNotThrow(() => (id = client.captureException(value)));
      assert.ok(id);
      const event = transport.payloads('event').at(-1);
      assert.match(event.exception.values[0].value, /Unreadable thrown value/);
      assert.equal(client.counters().failures['unreadable_error'], 1);
    });
  }

  it('a handler rejecting with a null-prototype object: the bot sees its own value, Botpulse gets an event', async () => {
    const { client, transport } = memoryClient({ logger: false });
    const updates = new UpdateScope(client, { mechanism: 'test' });
    const update = { update_id: 7, message: { message_id: 1, date: 0, chat: { id: 5, type: 'private' }, text: 'hi' } };
    const rejected = await updates.run({}, update, () => Promise.reject(nullPrototype)).then(() => undefined, (error: unknown) => error);
    assert.equal(rejected, nullPrototype, 'the SDK did not replace the bot’s error with its own TypeError');
    assert.equal(transport.payloads('event').length, 1);
  });

  it('an unreadable value reaching captureFatal (the process handlers) is reported, fatal', () => {
    const { client, transport } = memoryClient({ logger: false });
    assert.doesNotThrow(() => client.captureFatal(throwingProxy, 'onunhandledrejection', { fatal: true }));
    const event = transport.payloads('event').at(-1);
    assert.equal(event.level, 'fatal');
    assert.equal(event.exception.values[0].mechanism.handled, false);
  });
});

describe('disk queue failures', () => {
  it('a damaged file is deleted with its items counted (internal_sdk_error, by type) and logged', () => {
    const dir = temporaryDir();
    const items = [{ type: 'event', payload: '{"message":"a"}' }, { type: 'event', payload: '{"message":"b"}' }, { type: 'log', payload: '{"items":[]}' }];
    const text = JSON.stringify(items);
    writeFileSync(join(dir, '0000000000001-1-0.json'), text.slice(0, text.length - 10)); // cut short, as by a full disk
    const lost: [string, number, string][] = [];
    const errors: string[] = [];
    const queue = new DiskQueue(dir, { onLost: (type, n, reason) => lost.push([type, n, reason]), onError: (message) => errors.push(message) });
    assert.deepEqual(queue.takeOldest(), []);
    assert.deepEqual(lost.sort(), [['event', 2, 'internal_sdk_error'], ['log', 1, 'internal_sdk_error']]);
    assert.match(errors[0] ?? '', /damaged disk-queue file/);
    assert.deepEqual(readdirSync(dir), [], 'removed rather than retried forever');
  });

  it('through the client: the damaged file shows in client reports and failures', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, '0000000000001-1-0.json'), '[{"type":"event","payload":"{\\"message\\":\\"a\\"}"},{"type":"event","payload":"{\\"mess');
    const receiver = await Receiver.start();
    const client = new BotpulseClient({ dsn: receiver.dsn, env: {}, logger: false, diskQueue: { dir } });
    try {
      await waitFor(() => client.counters().failures['disk_queue'] === 1, 'the damaged file to be read');
      assert.equal(client.counters().discarded['internal_sdk_error:error'], 2);
    } finally {
      await client.close(2000);
      await receiver.close();
    }
  });

  it('an unwritable directory: the write fails with its cause logged', () => {
    const base = temporaryDir();
    writeFileSync(join(base, 'a-file'), 'x');
    const errors: unknown[] = [];
    const queue = new DiskQueue(join(base, 'a-file', 'queue'), { onError: (_message, error) => errors.push(error) });
    assert.equal(queue.write([{ type: 'event', payload: '{}' }]), false);
    assert.match(String(errors[0]), /ENOTDIR|EEXIST/);
  });
});

describe('transport failures are logged with their cause', () => {
  it('a refused envelope (wrong key: 401) is counted and logged', async () => {
    const receiver = await Receiver.start();
    receiver.script.push({ status: 401 });
    const logger = recordingLogger();
    const client = new BotpulseClient({ dsn: receiver.dsn, env: {}, logger, diskQueue: false, sendClientReports: false });
    try {
      client.captureException(new Error('boom'));
      await waitFor(() => client.counters().failures['delivery_refused'] === 1, 'the refusal');
      assert.ok(logger.lines.some((l) => /HTTP 401/.test(l.msg)), JSON.stringify(logger.lines));
      assert.ok(logger.lines.some((l) => /dropped for good \(send_error\)/.test(l.msg)), 'the loss itself is logged too');
    } finally {
      await client.close(100);
      await receiver.close();
    }
  });

  it('no answer after every retry: the network error is named', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const logger = recordingLogger();
    const client = new BotpulseClient({ dsn: `http://key@127.0.0.1:${port}/1`, env: {}, logger, diskQueue: false, sendClientReports: false, transportOptions: { maxRetries: 1, retryBaseMs: 1, retryMaxMs: 2 } });
    try {
      client.captureException(new Error('boom'));
      await waitFor(() => client.counters().failures['delivery_failed'] === 1, 'the retries to run out');
      const line = logger.lines.find((l) => l.obj['botpulse'] === 'delivery_failed');
      assert.match(String(line?.obj['error']), /ECONNREFUSED/);
    } finally {
      await client.close(100);
    }
  });
});

describe('polling lock failures', () => {
  it('a refresh Redis does not answer is reported (the lock is kept)', async () => {
    const redis = { set: async () => 'OK', get: async () => null, eval: async () => { throw new Error('ECONNRESET'); } };
    const lock = pollingLock({ redis, ttl: 60_000, refreshIntervalMs: 5 });
    const errors: unknown[] = [];
    let lost = false;
    lock.startRefreshing(() => (lost = true), (error) => errors.push(error));
    await waitFor(() => errors.length > 0, 'a failed refresh');
    lock.stopRefreshing();
    assert.match(String(errors[0]), /ECONNRESET/);
    assert.equal(lost, false);
  });

  it('startPollingWithLock: a release that fails is counted and logged, the bot stops normally', async () => {
    const redis = { set: async () => 'OK', get: async () => null, eval: async () => { throw new Error('Connection is closed.'); } };
    const logger = recordingLogger();
    const { client } = memoryClient({ logger });
    const bot = { start: async () => undefined, stop: async () => undefined };
    await startPollingWithLock(bot, { client, redis, log: () => undefined });
    assert.equal(client.counters().failures['polling_lock'], 1);
    assert.match(logger.lines[0]?.msg ?? '', /could not release polling lock/);
  });
});

describe('guardWebhook: a late application error is reported whatever its words', () => {
  it('"timed out" in an app error thrown after the early answer is still an event; grammY’s own timeout is not a second one', async () => {
    const { client, transport } = memoryClient({ logger: false });
    let lateError: Error = new Error('Payment provider timed out after 3000 ms');
    let thrown = 0;
    const handler = async (_req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
      await waitFor(() => res.headersSent, 'the guard to answer early');
      thrown += 1;
      throw lateError;
    };
    const server = http.createServer(guardWebhook(handler, { client, timeoutMs: 20 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      assert.equal((await fetch(url, { method: 'POST', body: '{"update_id":1}' })).status, 200);
      await waitFor(() => transport.payloads('event').some((e) => e.exception), 'the late error');
      assert.equal(transport.payloads('event').find((e) => e.exception).exception.values.at(-1).value, 'Payment provider timed out after 3000 ms');

      lateError = new Error('Request timed out after 10000 ms'); // grammY's webhookCallback, word for word
      const before = transport.payloads('event').length;
      assert.equal((await fetch(url, { method: 'POST', body: '{"update_id":2}' })).status, 200);
      await waitFor(() => thrown === 2, 'the handler to throw');
      await new Promise((r) => setImmediate(r)); // the guard's rejection handler has run
      const after = transport.payloads('event').slice(before);
      assert.deepEqual(after.map((e) => e.message ?? e.exception.values.at(-1).value), ['Webhook handler exceeded 20 ms; answered 200 early so Telegram does not re-send the update']);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('client reports: losses the bot did not choose are logged', () => {
  it('queue_overflow is logged, sample_rate is only counted', () => {
    const logger = recordingLogger();
    const { client } = memoryClient({ logger });
    client.recordDiscard('sample_rate', 'error', 3);
    assert.equal(logger.lines.length, 0);
    client.recordDiscard('queue_overflow', 'error', 2);
    assert.match(logger.lines[0]?.msg ?? '', /2 error item\(s\) dropped for good \(queue_overflow\)/);
  });
});
