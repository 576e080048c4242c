import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiCallRecorder } from './api-calls.js';
import { Heartbeat, PollingMonitor } from './heartbeat.js';
import { BotSignals, percentile, updateDate } from './signals.js';
import { memoryClient } from './test-support/memory.js';
import { UpdateScope } from './update-scope.js';

const MINUTE = 60_000;
/** A clock the test moves by hand, starting on a minute boundary. */
function manualClock(start = Date.UTC(2026, 11, 5, 10, 0, 0)) {
  let now = start;
  return { now: () => now, set: (ms: number) => void (now = ms), advance: (ms: number) => void (now += ms), start };
}
const message = (dateSeconds: number, id = 1) => ({ update_id: id, message: { message_id: id, date: dateSeconds, chat: { id: 5, type: 'private' }, text: 'hi' } });

describe('percentile (nearest rank)', () => {
  it('takes the value at rank ceil(q * n)', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 0.5), 50);
    assert.equal(percentile(sorted, 0.95), 95);
    assert.equal(percentile(sorted, 1), 100);
    assert.equal(percentile([7], 0.95), 7);
    assert.equal(percentile([1, 2, 3, 4], 0.5), 2);
    assert.equal(percentile([], 0.5), null);
  });
});

describe('updateDate', () => {
  it('reads the date Telegram gave what the update is about, and none where it has none', () => {
    assert.equal(updateDate(message(100)), 100);
    assert.equal(updateDate({ update_id: 1, edited_message: { date: 100, edit_date: 160 } }), 160, 'an edit is as old as the edit');
    assert.equal(updateDate({ update_id: 1, channel_post: { date: 120 } }), 120);
    assert.equal(updateDate({ update_id: 1, message_reaction: { date: 130 } }), 130);
    assert.equal(updateDate({ update_id: 1, chat_member: { date: 140 } }), 140);
    assert.equal(updateDate({ update_id: 1, chat_boost: { boost: { add_date: 150 } } }), 150);
    // A button pressed today on a message sent yesterday: message.date says nothing about the press.
    assert.equal(updateDate({ update_id: 1, callback_query: { id: 'q', message: { date: 100 } } }), undefined);
    assert.equal(updateDate({ update_id: 1, inline_query: { id: 'q', query: 'x' } }), undefined);
    assert.equal(updateDate({ update_id: 1, poll: { id: 'p' } }), undefined);
    assert.equal(updateDate({ update_id: 1, message: { date: 'yesterday' } }), undefined, 'junk dates are no dates');
  });
});

describe('BotSignals: update lag per minute', () => {
  it('reports p50/p95/max of the lag of each closed minute, with the counts', () => {
    const clock = manualClock();
    const signals = new BotSignals({ now: clock.now });
    // 20 updates in the first minute: 19 waited 2 s, one waited 90 s.
    for (let i = 0; i < 20; i++) {
      clock.set(clock.start + i * 1000);
      const waited = i === 7 ? 90 : 2;
      signals.updateStarted(message(clock.now() / 1000 - waited, i));
    }
    signals.updateStarted({ update_id: 99, callback_query: { id: 'q', message: { date: 1 } } });
    assert.deepEqual(signals.report().minutes, [], 'nothing before the minute closes');
    clock.set(clock.start + MINUTE + 5);
    const [minute] = signals.report().minutes;
    assert.equal(minute!.start, new Date(clock.start).toISOString());
    assert.equal(minute!.updates, 21);
    assert.equal(minute!.dated, 20, 'the callback query has no date to measure');
    assert.equal(minute!.lag_p50_s, 2);
    assert.equal(minute!.lag_p95_s, 2, 'one slow update of 20 is above the 95th percentile');
    assert.equal(minute!.lag_max_s, 90);
  });

  it('never reports a negative lag (a bot clock a little behind Telegram)', () => {
    const clock = manualClock();
    const signals = new BotSignals({ now: clock.now });
    signals.updateStarted(message(clock.now() / 1000 + 3));
    clock.advance(MINUTE);
    assert.equal(signals.report().minutes[0]!.lag_max_s, 0);
  });

  it('closes idle minutes as empty ones and repeats only the last few', () => {
    const clock = manualClock();
    const signals = new BotSignals({ now: clock.now, minutesPerCheckIn: 3 });
    signals.updateStarted(message(clock.now() / 1000 - 1));
    clock.advance(10 * MINUTE);
    const minutes = signals.report().minutes;
    assert.equal(minutes.length, 3, 'at most minutesPerCheckIn minutes');
    assert.deepEqual(minutes.map((m) => Date.parse(m.start) - clock.start), [7 * MINUTE, 8 * MINUTE, 9 * MINUTE], 'the newest closed minutes, oldest first');
    assert.ok(minutes.every((m) => m.updates === 0 && m.lag_p95_s === null));
  });

  it('keeps count and max exact past the sample limit (the percentiles come from a uniform sample)', () => {
    const clock = manualClock();
    const signals = new BotSignals({ now: clock.now, maxLagSamples: 50 });
    for (let i = 0; i < 1000; i++) signals.updateStarted(message(clock.now() / 1000 - (i === 500 ? 300 : 10), i));
    clock.advance(MINUTE);
    const [minute] = signals.report().minutes;
    assert.equal(minute!.dated, 1000);
    assert.equal(minute!.lag_max_s, 300);
    assert.equal(minute!.lag_p50_s, 10);
  });

  it('is fed by the update scope when handling begins', async () => {
    const clock = manualClock();
    const signals = new BotSignals({ now: clock.now });
    const { client } = memoryClient();
    const updates = new UpdateScope(client, { mechanism: 'test', signals });
    await updates.run({}, message(clock.now() / 1000 - 42), async () => undefined);
    clock.advance(MINUTE);
    assert.equal(signals.report().minutes[0]!.lag_max_s, 42);
  });
});

