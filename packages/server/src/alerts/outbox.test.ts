// The outbox sender with forwarded monitor notifications (rows with a body): on a real SQLite
// store, through the Telegram channel to the fake Telegram. A "down" and its "recovered" waiting
// together are two alerts of one message, never collapsed; they leave the issue noise-control
// state (`alert_state`) alone; and they are paced per chat like any alert.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeTelegram } from '@botpulse/fake-telegram';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import type { NewOutboxRow, OutboxRow, SendSuccess } from '../store/alerts.js';
import type { Project } from '../store/model.js';
import { SqliteAlertStore } from '../store/sqlite/alerts.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { BotApi } from './channels/telegram/api.js';
import type { StoredRender } from './channels/telegram/format.js';
import { TelegramChannel } from './channels/telegram/sender.js';
import { collapse, OutboxSender } from './outbox.js';
import { RulesResolver } from './rules.js';

const CHAT = -1007770001;

/** The real store, remembering what each markSent was told. */
class RecordingAlertStore extends SqliteAlertStore {
  readonly sent: SendSuccess[] = [];
  override async markSent(workerId: string, batch: OutboxRow[], result: SendSuccess): Promise<void> {
    this.sent.push(result);
    return super.markSent(workerId, batch, result);
  }
}

const outboxRow = (over: Partial<OutboxRow>): OutboxRow => ({
  id: 1,
  projectId: 1,
  issueId: null,
  fingerprint: 'f',
  channel: 'telegram',
  target: String(CHAT),
  tier: 'critical',
  reasons: ['monitor'],
  createdAt: 0,
  notBefore: 0,
  body: null,
  dedupeKey: null,
  status: 'pending',
  attempts: 0,
  nextAttemptAt: 0,
  claimedBy: 'w',
  claimedUntil: 1,
  sentAt: null,
  messageId: null,
  lastError: null,
  ...over,
});

describe('collapse', () => {
  it('merges rows of one issue fingerprint but never two monitor notifications', () => {
    const body = (id: number, kind: string) => ({ kind, text: kind, payload: {}, monitorId: 1, notificationId: id });
    const groups = collapse([
      outboxRow({ id: 1, issueId: 5, fingerprint: 'issue:5', tier: 'alert', reasons: ['new'] }),
      outboxRow({ id: 2, fingerprint: 'monitor-notification:1', body: body(1, 'down') }),
      outboxRow({ id: 3, issueId: 5, fingerprint: 'issue:5', tier: 'critical', reasons: ['level'] }),
      // Even sharing a fingerprint (they never do: each notification has its own), two bodies stay two alerts.
      outboxRow({ id: 4, fingerprint: 'monitor-notification:1', tier: 'alert', body: body(2, 'recovered') }),
    ]);
    assert.deepEqual(
      groups.map((g) => [g.rows.map((r) => r.id), g.tier, g.reasons, g.body?.kind ?? null]),
      [
        [[1, 3], 'critical', ['new', 'level'], null],
        [[2], 'critical', ['monitor'], 'down'],
        [[4], 'alert', ['monitor'], 'recovered'],
      ],
    );
  });
});

