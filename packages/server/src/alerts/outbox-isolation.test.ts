// A row that cannot be delivered because of Botpulse's own code (an exception that is not a
// channel's DeliveryError) never silences its chat: it steps out of the chat's queue, is retried
// alone a few times, then is parked with its reason; the rows behind it (a "bot down" first of
// all) go out meanwhile. Telegram's own transient failures still hold the chat in order. Real
// SQLite, the real digest, engine and sender, the fake Telegram; the clock is injected.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Faults, FakeTelegram } from '@botpulse/fake-telegram';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import { createRowDigester } from '../digest/process.js';
import type { NewOutboxRow } from '../store/alerts.js';
import type { Project } from '../store/model.js';
import { SqliteAlertStore } from '../store/sqlite/alerts.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { BotApi } from './channels/telegram/api.js';
import type { AlertChannel, OutgoingAlert } from './channels/contract.js';
import type { AlertItem } from './items.js';
import { TelegramChannel } from './channels/telegram/sender.js';
import { AlertEngine } from './engine.js';
import { OutboxSender } from './outbox.js';
import { RulesResolver } from './rules.js';
import { issueLifecycle } from '../digest/lifecycle.js';

const CHAT = -1006660001;

/**
 * The real Telegram channel, except that an issue whose title says "poison" makes rendering throw
 * a TypeError (in check() and in send(), before anything is sent), a stand-in for any bug of ours
 * on the way to Telegram: the formatter itself no longer throws on any stored event (items.test.ts).
 * With `failGrouped`, send() also throws when alerts share a message: a bug only in combination.
 */
class BuggyChannel implements AlertChannel {
  readonly kind = 'telegram' as const;
  failGrouped = false;
  constructor(private readonly real: TelegramChannel) {}
  check(items: AlertItem[]): void {
    this.bug(items);
    this.real.check(items);
  }
  async send(message: OutgoingAlert) {
    this.bug(message.items);
    if (this.failGrouped && message.items.length > 1) throw new RangeError('grouped message layout failed');
    return this.real.send(message);
  }
  private bug(items: AlertItem[]): void {
    for (const item of items) if (item.kind === 'issue' && item.title.includes('poison')) (undefined as unknown as { x: number[] }).x.slice();
  }
}

/** The real store, whose markSent can be made to fail: a crash between Telegram's answer and our record of it. */
class FlakyAlertStore extends SqliteAlertStore {
  failMarkSent = false;
  override async markSent(...args: Parameters<SqliteAlertStore['markSent']>): Promise<void> {
    if (this.failMarkSent) throw new Error('SQLITE_IOERR: disk I/O error');
    return super.markSent(...args);
  }
}