describe('BotSignals: 429 accounting', () => {
  it('counts 429 answers per method and sums retry_after per minute, through the API hook', () => {
    const clock = manualClock();
    const signals = new BotSignals({ now: clock.now });
    const { client } = memoryClient();
    const answer429 = (method: string, retryAfter?: number) =>
      new ApiCallRecorder(client, undefined, method, { chat_id: 1 }, signals).answered({ ok: false, error_code: 429, description: 'Too Many Requests: retry after', ...(retryAfter === undefined ? {} : { parameters: { retry_after: retryAfter } }) });
    answer429('sendMessage', 12);
    answer429('sendMessage', 20);
    answer429('editMessageText', 5);
    answer429('sendPhoto');
    new ApiCallRecorder(client, undefined, 'sendMessage', {}, signals).answered({ ok: false, error_code: 400, description: 'Bad Request: chat not found' });
    new ApiCallRecorder(client, undefined, 'sendMessage', {}, signals).answered({ ok: true, result: {} });
    clock.advance(MINUTE);
    const [minute] = signals.report().minutes;
    assert.equal(minute!.throttled, 4, 'only the 429s');
    assert.equal(minute!.retry_after_s, 37);
    assert.deepEqual(minute!.throttled_methods, { sendMessage: 2, editMessageText: 1, sendPhoto: 1 });
    const counters = client.counters();
    assert.deepEqual(counters.throttled, { sendMessage: 2, editMessageText: 1, sendPhoto: 1 });
    assert.equal(counters.retryAfterSeconds, 37);
  });

  it('names the five most throttled methods and sums the rest as "other"', () => {
    const clock = manualClock();
    const signals = new BotSignals({ now: clock.now });
    const methods = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'];
    methods.forEach((m, i) => {
      for (let n = 0; n <= 7 - i; n++) signals.throttled(m, 1);
    });
    clock.advance(MINUTE);
    const named = signals.report().minutes[0]!.throttled_methods!;
    assert.deepEqual(Object.keys(named), ['a1', 'a2', 'a3', 'a4', 'a5', 'other']);
    assert.equal(named['other'], 3 + 2, 'a6 (3 times) and a7 (twice)');
    assert.equal(Object.values(named).reduce((a, b) => a + b, 0), signals.report().minutes[0]!.throttled, 'nothing lost in the breakdown');
  });
});

describe('Heartbeat with signals', () => {
  it('webhook mode: beats ok without polling, asks getWebhookInfo at most once per interval, carries it', async () => {
    const { client, transport } = memoryClient();
    const signals = new BotSignals();
    let asked = 0;
    let info: Record<string, unknown> = { url: 'https://bot.example/hook', pending_update_count: 57, last_error_date: 1_700_000_000, last_error_message: 'Connection refused' };
    const heartbeat = new Heartbeat({
      client,
      monitor: new PollingMonitor(client),
      monitorSlug: 'hook-bot',
      mode: 'webhook',
      signals,
      webhookInfoIntervalMs: 60_000,
      webhookInfo: async () => {
        asked += 1;
        return info;
      },
    });
    const first = await heartbeat.beat();
    assert.equal(first?.status, 'ok', 'no getUpdates to judge');
    assert.equal(first?.contexts?.['polling'], undefined);
    const webhook = (first?.contexts?.['bot_signals'] as any).webhook;
    assert.deepEqual({ ...webhook, checked_at: undefined }, { checked_at: undefined, url_set: true, pending_update_count: 57, last_error_date: '2023-11-14T22:13:20.000Z', last_error_message: 'Connection refused' });
    assert.ok(!JSON.stringify(first).includes('bot.example'), 'the webhook URL (it may hold a secret path) is never sent');
    info = { url: '', pending_update_count: 0 };
    const second = await heartbeat.beat();
    assert.equal(asked, 1, 'asked once per interval');
    assert.equal((second?.contexts?.['bot_signals'] as any).webhook.pending_update_count, 57, 'the last answer rides on every beat');
    assert.equal(transport.payloads('check_in').length, 2);
  });

  it('webhook mode: a failing getWebhookInfo is reported with the beat, never thrown', async () => {
    const { client } = memoryClient();
    const signals = new BotSignals();
    const heartbeat = new Heartbeat({ client, monitor: new PollingMonitor(client), monitorSlug: 'hook-bot', mode: 'webhook', signals, webhookInfo: () => Promise.reject(new Error('fetch failed')) });
    const beat = await heartbeat.beat();
    assert.equal(beat?.status, 'ok');
    assert.equal((beat?.contexts?.['bot_signals'] as any).webhook.check_error, 'fetch failed');
  });

  it('polling mode: the check-in carries the closed minutes next to contexts.polling', async () => {
    const { client } = memoryClient();
    const clock = manualClock();
    const signals = new BotSignals({ now: clock.now });
    const monitor = new PollingMonitor(client);
    const heartbeat = new Heartbeat({ client, monitor, monitorSlug: 'bot', signals, monitorConfig: false });
    monitor.started({ timeout: 0 });
    monitor.succeeded(1);
    signals.updateStarted(message(clock.now() / 1000 - 90));
    clock.advance(MINUTE);
    const beat = await heartbeat.beat();
    assert.ok(beat?.contexts?.['polling']);
    assert.equal((beat?.contexts?.['bot_signals'] as any).minutes[0].lag_p95_s, 90);
  });
});
