// Buttons and commands on the alert bot: an admin's press changes the issue and edits the message,
// a stranger's press is refused and changes nothing; critical alerts repeat until acknowledged.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN, ALERT_CHAT, STRANGER, errorEvent, sleep, startAlertHarness, type AlertHarness } from './alerts-support/harness.js';

type Keyboard = { inline_keyboard: { text: string; callback_data: string }[][] };
const buttonsOf = (markup: unknown) => (markup as Keyboard | undefined)?.inline_keyboard.flat() ?? [];

describe('alert buttons and commands', () => {
  let h: AlertHarness;
  before(async () => {
    h = await startAlertHarness({ ERROR_ALERT_COOLDOWN: '2', BOTPULSE_ALERT_CRITICAL_REPEAT_MINUTES: '0.025' });
    await h.tg.waitFor(() => h.tg.isPolling(h.token), { what: 'the alert bot polling' });
  });
  after(async () => h.close());

  it('refuses a stranger, resolves for an admin, edits the message, and alerts again on regression', async () => {
    await h.post(errorEvent('refund-crash'));
    const [alert] = (await h.waitForMessages(1)) as ReturnType<AlertHarness['messages']>;
    const issue = await h.issueByFingerprint('refund-crash');

    const refused = h.tg.pressButton(h.token, { chatId: ALERT_CHAT, messageId: alert!.messageId, data: `bp:res:${issue.id}`, from: STRANGER });
    const refusal = await h.tg.waitForCallbackAnswer(h.token, refused.queryId);
    assert.match(refusal.text ?? '', /Not allowed/);
    assert.equal(refusal.showAlert, true);
    await sleep(200);
    assert.equal((await h.server.botpulse.store.getIssue(issue.id))!.status, 'new', "a stranger's press changes nothing");
    assert.equal(h.tg.chat(h.token, ALERT_CHAT).message(alert!.messageId)!.versions.length, 1, 'and edits nothing');

    const pressed = h.tg.pressButton(h.token, { chatId: ALERT_CHAT, messageId: alert!.messageId, data: `bp:res:${issue.id}`, from: ADMIN });
    const answer = await h.tg.waitForCallbackAnswer(h.token, pressed.queryId);
    assert.match(answer.text ?? '', /Resolved/);
    const edited = await h.tg.waitFor(() => {
      const m = h.tg.chat(h.token, ALERT_CHAT).message(alert!.messageId);
      return m && m.versions.length > 1 ? m : null;
    }, { what: 'the alert edited' });
    assert.match(edited.text ?? '', /✅ Resolved by @ada_oncall at \d\d:\d\d UTC/);
    assert.deepEqual(buttonsOf(edited.replyMarkup).map((b) => b.text), ['↩️ Reopen']);
    assert.equal((await h.server.botpulse.store.getIssue(issue.id))!.status, 'resolved');
    // The answer came before the edit: Telegram's spinner stops at once.
    const calls = h.tg.calls({ token: h.token });
    const answerAt = calls.findIndex((c) => c.method === 'answerCallbackQuery' && c.params.callback_query_id === pressed.queryId);
    const editAt = calls.findIndex((c) => c.method === 'editMessageText');
    assert.ok(answerAt >= 0 && answerAt < editAt);

    await h.post(errorEvent('refund-crash'));
    const messages = (await h.waitForMessages(2)) as ReturnType<AlertHarness['messages']>;
    assert.match(messages[1]!.text ?? '', /Regression/);
    assert.match(messages[1]!.text ?? '', /refund-crash/);
  });

  it('repeats a critical alert until someone presses Acknowledge, then stops', async () => {
    const before = h.messages().length;
    await h.post(errorEvent('db-lost', { level: 'fatal' }));
    const first = ((await h.waitForMessages(before + 1)) as ReturnType<AlertHarness['messages']>)[before]!;
    assert.match(first.text ?? '', /CRITICAL/);
    const all = (await h.waitForMessages(before + 3, 60_000)) as ReturnType<AlertHarness['messages']>;
    assert.match(all[before + 1]!.text ?? '', /Still unacknowledged/);
    assert.match(all[before + 2]!.text ?? '', /Still unacknowledged/);
    const issue = await h.issueByFingerprint('db-lost');

    const latest = all[all.length - 1]!;
    const pressed = h.tg.pressButton(h.token, { chatId: ALERT_CHAT, messageId: latest.messageId, data: `bp:ack:${issue.id}`, from: ADMIN });
    await h.tg.waitForCallbackAnswer(h.token, pressed.queryId);
    await h.tg.waitFor(() => (h.tg.chat(h.token, ALERT_CHAT).message(latest.messageId)!.versions.length > 1 ? true : null), { what: 'the edit' });
    assert.equal((await h.server.botpulse.store.getIssue(issue.id))!.status, 'in_progress');
    const count = h.messages().length;
    await sleep(4000); // more than two repeat intervals
    assert.equal(h.messages().length, count, 'no repeat after Acknowledge');
  });

  it("records each press in the issue's history with who pressed it, and Acknowledge assigns a linked presser", async () => {
    const store = h.server.botpulse.store;
    await store.addUser('ada', 'not-a-real-hash');
    assert.equal(await store.setUserTelegram('ada', '@Ada_Oncall'), true);
    const before = h.messages().length;
    await h.post(errorEvent('story-crash'));
    const alert = ((await h.waitForMessages(before + 1)) as ReturnType<AlertHarness['messages']>)[before]!;
    const issue = await h.issueByFingerprint('story-crash');
    const press = async (action: string) => {
      const versions = h.tg.chat(h.token, ALERT_CHAT).message(alert.messageId)!.versions.length;
      const pressed = h.tg.pressButton(h.token, { chatId: ALERT_CHAT, messageId: alert.messageId, data: `bp:${action}:${issue.id}`, from: ADMIN });
      await h.tg.waitForCallbackAnswer(h.token, pressed.queryId);
      return h.tg.waitFor(() => {
        const m = h.tg.chat(h.token, ALERT_CHAT).message(alert.messageId)!;
        return m.versions.length > versions ? m : null;
      }, { what: `the edit after ${action}` });
    };
    const acked = await press('ack');
    assert.match(acked.text ?? '', /Acknowledged by @ada_oncall/);
    assert.equal((await store.getIssue(issue.id))!.assignee, 'ada', 'the linked presser takes the issue');
    const resolved = await press('res');
    assert.match(resolved.text ?? '', /Resolved by @ada_oncall/);
    await h.post(errorEvent('story-crash'));
    for (let i = 0; (await store.getIssue(issue.id))!.status !== 'new'; i++) {
      assert.ok(i < 300, 'the regression is digested');
      await sleep(100);
    }
    const history = await store.issueHistory(issue.id);
    assert.deepEqual(
      history.map((e) => [e.action, e.actor.kind, e.actor.name, e.detail]),
      [
        ['in_progress', 'telegram', '@ada_oncall', {}],
        ['acknowledged', 'telegram', '@ada_oncall', {}],
        ['assigned', 'telegram', '@ada_oncall', { assignee: 'ada' }],
        ['resolved', 'telegram', '@ada_oncall', {}],
        ['regressed', 'system', 'botpulse', { release: 'pay-bot@1.4.2' }],
      ],
      'the history says what the message edits said, in order, and the regression by the system',
    );
    // The regression's own alert, before the next test counts messages (it came late under load).
    const regression = ((await h.waitForMessages(before + 2)) as ReturnType<AlertHarness['messages']>)[before + 1]!;
    assert.match(regression.text ?? '', /Regression/);
    assert.match(regression.text ?? '', /story-crash/);
  });

  it('answers /status, /issues with buttons, and /mute from an admin', async () => {
    const ping = await fetch(`${h.server.url}/api/${h.server.project.id}/heartbeat/poller?sentry_key=${h.server.project.publicKey}`);
    assert.equal(ping.status, 200);
    const before = h.messages().length;
    h.tg.sendCommand(h.token, 'status', { from: ADMIN.id, chatId: ALERT_CHAT });
    await h.waitForMessages(before + 1);
    const status = h.messages()[before]!;
    assert.match(status.text ?? '', /Test Bot: \d+ open issues?/);
    assert.match(status.text ?? '', /last event/);
    // The monitors summary (main.ts's statusExtras provider): per project, states and the last ping.
    assert.match(status.text ?? '', /Monitors\n🟢 Test Bot: 1 up · last ping \d+ s ago/);
    assert.doesNotMatch(status.text ?? '', /none configured yet/);

    h.tg.sendCommand(h.token, 'issues', { from: ADMIN.id, chatId: ALERT_CHAT });
    await h.waitForMessages(before + 2);
    const list = h.messages()[before + 1]!;
    assert.match(list.text ?? '', /Top open issues/);
    assert.ok(buttonsOf(list.replyMarkup).length > 0);

    await h.post(errorEvent('noisy-cron'));
    await h.waitForMessages(before + 3);
    const issue = await h.issueByFingerprint('noisy-cron');
    h.tg.sendCommand(h.token, 'mute', { args: `${issue.shortId} 2h`, from: ADMIN.id, chatId: ALERT_CHAT });
    await h.waitForMessages(before + 4);
    assert.match(h.messages()[before + 3]!.text ?? '', /muted until/);
    const muted = (await h.server.botpulse.store.getIssue(issue.id))!;
    assert.equal(muted.status, 'ignored');
    assert.ok(muted.ignoreUntil! > Date.now() + 7_000_000);

    h.tg.sendCommand(h.token, 'mute', { args: `${issue.shortId} 2h`, from: STRANGER.id, chatId: ALERT_CHAT });
    await h.waitForMessages(before + 5);
    assert.match(h.messages()[before + 4]!.text ?? '', /Not allowed/);
  });
});
