// Alerts end to end: a real Botpulse server, events posted as an SDK would, and Botpulse's alert
// bot talking to the fake Telegram. Cooldowns and repeats are seconds here (the keys take
// decimals), so the suite runs in seconds without an injected clock.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALERT_CHAT, errorEvent, sleep, startAlertHarness, type AlertHarness } from './alerts-support/harness.js';

describe('alerts in Telegram: new issues and the cooldown', () => {
  let h: AlertHarness;
  before(async () => {
    // 12 s: 500 posts and their digest must fit well inside it even on a busy 2-core CI machine.
    h = await startAlertHarness({ ERROR_ALERT_COOLDOWN: '12' });
  });
  after(async () => h.close());

  it('sends one message with buttons for a new issue, then one message summing 500 events after the cooldown', async () => {
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
    await h.server.botpulse.alerting.engine.idle();
    const cooldownEnds = first.sentAt + 12_000;
    assert.ok(Date.now() < cooldownEnds - 500, `the 500 events were digested inside the cooldown (${cooldownEnds - Date.now()} ms left)`);
    assert.equal(h.messages().length, 1, 'no second message inside the cooldown');

    const messages = (await h.waitForMessages(2, 20_000)) as ReturnType<AlertHarness['messages']>;
    const second = messages[1]!;
    assert.ok(second.sentAt >= cooldownEnds, 'the summary waited for the cooldown');
    assert.match(second.text ?? '', /500 events · 0 users since the last message \(501 in total\)/);
    assert.match(second.text ?? '', /High frequency/);
    await sleep(1000);
    assert.equal(h.messages().length, 2, 'exactly one summary message');
    assert.ok(h.tg.calls({ token: h.token, method: 'sendMessage' }).every((c) => c.params.chat_id == ALERT_CHAT));
  });
});
