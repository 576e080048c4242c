// Alerts end to end: a real Botpulse server, events posted as an SDK would, and Botpulse's alert
// bot talking to the fake Telegram. The alert engine's and outbox's clock is injected, so the
// cooldown's end is played exactly, whatever the machine's load.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestSchema, type TestSchema } from '../../packages/server/src/test-support/postgres.js';
import { ALERT_CHAT, errorEvent, startAlertHarness, type AlertHarness } from './alerts-support/harness.js';

// On both stores: the engine reads a batch's alert states and frequency counts at once, which on
// PostgreSQL is its own SQL.
for (const database of ['SQLite', 'PostgreSQL'] as const) describe(`alerts in Telegram: new issues and the cooldown (${database})`, () => {
  let h: AlertHarness;
  let schema: TestSchema | undefined;
  // The engine's and the outbox's clock stands still until the test moves it: however long 500
  // posts take on a loaded machine, they are all inside the cooldown, and its end is played exactly.
  // The outbox's idle timer (which runs the follow-up pass) is an hour, so the test runs that pass
  // itself, at the moments it chooses; an enqueued message still wakes the sender at once.
  const COOLDOWN_MS = 12_000;
  let now = Date.now();
  before(async () => {
    schema = database === 'PostgreSQL' ? await createTestSchema('alerts_e2e') : undefined;
    const store = schema ? { BOTPULSE_DATABASE_URL: schema.url.reveal() } : {};
    h = await startAlertHarness({ ERROR_ALERT_COOLDOWN: String(COOLDOWN_MS / 1000), ...store }, { alerting: { now: () => now, sender: { idleMs: 3_600_000 } } });
  });
  after(async () => {
    await h?.close();
    await schema?.drop();
  });

  it('sends one message with buttons for a new issue, then one message summing 500 events after the cooldown', async () => {
    const { engine, sender } = h.server.botpulse.alerting;
    const firstAt = now;
    await h.post(errorEvent('checkout-crash'));
    const [first] = (await h.waitForMessages(1)) as ReturnType<AlertHarness['messages']>;
    assert.ok(first);
    assert.match(first.text ?? '', /New issue/);
    assert.match(first.text ?? '', /checkout-crash/);
    assert.match(first.text ?? '', /Test Bot/);
    assert.match(first.text ?? '', /chargeUser/);
    const buttons = (first.replyMarkup as { inline_keyboard: { text: string; callback_data: string }[][] }).inline_keyboard.flat();
    assert.deepEqual(
      buttons.map((b) => b.text),
      ['👀 Acknowledge', '✅ Resolve', '🔕 Mute 1 h', '🔕 Mute 24 h'],
    );
    for (const b of buttons) assert.ok(Buffer.byteLength(b.callback_data) <= 64);

    await h.postMany(500, errorEvent('checkout-crash'));
    await h.server.digested();
    await engine.idle();
    // One millisecond before the cooldown ends: a follow-up pass and an outbox turn send nothing.
    now = firstAt + COOLDOWN_MS - 1;
    assert.equal(await engine.followUps(), 0, 'nothing is due inside the cooldown');
    assert.equal(await sender.tick(), 0);
    assert.equal(h.messages().length, 1, 'no second message inside the cooldown');

    now = firstAt + COOLDOWN_MS;
    assert.equal(await engine.followUps(), 1, 'the summary is due when the cooldown ends');
    const messages = (await h.waitForMessages(2, 60_000)) as ReturnType<AlertHarness['messages']>;
    const second = messages[1]!;
    assert.match(second.text ?? '', /500 events · 0 users since the last message \(501 in total\)/);
    assert.match(second.text ?? '', /High frequency/);
    await h.server.digested();
    await engine.idle();
    assert.equal(await engine.followUps(), 0, 'nothing else is due');
    assert.equal(await sender.tick(), 0);
    assert.equal(h.messages().length, 2, 'exactly one summary message');
    assert.ok(h.tg.calls({ token: h.token, method: 'sendMessage' }).every((c) => c.params.chat_id == ALERT_CHAT));
  });
});
