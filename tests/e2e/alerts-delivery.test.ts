// Delivery under faults: Telegram's retry_after is honoured; an outage loses nothing and the
// backlog arrives in order, one message per issue; a 5,000-character title with markup stays a valid message.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Faults } from '../../packages/fake-telegram/src/index.js';
import { ALERT_CHAT, errorEvent, sleep, startAlertHarness, type AlertHarness } from './alerts-support/harness.js';

describe('alert delivery when Telegram misbehaves', () => {
  let h: AlertHarness;
  before(async () => {
    h = await startAlertHarness({ ERROR_ALERT_COOLDOWN: '1', BOTPULSE_ALERT_FREQUENCY: '3/1m', BOTPULSE_TELEGRAM_UPDATES: 'off' });
  });
  after(async () => h.close());

  it('waits as long as a 429 retry_after says before sending again', async () => {
    h.tg.fail(h.token, 'sendMessage', Faults.tooManyRequests(2));
    await h.post(errorEvent('flood-a'));
    await h.waitForMessages(1, 30_000);
    const sends = h.tg.calls({ token: h.token, method: 'sendMessage' });
    assert.equal(sends.length, 2);
    assert.equal(sends[0]!.errorCode, 429);
    assert.ok(sends[1]!.ok);
    const waited = sends[1]!.at - sends[0]!.at;
    // Only a lower bound: on a loaded machine the retry may come later, never sooner.
    assert.ok(waited >= 2000, `waited ${waited} ms after retry_after: 2`);
  });

  it('loses nothing while Telegram is down and sends the backlog in order, one message per issue, when it returns', async () => {
    const before = h.messages().length;
    await h.tg.down();
    await h.post(errorEvent('outage-a'));
    await sleep(50);
    await h.post(errorEvent('outage-b'));
    await sleep(50);
    await h.post(errorEvent('outage-c'));
    // outage-a keeps failing: its frequency rule fires again after the 1 s cooldown. Its first
    // message has not gone out, so the trigger is held (the cooldown counts from the send), not
    // enqueued as a second message.
    await sleep(1200);
    await h.postMany(5, errorEvent('outage-a'), 1);
    await h.server.digested();
    await h.server.botpulse.alerting.engine.idle();
    await sleep(1500);
    const alerts = h.server.botpulse.alerting.alerts;
    const rows = await alerts.outbox({ status: 'pending' });
    const issueA = await h.issueByFingerprint('outage-a');
    assert.equal(rows.filter((r) => r.issueId === issueA.id).length, 1, 'outage-a has one pending row');
    assert.deepEqual((await alerts.getState(`issue:${issueA.id}`))?.pending?.reasons, ['frequency'], 'and its frequency trigger held');

    await h.tg.up();
    const messages = (await h.waitForMessages(before + 1, 30_000)) as ReturnType<AlertHarness['messages']>;
    // The whole backlog out (a condition, not a pause): nothing pending in the outbox.
    for (const deadline = Date.now() + 30_000; (await alerts.outbox({ status: 'pending' })).length > 0; await sleep(25)) {
      assert.ok(Date.now() < deadline, 'the backlog was not sent within 30 s');
    }
    const text = h.messages().slice(before).map((m) => m.text ?? '').join('\n=====\n');
    const at = (name: string) => text.indexOf(`${name}:`);
    for (const name of ['outage-a', 'outage-b', 'outage-c']) assert.ok(at(name) >= 0, `${name} arrived:\n${text}`);
    assert.ok(at('outage-a') < at('outage-b') && at('outage-b') < at('outage-c'), `in order:\n${text}`);
    assert.equal(text.split('outage-a:').length - 1, 1, `outage-a once, with every event:\n${text}`);
    assert.match(text, /6 events · 1 user/, 'its message counts the events of the outage');
    assert.ok(messages.length >= before + 1);
    // The held trigger was covered by that message: no "0 events since" follow-up after the cooldown.
    await sleep(1500);
    assert.equal(h.messages().slice(before).map((m) => m.text ?? '').join('\n').split('outage-a:').length - 1, 1, 'no empty follow-up');
    const after = await alerts.outbox({});
    assert.equal(after.filter((r) => r.status === 'pending').length, 0);
    assert.equal((await alerts.getState(`issue:${issueA.id}`))?.pending, null);
  });

  it('escapes and truncates a 5,000-character title and stack full of < and & into a valid message', async () => {
    const before = h.messages().length;
    const nasty = '<b>&amp; & < > "quoted" ' + 'x<&'.repeat(1700);
    await h.post(
      errorEvent('huge-title', {
        exception: {
          values: [
            {
              type: 'Error',
              value: `huge-title: ${nasty}`,
              stacktrace: {
                frames: Array.from({ length: 30 }, (_, i) => ({
                  filename: `/app/src/${'deep/'.repeat(40)}file${i}.js`,
                  function: `fn<${i}>&`,
                  lineno: i,
                  in_app: true,
                  context_line: `if (a < b && c > d) { ${'y'.repeat(3000)} }`,
                })),
              },
            },
          ],
        },
        message: nasty,
      }),
    );
    const messages = (await h.waitForMessages(before + 1)) as ReturnType<AlertHarness['messages']>;
    const message = messages[before]!;
    assert.ok((message.text ?? '').length <= 4096, `${message.text?.length} characters`);
    assert.match(message.text ?? '', /huge-title: <b>&amp; & < > "quoted"/, 'markup shown as text');
    assert.match(message.text ?? '', /…/);
    const failed = h.tg.calls({ token: h.token, method: 'sendMessage', ok: false }).filter((c) => c.errorCode !== 429);
    assert.deepEqual(failed.map((c) => c.description), []);
  });
});
