// The SDK's promises about a bot's edges, end to end:
// 1. guardWebhook on a real Express 4 app with a real grammY bot (webhookCallback(bot, 'express')),
//    updates pushed by the fake Telegram, events landing in a real Botpulse server: a throwing
//    handler does not crash the process (Express 4 does not catch a rejected promise), Telegram
//    gets a timely 200, a slow handler is answered at the guard's deadline and reported.
// 2. flushOnExit in a child process running the BUILT SDK: an event still waiting in the queue
//    when SIGTERM arrives, or when the program simply ends (beforeExit), reaches the server, and
//    the process exits. Each has a control without flushOnExit, where the event is lost, so the
//    test shows that flushOnExit is what delivers it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { Bot, webhookCallback } from 'grammy';
import { guardWebhook, instrumentGrammy, type BotpulseClient } from '../../packages/sdk/src/index.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { startFlakyRelay } from './sdk-support/flaky-relay.js';
import { startHarness, type Harness, type RecordingTransport } from './sdk-support/harness.js';
import { reapOnExit } from './support/children.js';

const ALICE = { id: 515151, first_name: 'Alice', username: 'alice_x', language_code: 'en' };
const BOB = { id: 626262, first_name: 'Bob', username: 'bob_y', language_code: 'de' };
/** The fake Telegram gives up on a webhook answer after this long (and re-sends the update). */
const TELEGRAM_WEBHOOK_TIMEOUT_MS = 10_000;
/**
 * The guard answers after this long. Long enough that a throwing handler has thrown well before
 * it even on a loaded machine (the tests tell the two answers apart by what was reported, not by
 * a duration), short enough to keep the slow-handler test quick.
 */
const GUARD_TIMEOUT_MS = 1000;

