// guardWebhook keeps its promises in a real process (issue 10): the docs' Express set-up, built SDK,
// grammY webhookCallback, updates pushed by the fake Telegram, events read back from Botpulse.
// - A handler that runs past the guard's answer and past grammY's own webhook timeout, then throws,
//   leaves a rejected promise nobody handles (grammY's timeout dangles it): the process lives on,
//   the error is reported once (not fatal), and the guard's timeout warning names the update.
// - A malformed body is reported, whether the guard reads it or an app-wide express.json() does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeTelegram } from '../../packages/fake-telegram/src/index.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { eventsFromApi, eventually, startBot, type BotRun } from './sdk-support/bot-process.js';

const BOB = { id: 848484, first_name: 'Bob', username: 'bob_w', language_code: 'de' };
const GUARD_TIMEOUT_MS = 300;
const GRAMMY_TIMEOUT_MS = 700;
const SLOW_MS = 1500;

describe('guardWebhook in a real Express process', () => {
  let tg: FakeTelegram;
  let server: TestServer;
  let token: string;
  let bot: BotRun;
  let port: number;

  before(async () => {
    // Telegram waits longer than the slow handler: the only answer is the guard's.
    tg = await FakeTelegram.start({ webhookTimeoutMs: 5000, webhookRetryDelayMs: 200 });
    server = await startTestServer();
    ({ token } = tg.createBot());
    bot = startBot({
      script: 'webhook-bot.mjs',
      scenario: 'webhook',
      token,
      tg,
      server,
      env: { GUARD_TIMEOUT_MS: String(GUARD_TIMEOUT_MS), GRAMMY_TIMEOUT_MS: String(GRAMMY_TIMEOUT_MS), SLOW_MS: String(SLOW_MS) },
    });
    port = Number(await eventually(async () => /listening (\d+)/.exec(bot.stdout())?.[1] ?? (bot.child.exitCode !== null ? 'dead' : undefined), 'the webhook server'));
    assert.ok(port > 0, `the bot listens (stderr: ${bot.stderr()})`);
  });
  after(async () => {
    bot.kill();
    await tg.stop();
    await server.close();
  });

  const thrown = (event: any) => event.payload?.exception?.values?.at(-1);

  it('a handler that throws after the guard answered and after grammY timed out: the process lives, one non-fatal event, the warning names the update', async () => {
    const { update } = tg.sendMessage(token, 'slow-crash', { from: BOB });
    await tg.waitFor(() => tg.webhookDeliveries(token).some((d) => d.updateId === update.update_id), { what: 'the guard to answer' });
    const delivery = tg.webhookDeliveries(token).find((d) => d.updateId === update.update_id)!;
    assert.equal(delivery.status, 200);

    const late = await eventually(async () => (await eventsFromApi(server)).find((e) => thrown(e)?.value === 'report generation failed after the deadline'), 'the late error event');
    // The process survived the rejection: it still answers the next update.
    tg.sendMessage(token, 'still there?', { from: BOB });
    await tg.waitForMessages(token, BOB.id, 1, { timeoutMs: 60_000 });
    assert.deepEqual(tg.chat(token, BOB.id).texts, ['echo: still there?']);
    assert.equal(bot.child.exitCode, null, `the process is alive (stderr: ${bot.stderr()})`);

    const events = await eventsFromApi(server);
    assert.equal(events.filter((e) => thrown(e)?.value === 'report generation failed after the deadline').length, 1, 'reported once');
    assert.notEqual(late.payload.level, 'fatal', 'it did not end the process');
    assert.equal(thrown(late).mechanism.handled, false);
    assert.equal(late.payload.contexts.telegram.update_id, update.update_id);

    const warning = events.find((e) => e.payload.tags?.webhook_timeout === 'true');
    assert.ok(warning, 'the timeout warning is stored');
    assert.match(warning.payload.message ?? warning.payload.logentry?.message, new RegExp(`exceeded ${GUARD_TIMEOUT_MS} ms`));
    assert.equal(warning.payload.contexts.telegram.update_id, update.update_id, 'the warning carries the update it was about');
    assert.equal(warning.payload.contexts.telegram.user_id, BOB.id);
    assert.equal(warning.payload.user.id, String(BOB.id));
    assert.ok(!events.some((e) => /timed out after/.test(thrown(e)?.value ?? '')), "grammY's own timeout error is not reported (the guard's warning says it)");
  });

  it('a malformed body read by the guard: answered 400 and reported', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/telegram`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"update_id": 1, "message": {oops' });
    assert.equal(res.status, 400);
    const event = await eventually(async () => (await eventsFromApi(server)).find((e) => /webhook body is not valid JSON/.test(thrown(e)?.value ?? '')), 'the malformed-body event');
    assert.equal(thrown(event).mechanism.type, 'webhook.body');
    assert.equal(event.payload.contexts.webhook.path, '/telegram');
    assert.ok(!JSON.stringify(event).includes('oops'), 'the body itself is not in the event');
  });

  it('a malformed body answered by an app-wide express.json(): expressErrorHandler reports it, Express still answers 400', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/telegram-json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"update_id": 2, oops' });
    assert.equal(res.status, 400);
    const event = await eventually(
      async () => (await eventsFromApi(server)).find((e) => thrown(e)?.mechanism?.type === 'express.error_handler' && e.payload.contexts.webhook.path === '/telegram-json'),
      'the body-parser error event',
    );
    assert.equal(event.payload.contexts.webhook.status, 400);
    assert.equal(bot.child.exitCode, null);
  });
});