describe('the outbox when our own code fails on a row', () => {
  let dir: string;
  let tg: FakeTelegram;
  let token: string;
  let store: SqliteStore;
  let alerts: FlakyAlertStore;
  let engine: AlertEngine;
  let sender: OutboxSender;
  let channel: BuggyChannel;
  let project: Project;
  let now = Date.now();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-isolation-'));
    tg = await FakeTelegram.start();
    token = tg.createBot().token;
    tg.createChat({ type: 'supergroup', id: CHAT, title: 'On-call' });
    const config = loadConfig({
      BOTPULSE_DATA_DIR: dir,
      BOTPULSE_TELEGRAM_TOKEN: token,
      BOTPULSE_TELEGRAM_API_ROOT: tg.apiRoot,
      ERROR_ALERT_CHAT_ID: String(CHAT),
      BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0',
      BOTPULSE_ALERT_RETRY_MAX_SECONDS: '4',
    });
    store = await SqliteStore.open(join(dir, 'botpulse.db'));
    alerts = new FlakyAlertStore(store.db);
    project = await store.createProject({ name: 'Pay Bot', slug: 'pay-bot', shortIdPrefix: 'P' });
    const rules = new RulesResolver(config.alerts, store);
    const logger = pino({ level: 'silent' });
    channel = new BuggyChannel(new TelegramChannel(new BotApi(token, tg.apiRoot)));
    engine = new AlertEngine({ store, alerts, config: config.alerts, rules, logger, onEnqueued: () => {}, now: () => now });
    sender = new OutboxSender({
      store,
      alerts,
      channels: { telegram: channel },
      config: config.alerts,
      publicUrl: config.publicUrl,
      rules,
      logger,
      workerId: 'w-isolation',
      now: () => now,
      claim: { paceMs: 1000, groupPerMinute: 1000 },
      retryBaseMs: 1000,
    });
  });
  after(async () => {
    await store.close();
    await tg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A new issue named `name`, digested and decided: one outbox row for the chat. */
  async function newIssue(name: string): Promise<void> {
    const payload = { event_id: randomUUID().replace(/-/g, ''), level: 'error', platform: 'node', fingerprint: [name], exception: { values: [{ type: 'Error', value: `${name}: failed` }] } };
    await store.appendToSpool([{ projectId: project.id, kind: 'event', eventId: payload.event_id, receivedAt: now, payload: Buffer.from(JSON.stringify(payload)) }]);
    await store.digestBatch(100, createRowDigester({}), issueLifecycle);
    engine.kick();
    await engine.idle();
  }

  let notification = 500;
  /** A monitor's "bot down", forwarded into the outbox as monitors/notify.ts does. */
  function botDown(): NewOutboxRow {
    const id = notification++;
    return {
      projectId: project.id,
      issueId: null,
      fingerprint: `monitor-notification:${id}`,
      channel: 'telegram',
      target: String(CHAT),
      tier: 'critical',
      reasons: ['monitor'],
      createdAt: now,
      notBefore: now,
      body: { kind: 'down', text: '🔴 <b>Bot down</b>: Pay Bot · <code>poller</code>', payload: { kind: 'down' }, monitorId: 1, notificationId: id },
      dedupeKey: `monitor-notification:${id}:telegram:${CHAT}`,
    };
  }

  const texts = () => tg.chat(token, CHAT).messages.map((m) => m.text ?? '');
  /** Ticks the sender every `stepMs` of the injected clock, `steps` times. */
  async function run(steps: number, stepMs = 1100): Promise<void> {
    for (let i = 0; i < steps; i++) {
      await sender.tick();
      now += stepMs;
    }
  }

  it('delivers the bot-down alert behind a row that keeps failing in our code, and parks that row with its reason', async () => {
    await newIssue('poison-one');
    await alerts.enqueueOnce([botDown()]);
    await newIssue('healthy-after');
    await run(1);
    assert.equal(texts().length, 1, 'one message at once, without the alert that cannot be rendered');
    assert.ok(texts().some((t) => /Bot down/.test(t)), `the bot-down alert went out: ${JSON.stringify(texts())}`);
    assert.ok(texts().some((t) => /healthy-after/.test(t)), 'the issue behind it too');

    await run(12);
    const rows = await alerts.outbox({ target: String(CHAT) });
    const poison = rows.filter((r) => r.status !== 'sent' && r.status !== 'collapsed');
    assert.equal(poison.length, 1, JSON.stringify(rows.map((r) => [r.id, r.status, r.lastError])));
    assert.equal(poison[0]!.status, 'parked', 'given up after a few tries, visibly');
    assert.match(poison[0]!.lastError ?? '', /TypeError/, 'with the reason');
    assert.ok(poison[0]!.attempts >= 2 && poison[0]!.attempts <= 5, `${poison[0]!.attempts} attempts: a few, not forever`);
    assert.equal(texts().filter((t) => /poison-one/.test(t)).length, 0);
  });

  it('keeps later alerts flowing while a parked row sits there, and counts it', async () => {
    const before = texts().length;
    await newIssue('later-one');
    await alerts.enqueueOnce([botDown()]);
    await run(3);
    const got = texts().slice(before);
    assert.ok(got.some((t) => /later-one/.test(t)), `the new issue went out: ${JSON.stringify(got)}`);
    assert.ok(got.some((t) => /Bot down/.test(t)), `the new bot-down went out: ${JSON.stringify(got)}`);
    assert.equal(sender.undelivered.telegram?.parked, 1, 'one row parked, counted for /metrics');
  });

  it('splits a message that fails only as a whole into its alerts, each sent alone', async () => {
    const before = texts().length;
    channel.failGrouped = true;
    await newIssue('combo-a');
    await newIssue('combo-b');
    await alerts.enqueueOnce([botDown()]);
    await run(5);
    channel.failGrouped = false;
    const got = texts().slice(before);
    for (const what of [/combo-a/, /combo-b/, /Bot down/]) assert.equal(got.filter((t) => what.test(t)).length, 1, `${what} once: ${JSON.stringify(got)}`);
    assert.equal(await alerts.countOutbox('parked'), 1, 'only the poison row of the first test is parked');
  });

  it('still holds the chat, in order, while Telegram itself fails (5xx), and sends the backlog once it is back', async () => {
    const before = texts().length;
    tg.fail(token, 'sendMessage', Faults.internalError(), { times: 2 });
    await newIssue('outage-first');
    now += 1;
    await alerts.enqueueOnce([botDown()]);
    await run(8);
    const got = texts().slice(before);
    const first = got.findIndex((t) => /outage-first/.test(t));
    const down = got.findIndex((t) => /Bot down/.test(t));
    assert.ok(first >= 0 && down >= 0, JSON.stringify(got));
    assert.ok(first <= down, 'the chat kept its order through Telegram\'s failures');
    const failed = tg.calls({ token, method: 'sendMessage', ok: false }).length;
    assert.equal(failed, 2, 'both 500s were retried');
  });

  it('sends a delivered message it could not record again only when its claim expires, once', async () => {
    const before = texts().length;
    const lease = 60_000;
    alerts.failMarkSent = true;
    await newIssue('unrecorded');
    await run(1);
    alerts.failMarkSent = false;
    assert.equal(texts().slice(before).filter((t) => /unrecorded/.test(t)).length, 1, 'Telegram got it');
    await run(20, 2_500); // 50 s: the claim still holds, nothing is sent again
    assert.equal(texts().slice(before).filter((t) => /unrecorded/.test(t)).length, 1, 'no resend while the claim holds');
    await run(8, 2_500); // past the 60 s lease
    assert.equal(texts().slice(before).filter((t) => /unrecorded/.test(t)).length, 2, `sent again once the claim (${lease} ms) expired`);
    await run(8, 2_500);
    assert.equal(texts().slice(before).filter((t) => /unrecorded/.test(t)).length, 2, 'and only once');
    assert.deepEqual(await alerts.outbox({ target: String(CHAT), status: 'pending' }), [], 'recorded the second time');
  });

  it('gives up rows still unsent after 24 h, counting them (never silently)', async () => {
    const old = { ...botDown(), createdAt: now - 25 * 3_600_000, notBefore: now + 3_600_000 };
    await alerts.enqueueOnce([old]);
    now += 61_000; // the sender looks for expired rows once a minute
    await sender.tick();
    const [row] = await alerts.outbox({ dedupeKeyPrefix: old.dedupeKey! });
    assert.equal(row?.status, 'expired');
    assert.equal(sender.undelivered.telegram?.expired, 1, 'counted for /metrics');
  });
});