describe('guardWebhook on a real Express 4 app with a real grammY bot', () => {
  let h: Harness;
  let token: string;
  let secret: string;
  let client: BotpulseClient;
  let transport: RecordingTransport;
  let server: Server;
  let slowGate: { release: () => void; promise: Promise<void> };
  let slowFinished = false;
  const crashes: unknown[] = [];
  const onCrash = (error: unknown): void => void crashes.push(error);

  before(async () => {
    // Anything escaping to the process would, without these listeners, crash it (Node 20's
    // default for an unhandled rejection); with them it is recorded and the tests fail.
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
    h = await startHarness({ telegram: { webhookTimeoutMs: TELEGRAM_WEBHOOK_TIMEOUT_MS, webhookRetryDelayMs: 200 } });
    ({ token } = h.tg.createBot());
    secret = token.split(':')[1]!;
    ({ client, transport } = h.newClient());
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    slowGate = { release, promise };

    const bot = new Bot(token, { client: { apiRoot: h.tg.apiRoot } });
    instrumentGrammy(bot, { client });
    bot.on('message:text', async (ctx) => {
      const text = ctx.message.text;
      if (text === 'pay') throw new Error(`payment failed for bot ${token}`);
      if (text === 'report') {
        await slowGate.promise; // a slow report, far beyond the guard's deadline
        await ctx.reply('report ready');
        slowFinished = true;
        return;
      }
      await ctx.reply(`echo: ${text}`);
    });

    // As docs/sdk.md shows it for Express (express.json() first: grammY reads req.body). The
    // token in the path is grammY's own suggestion for a secret webhook URL: the guard reports
    // the path, so it must be scrubbed.
    const app = express();
    app.use(express.json());
    app.post(`/telegram/${token}`, guardWebhook(webhookCallback(bot, 'express'), { client, timeoutMs: GUARD_TIMEOUT_MS }));
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    await bot.api.setWebhook(`http://127.0.0.1:${(server.address() as AddressInfo).port}/telegram/${token}`);
  });

  after(async () => {
    slowGate.release();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await h.stop();
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
  });

  const deliveriesOf = (updateId: number) => h.tg.webhookDeliveries(token).filter((d) => d.updateId === updateId);
  const chatTexts = (userId: number) => h.tg.chat(token, userId).texts;

  it('a throwing handler: no crash, Telegram gets 200 at once, one event with the update context and no token', async () => {
    const { update } = h.tg.sendMessage(token, 'pay', { from: ALICE });
    await h.tg.waitFor(() => deliveriesOf(update.update_id).length === 1, { what: 'the update to be delivered' });
    const [delivery] = deliveriesOf(update.update_id);
    assert.equal(delivery!.status, 200, 'the documented errorStatus (200), so Telegram does not re-send');
    assert.equal(delivery!.ok, true);
    assert.equal(h.tg.pendingUpdates(token).length, 0, 'Telegram confirmed the update');

    const events = await h.waitForEvents(1);
    const stored = events.filter((e) => e.payload.contexts?.['telegram']?.['update_id'] === update.update_id);
    assert.equal(stored.length, 1, 'one event: the middleware and the guard saw the same error');
    const payload = stored[0]!.payload as any;
    assert.equal(payload.contexts.telegram.update_type, 'message');
    assert.equal(payload.contexts.telegram.chat_id, ALICE.id);
    assert.equal(payload.contexts.telegram.chat_type, 'private');
    assert.equal(payload.contexts.telegram.user_id, ALICE.id);
    assert.equal(payload.contexts.telegram.username, ALICE.username);
    assert.equal(payload.user.id, String(ALICE.id));
    const exception = payload.exception.values.at(-1);
    assert.equal(exception.mechanism.handled, false);
    assert.match(exception.value, /payment failed for bot \[bot-token\]/);
    assert.match(exception.stacktrace.frames.at(-1).filename, /sdk-express\.test\.ts$/);
    assert.ok(!JSON.stringify(stored[0]).includes(secret), 'no token in the stored event');
    assert.ok(!transport.allText().includes(secret), 'no token in anything the SDK sent');
    // Answered by the error, not by the deadline: a deadline answer captures a "webhook timeout"
    // message too (the next test sees one), so one capture means the guard did not wait.
    assert.equal(client.counters().eventsCaptured, 1, 'the error only, no webhook timeout');

    await new Promise((r) => setTimeout(r, 300)); // a re-send would come after 200 ms
    assert.equal(deliveriesOf(update.update_id).length, 1, 'not re-sent');
    assert.deepEqual(crashes, [], 'nothing escaped to the process');
    assert.ok(server.listening, 'the Express server still runs');
  });

  it('a handler slower than the deadline: answered 200 in time, reported as "webhook timeout", keeps running', async () => {
    const { update } = h.tg.sendMessage(token, 'report', { from: ALICE });
    await h.tg.waitFor(() => deliveriesOf(update.update_id).length === 1, { what: 'the slow update to be answered' });
    const [delivery] = deliveriesOf(update.update_id);
    assert.equal(delivery!.status, 200);
    assert.equal(delivery!.ok, true);
    assert.ok(delivery!.durationMs >= GUARD_TIMEOUT_MS - 20, `answered at the guard's deadline (${delivery!.durationMs} ms)`);
    // ok: the fake records a delivery that hit its own timeout as failed (and re-sends it).
    assert.equal(slowFinished, false, 'the handler is still running');

    // Telegram is not held back: the next update (another chat) is delivered and handled meanwhile.
    const next = h.tg.sendMessage(token, 'hello', { from: BOB });
    await h.tg.waitForMessages(token, BOB.id, 1);
    assert.deepEqual(chatTexts(BOB.id), ['echo: hello']);
    await h.tg.waitFor(() => deliveriesOf(next.update.update_id).length === 1, { what: 'the next update to be answered' });
    assert.equal(deliveriesOf(next.update.update_id)[0]!.status, 200);
    assert.equal(slowFinished, false, 'the slow handler was still running while the next update was handled');

    const events = await h.waitForEvents(2);
    const timeout = events.find((e) => e.tags['webhook_timeout'] === 'true');
    assert.ok(timeout, 'a webhook timeout event is stored');
    const payload = timeout.payload as any;
    assert.equal(payload.level, 'warning');
    assert.match(payload.message ?? payload.logentry?.message, new RegExp(`exceeded ${GUARD_TIMEOUT_MS} ms; answered 200 early`));
    assert.equal(payload.contexts.webhook.method, 'POST');
    assert.equal(payload.contexts.webhook.timeout_ms, GUARD_TIMEOUT_MS);
    assert.equal(payload.contexts.webhook.path, '/telegram/[bot-token]', 'the token in the webhook path is scrubbed');
    assert.ok(!JSON.stringify(timeout).includes(secret));

    // The handler finishes on its own time; its late end does not disturb anything.
    slowGate.release();
    await h.tg.waitForMessages(token, ALICE.id, 1);
    assert.deepEqual(chatTexts(ALICE.id), ['report ready']);
    // It sets slowFinished just after its reply, which the fake has already seen: poll for it.
    for (const deadline = Date.now() + 30_000; !slowFinished && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    assert.equal(slowFinished, true, 'the slow handler finished');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(deliveriesOf(update.update_id).length, 1, 'not re-sent');
    assert.deepEqual(crashes, []);
  });

  it('a normal update still works afterwards, and nothing else was reported', async () => {
    const { update } = h.tg.sendMessage(token, 'still there?', { from: ALICE });
    await h.tg.waitForMessages(token, ALICE.id, 2);
    assert.deepEqual(chatTexts(ALICE.id), ['report ready', 'echo: still there?']);
    await h.tg.waitFor(() => deliveriesOf(update.update_id).length === 1, { what: 'the update to be answered' });
    assert.deepEqual(deliveriesOf(update.update_id).map((d) => d.status), [200]);
    const events = await h.storedEvents();
    assert.equal(events.length, 2, 'the error and the timeout, nothing more');
    assert.equal(client.counters().eventsCaptured, 2);
    assert.ok(h.tg.webhookDeliveries(token).every((d) => d.ok && d.status === 200), 'every delivery got a 200');
    assert.ok(!transport.allText().includes(secret));
    assert.deepEqual(crashes, []);
  });
});

const CHILD = fileURLToPath(new URL('./sdk-support/exit-child.mjs', import.meta.url));

describe('flushOnExit: the built SDK in a child process', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  /**
   * Runs the child against a relay that answers its first envelope with 503 (the event stays
   * queued, its retry 0.5 to 1.5 s later); resolves after that 503, with the child still alive.
   */
  async function startChild(mode: 'signal' | 'end', flushOnExit: boolean) {
    const relay = await startFlakyRelay(server.dsn, { failFirst: 1 });
    const diskQueue = mkdtempSync(join(tmpdir(), 'botpulse-exit-child-'));
    const child = reapOnExit(spawn(process.execPath, [CHILD], {
      env: { ...process.env, CHILD_DSN: relay.dsn, CHILD_DISK_QUEUE: diskQueue, EXIT_MODE: mode, FLUSH_ON_EXIT: flushOnExit ? '1' : '0', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    let stdout = '';
    let stderr = '';
    let onStdout = (): void => undefined;
    const captured = new Promise<void>((resolve) => (onStdout = () => void (/captured \S+\n/.test(stdout) && resolve())));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 45_000); // never leave it behind
    void exited.finally(() => clearTimeout(killTimer));
    await Promise.race([Promise.all([captured, relay.waitForAnswers(1)]), exited]);
    const eventId = /captured ([0-9a-f]{32})/.exec(stdout)?.[1];
    assert.ok(eventId, `the child captured an event (stdout: ${stdout}, stderr: ${stderr})`);
    return {
      child,
      relay,
      eventId,
      /** Waits for the exit (the child must exit on its own; 30 s only keeps a broken run from hanging), then closes the relay. */
      async finish() {
        const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`child did not exit; stderr: ${stderr}`)), 30_000).unref());
        try {
          const exit = await Promise.race([exited, timeout]);
          return { ...exit, stderr, queuedFiles: existsSync(diskQueue) ? readdirSync(diskQueue) : [] };
        } finally {
          child.kill('SIGKILL');
          await relay.close();
          rmSync(diskQueue, { recursive: true, force: true });
        }

      },
    };
  }

  async function storedEvent(eventId: string) {
    await server.digested();
    return server.botpulse.store.getEvent(server.project.id, eventId);
  }

  it('SIGTERM while the event waits for a retry: flushed, delivered, then exit code 143', async () => {
    const run = await startChild('signal', true);
    run.child.kill('SIGTERM');
    const exit = await run.finish(); // exits on its own: flushOnExit does not keep it alive
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 143, signal: null }, `exited as Node would on SIGTERM, after flushing (stderr: ${exit.stderr})`);
    assert.deepEqual(run.relay.answers, [503, 200], 'the queued event was retried during the shutdown');
    const stored = await storedEvent(run.eventId);
    assert.ok(stored, 'the event reached Botpulse');
    assert.equal(stored.tags['exit_mode'], 'signal');
    assert.match((stored.payload as any).exception.values.at(-1).value, /shutting down mid-send \(signal\)/);
  });

  it('control: without flushOnExit, SIGTERM kills the child and the queued event is lost', async () => {
    const run = await startChild('signal', false);
    run.child.kill('SIGTERM');
    const exit = await run.finish();
    assert.equal(exit.signal, 'SIGTERM');
    assert.deepEqual(run.relay.answers, [503]);
    assert.equal(await storedEvent(run.eventId), null, 'the event never reached Botpulse');
  });

  it('a program that simply ends: beforeExit flushes the queued event, then the process exits 0', async () => {
    const run = await startChild('end', true);
    const exit = await run.finish();
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `stderr: ${exit.stderr}`);
    assert.deepEqual(run.relay.answers, [503, 200]);
    const stored = await storedEvent(run.eventId);
    assert.ok(stored, 'the event reached Botpulse');
    assert.equal(stored.tags['exit_mode'], 'end');
  });

  it('control: without flushOnExit, a program that ends leaves its queued event behind', async () => {
    const run = await startChild('end', false);
    const exit = await run.finish();
    assert.equal(exit.code, 0);
    assert.deepEqual(run.relay.answers, [503]);
    assert.equal(await storedEvent(run.eventId), null, 'the event never reached Botpulse');
    // Left in the disk queue this test gave the child (for its next start), not in the shared
    // <tmpdir>/botpulse-sdk/<hash> that every test on the machine would see.
    assert.equal(exit.queuedFiles.length, 1, `one file in the child's own disk queue: ${exit.queuedFiles.join(', ')}`);
  });
});
