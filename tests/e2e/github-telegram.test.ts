// The 🐙 button on an issue's Telegram alert creates its GitHub issue (docs/github.md): an admin's
// press queues one, presses again answer the same one, a stranger's press changes nothing, and the
// message then says "GitHub: #1" and offers the button no more.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeGithub } from '../../packages/server/src/test-support/fake-github.js';
import { ADMIN, ALERT_CHAT, STRANGER, errorEvent, startAlertHarness, type AlertHarness } from './alerts-support/harness.js';

type Keyboard = { inline_keyboard: { text: string; callback_data: string }[][] };
const buttonsOf = (markup: unknown) => (markup as Keyboard | undefined)?.inline_keyboard.flat() ?? [];
const TOKEN = 'github_pat_11ABCDEFG0123456789_telegram_telegram_TOKEN';

describe('creating a GitHub issue from a Telegram alert', () => {
  let h: AlertHarness;
  let fake: FakeGithub;
  before(async () => {
    fake = await FakeGithub.start({ tokens: { [TOKEN]: 'botpulse-app' }, repos: ['acme/pay-bot'] });
    h = await startAlertHarness({ BOTPULSE_GITHUB_API_URL: fake.url, BOTPULSE_GITHUB_TOKEN: TOKEN, BOTPULSE_GITHUB: JSON.stringify({ 'test-bot': { repo: 'acme/pay-bot' } }) }, { github: { idleMs: 50 } });
    await h.tg.waitFor(() => h.tg.isPolling(h.token), { what: 'the alert bot polling' });
  });
  after(async () => {
    await h.close();
    await fake.close();
  });

  it('offers the button, refuses a stranger, creates one issue for an admin however often pressed, and shows the link', async () => {
    await h.post(errorEvent('checkout-crash'));
    const [alert] = (await h.waitForMessages(1)) as ReturnType<AlertHarness['messages']>;
    const issue = await h.issueByFingerprint('checkout-crash');
    const button = buttonsOf(alert!.replyMarkup).find((b) => b.callback_data === `bp:gh:${issue.id}`);
    assert.equal(button?.text, '🐙 Create GitHub issue');

    const refused = h.tg.pressButton(h.token, { chatId: ALERT_CHAT, messageId: alert!.messageId, data: `bp:gh:${issue.id}`, from: STRANGER });
    assert.match((await h.tg.waitForCallbackAnswer(h.token, refused.queryId)).text ?? '', /Not allowed/);
    assert.equal(await h.server.botpulse.github.links.getLink(issue.id), null, "a stranger's press changes nothing");

    const presses = [1, 2, 3].map(() => h.tg.pressButton(h.token, { chatId: ALERT_CHAT, messageId: alert!.messageId, data: `bp:gh:${issue.id}`, from: ADMIN }));
    for (const p of presses) assert.match((await h.tg.waitForCallbackAnswer(h.token, p.queryId)).text ?? '', /GitHub issue/);
    const link = await h.tg.waitFor(async () => {
      const l = await h.server.botpulse.github.links.getLink(issue.id);
      return l?.state === 'linked' ? l : null;
    }, { what: 'the GitHub issue' });
    assert.equal(link.requestedBy, 'telegram:@ada_oncall');
    assert.equal(fake.repoIssues('acme/pay-bot').length, 1, 'one GitHub issue for three presses');

    // The next press re-renders the message with the issue as it is now.
    const ack = h.tg.pressButton(h.token, { chatId: ALERT_CHAT, messageId: alert!.messageId, data: `bp:ack:${issue.id}`, from: ADMIN });
    await h.tg.waitForCallbackAnswer(h.token, ack.queryId);
    const edited = await h.tg.waitFor(() => {
      const m = h.tg.chat(h.token, ALERT_CHAT).message(alert!.messageId);
      return m && /GitHub: #1/.test(m.text ?? '') ? m : null;
    }, { what: 'the message showing the link' });
    assert.ok(!buttonsOf(edited.replyMarkup).some((b) => b.callback_data.startsWith('bp:gh:')), 'no button once linked');
  });
});
