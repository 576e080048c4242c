import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IssueAlertItem, MonitorAlertItem } from '../../items.js';
import { downText, recoveredText } from '../../../monitors/format.js';
import { callbackData, clip, escapeHtml, formatAlert, parseCallbackData, render, visibleLength } from './format.js';

const item = (over: Partial<IssueAlertItem> = {}): IssueAlertItem => ({
  kind: 'issue',
  tier: 'alert',
  reasons: ['new'],
  project: { id: 1, slug: 'pay-bot', name: 'Pay Bot' },
  issueId: 12,
  shortId: 'PAY-012',
  title: 'TypeError: boom',
  culprit: 'payments.js in chargeUser',
  level: 'error',
  status: 'new',
  environment: 'production',
  release: 'pay-bot@1.4.2',
  eventsSince: 1,
  usersSince: 1,
  totalEvents: 1,
  totalUsers: 1,
  firstSeen: 0,
  lastSeen: 0,
  frames: [{ location: 'chargeUser (/app/src/payments.js:41)', code: 'if (a < b) {' }],
  telegram: { chatId: '4242', userId: '4242', username: 'alice', updateType: 'message' },
  url: 'https://errors.example.com/issues/12',
  ...over,
});

/** A forwarded monitor notification, its text written by monitors/format.ts as the monitors do. */
const monitor = (over: Partial<MonitorAlertItem> = {}): MonitorAlertItem => ({
  kind: 'monitor',
  tier: 'critical',
  project: { id: 1, slug: 'pay-bot', name: 'Pay Bot' },
  text: downText({ project: 'Pay <Bot>', slug: 'poller' }, { lastPingAt: Date.UTC(2025, 0, 1, 12, 0), periodMs: 60_000, graceMs: 30_000 }, 'no heartbeat & no check-in', 'https://errors.example.com/monitors#monitor-3', Date.UTC(2025, 0, 1, 12, 5)),
  payload: { kind: 'down', monitor: 'poller' },
  monitorId: 3,
  notificationId: 41,
  url: 'https://errors.example.com/monitors#monitor-3',
  ...over,
});

/** A strict check of the HTML we emit: only Telegram's tags, balanced, and no bare `&` or `<`. */
function assertValidTelegramHtml(html: string): void {
  const stack: string[] = [];
  for (const m of html.matchAll(/<(\/?)([a-z]+)[^>]*>/g)) {
    assert.ok(['b', 'i', 'code', 'pre', 'a'].includes(m[2]!), `unexpected tag ${m[0]}`);
    if (m[1]) assert.equal(stack.pop(), m[2], `unbalanced ${m[0]}`);
    else stack.push(m[2]!);
  }
  assert.deepEqual(stack, []);
  const text = html.replace(/<[^>]*>/g, '');
  assert.doesNotMatch(text, /&(?!(lt|gt|amp|quot);)/, 'bare &');
  assert.doesNotMatch(text, /[<>]/, 'bare < or >');
}

describe('a forbidden log pattern alert (docs/logs.md)', () => {
  const line = `Database connection lost: <pool> & ${'x'.repeat(10_000)}`;
  const logItem = (over: Partial<IssueAlertItem> = {}) =>
    item({ tier: 'critical', level: 'fatal', title: line, culprit: 'forbidden log pattern: Database connection lost', frames: [], telegram: null, log: { pattern: 'Database <connection> lost' }, ...over });

  it('shows the pattern, the line escaped and cut to fit, how many lines matched, and the four buttons', () => {
    const { text, reply_markup } = formatAlert([logItem({ eventsSince: 1, totalEvents: 1 })]);
    assert.match(text, /forbidden log pattern: <code>Database &lt;connection&gt; lost<\/code>/);
    assert.match(text, /<b>Database connection lost: &lt;pool&gt; &amp; x+…<\/b>/, 'the line, escaped, cut with an ellipsis');
    assert.ok(visibleLength(text) <= 4096 && text.length < 4096);
    assert.match(text, /\n1 matching line\n/);
    assert.doesNotMatch(text, /\busers?\b|\bevents?\b/, 'lines, not events and users');
    assert.deepEqual(reply_markup.inline_keyboard.map((row) => row.map((b) => b.text)), [['👀 Acknowledge', '✅ Resolve'], ['🔕 Mute 1 h', '🔕 Mute 24 h']]);
    assert.deepEqual(reply_markup.inline_keyboard.flat().map((b) => b.callback_data), ['bp:ack:12', 'bp:res:12', 'bp:m1h:12', 'bp:m24h:12']);
  });

  it('says "at least" when more lines matched than became events (past 60 a minute per pattern)', () => {
    const storm = formatAlert([logItem({ reasons: ['repeat'], eventsSince: 60, totalEvents: 61, log: { pattern: 'Queue full', matched: 5000 } })]).text;
    assert.match(storm, /at least 60 matching lines since the last message \(5000 in total\)/);
    const calm = formatAlert([logItem({ eventsSince: 2, totalEvents: 2, log: { pattern: 'Queue full', matched: 2 } })]).text;
    assert.match(calm, /\n2 matching lines\n/);
  });

  it('counts the lines since the last message on a repeat, and keeps the pattern in a grouped message', () => {
    assert.match(formatAlert([logItem({ reasons: ['repeat'], eventsSince: 3, totalEvents: 5 })]).text, /3 matching lines since the last message \(5 in total\)/);
    const grouped = formatAlert([logItem(), item({ issueId: 13, shortId: 'PAY-013' })]).text;
    assert.match(grouped, /forbidden log pattern: <code>Database &lt;connection&gt; lost<\/code>/);
    assert.match(grouped, /in <code>payments\.js in chargeUser<\/code>/, 'another issue keeps its culprit');
  });
});