describe('the outbox sender with monitor notifications', () => {
  let dir: string;
  let tg: FakeTelegram;
  let token: string;
  let store: SqliteStore;
  let alerts: RecordingAlertStore;
  let sender: OutboxSender;
  let pay: Project;
  let shop: Project;
  let now = 1_000_000;
  /** Added to the clock by each send, as a slow Bot API answer (or a slow render before it) would. */
  let sendTakesMs = 0;
  const slowSends = (channel: TelegramChannel): TelegramChannel =>
    Object.assign(Object.create(channel) as TelegramChannel, {
      send: async (message: Parameters<TelegramChannel['send']>[0]) => {
        const delivered = await channel.send(message);
        now += sendTakesMs;
        return delivered;
      },
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-outbox-'));
    tg = await FakeTelegram.start();
    token = tg.createBot().token;
    tg.createChat({ type: 'supergroup', id: CHAT, title: 'On-call' });
    const config = loadConfig({ BOTPULSE_DATA_DIR: dir, BOTPULSE_URL: 'https://bp.example.com', ERROR_ALERT_CHAT_ID: String(CHAT) });
    store = await SqliteStore.open(join(dir, 'botpulse.db'));
    alerts = new RecordingAlertStore(store.db);
    pay = await store.createProject({ name: 'Pay Bot', slug: 'pay-bot', shortIdPrefix: 'PAY' });
    shop = await store.createProject({ name: 'Shop Bot', slug: 'shop-bot', shortIdPrefix: 'SHOP' });
    sender = new OutboxSender({
      store,
      alerts,
      channels: { telegram: slowSends(new TelegramChannel(new BotApi(token, tg.apiRoot))) },
      config: config.alerts,
      publicUrl: config.publicUrl,
      rules: new RulesResolver(config.alerts, store),
      logger: pino({ level: 'silent' }),
      workerId: 'w-test',
      now: () => now,
      claim: { paceMs: 1000, groupPerMinute: 20 },
    });
  });
  after(async () => {
    await store.close();
    await tg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let nextId = 100;
  const forwarded = (project: Project, kind: string, text: string): NewOutboxRow => {
    const id = nextId++;
    return {
      projectId: project.id,
      issueId: null,
      fingerprint: `monitor-notification:${id}`,
      channel: 'telegram',
      target: String(CHAT),
      tier: kind === 'recovered' ? 'alert' : 'critical',
      reasons: ['monitor'],
      createdAt: now,
      notBefore: now,
      body: { kind, text, payload: { kind, monitor: 'poller' }, monitorId: 7, notificationId: id },
      dedupeKey: `monitor-notification:${id}:telegram:${CHAT}`,
    };
  };
  const messages = () => tg.chat(token, CHAT).messages;

  it('sends a down and its recovery waiting together as two alerts of one message, without touching alert_state', async () => {
    await alerts.enqueueOnce([
      forwarded(pay, 'down', '🔴 <b>Bot down</b>: Pay Bot · <code>poller</code>\nNo heartbeat for 2 m 0 s'),
      forwarded(pay, 'recovered', '🟢 <b>Bot recovered</b>: Pay Bot · <code>poller</code>\nDown for 2 m 5 s.'),
    ]);
    assert.equal(await sender.tick(), 1);
    const [message] = messages();
    assert.match(message!.text ?? '', /^🔴 2 alerts · Pay Bot/);
    assert.match(message!.text ?? '', /Bot down: Pay Bot · poller\nNo heartbeat for 2 m 0 s/);
    assert.match(message!.text ?? '', /Bot recovered: Pay Bot · poller\nDown for 2 m 5 s\./);
    assert.equal(message!.replyMarkup, undefined, 'no buttons: nothing to acknowledge');

    const rows = await alerts.outbox({ target: String(CHAT) });
    assert.deepEqual(rows.map((r) => r.status), ['sent', 'sent'], 'neither collapsed into the other');
    assert.equal(rows[0]!.messageId, String(message!.messageId));
    assert.deepEqual(alerts.sent.at(-1)!.states, [], 'no cooldown or repeat state for monitor notifications');
    assert.deepEqual(store.db.prepare('SELECT fingerprint FROM alert_state').all(), []);

    const saved = await alerts.findMessage('telegram', String(CHAT), String(message!.messageId));
    const stored = saved!.items as StoredRender;
    assert.equal(stored.layout, 'alert');
    assert.deepEqual(stored.items.map((i) => i.kind), ['monitor', 'monitor']);
    assert.deepEqual(saved!.issueIds, []);
  });

  it('paces monitor messages to one chat like issue alerts: one per second', async () => {
    const before = messages().length;
    await alerts.enqueueOnce([forwarded(shop, 'down', '🔴 <b>Bot down</b>: Shop Bot'), forwarded(pay, 'deaf', '🙉 <b>Bot deaf</b>: Pay Bot')]);
    now += 500; // half a second after the first message
    assert.equal(await sender.tick(), 0, 'the chat had a message less than a second ago');
    now += 500;
    assert.equal(await sender.tick(), 1);
    assert.equal(await sender.tick(), 0, 'the next one waits its second');
    now += 1000;
    assert.equal(await sender.tick(), 1);
    assert.deepEqual(messages().slice(before).map((m) => m.text?.split(':')[0]), ['🔴 Bot down', '🙉 Bot deaf'], 'in the order they were forwarded');
  });

  it('counts a chat\'s pace from the send, not from the claim: a slow send is not followed closely by the next message', async () => {
    now += 60_000;
    const before = messages().length;
    await alerts.enqueueOnce([forwarded(shop, 'down', '🔴 <b>Bot down</b>: Shop Bot'), forwarded(pay, 'down', '🔴 <b>Bot down</b>: Pay Bot')]);
    sendTakesMs = 900;
    try {
      assert.equal(await sender.tick(), 1); // claimed at t, delivered at t + 900 ms
    } finally {
      sendTakesMs = 0;
    }
    now += 100; // a second after the claim, 100 ms after the send
    assert.equal(await sender.tick(), 0, 'the chat had a message 100 ms ago');
    now += 900;
    assert.equal(await sender.tick(), 1, 'a second after the send');
    assert.equal(messages().length - before, 2);
  });
});