describe('Telegram alert formatting', () => {
  it('escapes the four characters Telegram HTML needs escaped', () => {
    assert.equal(escapeHtml('<b>&"x"</b>'), '&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;');
  });

  it('clips without splitting a surrogate pair and marks the cut', () => {
    assert.equal(clip('abcdef', 4), 'abc…');
    assert.equal(clip('ab😀cd', 4), 'ab…');
    assert.equal(clip('short', 10), 'short');
  });

  it('shows the issue, counts, culprit, stack in <pre>, Telegram context and a dashboard link', () => {
    const { text, reply_markup } = formatAlert([item()]);
    assertValidTelegramHtml(text);
    assert.match(text, /<code>PAY-012<\/code>/);
    assert.match(text, /<pre>at chargeUser \(\/app\/src\/payments.js:41\)\n {4}if \(a &lt; b\) \{<\/pre>/);
    assert.match(text, /Telegram: chat <code>4242<\/code> · user <code>4242<\/code> @alice · message/);
    assert.match(text, /<a href="https:\/\/errors.example.com\/issues\/12">Open in dashboard<\/a>/);
    assert.deepEqual(reply_markup.inline_keyboard.flat().map((b) => b.callback_data), ['bp:ack:12', 'bp:res:12', 'bp:m1h:12', 'bp:m24h:12']);
  });

  it('says what happened since the last message', () => {
    const { text } = formatAlert([item({ reasons: ['frequency'], eventsSince: 500, usersSince: 3, totalEvents: 501, totalUsers: 4 })]);
    assert.match(text, /500 events · 3 users since the last message \(501 in total\)/);
  });

  it('keeps a huge title and stack of markup under the limit, valid and escaped', () => {
    const nasty = '<script>&amp;</script> & < > '.repeat(200);
    const frames = Array.from({ length: 20 }, (_, i) => ({ location: `f${i} <${'x'.repeat(500)}>`, code: `a < b && c > d ${'&'.repeat(500)}` }));
    for (const items of [[item({ title: nasty, culprit: nasty, frames })], Array.from({ length: 8 }, (_, i) => item({ issueId: i + 1, shortId: `PAY-00${i}`, title: nasty, culprit: nasty, frames }))]) {
      const { text } = formatAlert(items);
      assertValidTelegramHtml(text);
      assert.ok(visibleLength(text) <= 4096, `${visibleLength(text)} visible characters`);
      assert.ok(text.includes('&lt;script&gt;&amp;amp;'));
    }
  });

  it('groups several alerts of a project into one message with a row of buttons per issue', () => {
    const { text, reply_markup } = formatAlert([item(), item({ issueId: 13, shortId: 'PAY-013', tier: 'critical', reasons: ['level'] })]);
    assertValidTelegramHtml(text);
    assert.match(text, /🔴 <b>2 alerts<\/b> · Pay Bot/);
    assert.equal(reply_markup.inline_keyboard.length, 2);
    assert.deepEqual(reply_markup.inline_keyboard[1]!.map((b) => b.text), ['👀 PAY-013', '✅ PAY-013', '🔕 1h PAY-013']);
  });

  it('shows who pressed what and offers Reopen once resolved', () => {
    const { text, reply_markup } = formatAlert([item({ status: 'resolved' })], [{ issueId: 12, action: 'res', by: '@ada <admin>', at: Date.UTC(2025, 0, 1, 12, 34) }]);
    assert.match(text, /✅ Resolved by @ada &lt;admin&gt; at 12:34 UTC/);
    assert.deepEqual(reply_markup.inline_keyboard.flat().map((b) => b.text), ['↩️ Reopen']);
  });

  it('shows a monitor notification as its own text, without buttons', () => {
    const m = monitor();
    const { text, reply_markup } = formatAlert([m]);
    assert.equal(text, m.text);
    assertValidTelegramHtml(text);
    assert.deepEqual(reply_markup.inline_keyboard, []);
  });

  it('mixes issues and monitor notifications of a project in one message: the issue keeps its buttons, a button press keeps the monitor text', () => {
    const recovered = monitor({ tier: 'alert', text: recoveredText({ project: 'Pay Bot', slug: 'poller' }, 125_000, 'https://errors.example.com/monitors#monitor-3'), notificationId: 42 });
    const items = [item(), monitor(), recovered];
    const { text, reply_markup } = formatAlert(items);
    assertValidTelegramHtml(text);
    assert.match(text, /^🔴 <b>3 alerts<\/b> · Pay Bot/);
    assert.ok(text.includes(monitor().text) && text.includes(recovered.text), text);
    assert.ok(text.indexOf('PAY-012') < text.indexOf('Bot down') && text.indexOf('Bot down') < text.indexOf('Bot recovered'), 'in the order given');
    assert.deepEqual(reply_markup.inline_keyboard.flat().map((b) => b.callback_data), ['bp:ack:12', 'bp:res:12', 'bp:m1h:12', 'bp:m24h:12'], 'the one issue\'s buttons');

    // The stored message, re-rendered after a press (channels/telegram/bot.ts `refresh`), as JSON went through the store.
    const stored = JSON.parse(JSON.stringify({ layout: 'alert', items: [item({ status: 'resolved' }), monitor(), recovered] }));
    const again = render(stored, [{ issueId: 12, action: 'res', by: '@ada', at: Date.UTC(2025, 0, 1, 12, 34) }]);
    assertValidTelegramHtml(again.text);
    assert.match(again.text, /✅ Resolved by @ada at 12:34 UTC/);
    assert.ok(again.text.includes(monitor().text) && again.text.includes(recovered.text), again.text);
    assert.deepEqual(again.reply_markup.inline_keyboard.flat().map((b) => b.callback_data), ['bp:reo:12']);
  });

  it('keeps a long mix under the limit: monitor notifications shrink to their first line and a link', () => {
    const nasty = '<script>&amp;</script> & < > '.repeat(200);
    const frames = Array.from({ length: 20 }, (_, i) => ({ location: `f${i} <${'x'.repeat(500)}>`, code: `a < b && c > d ${'&'.repeat(500)}` }));
    const items = [
      ...Array.from({ length: 6 }, (_, i) => item({ issueId: i + 1, shortId: `PAY-00${i}`, title: nasty, culprit: nasty, frames })),
      monitor({ text: downText({ project: 'Pay Bot', slug: 'poller' }, { lastPingAt: null, periodMs: 60_000, graceMs: 0 }, nasty.repeat(2), 'https://errors.example.com/monitors#monitor-3', Date.UTC(2025, 0, 1)) }),
      monitor({ notificationId: 43 }),
    ];
    const { text } = formatAlert(items);
    assertValidTelegramHtml(text);
    assert.ok(visibleLength(text) <= 4096, `${visibleLength(text)} visible characters`);
    assert.match(text, /🔴 <b>Bot down<\/b>: Pay Bot · <code>poller<\/code> · <a href="https:\/\/errors.example.com\/monitors#monitor-3">open<\/a>/);
  });

  it('round-trips callback data well under 64 bytes', () => {
    const data = callbackData('m24h', 2 ** 53 - 1);
    assert.ok(Buffer.byteLength(data) <= 64);
    assert.deepEqual(parseCallbackData(data), { action: 'm24h', issueId: 2 ** 53 - 1 });
    assert.equal(parseCallbackData('bp:drop:1'), null);
    assert.equal(parseCallbackData('something else'), null);
  });
});
