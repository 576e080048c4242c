// The cooldown is a promise (seed 000's ERROR_ALERT_COOLDOWN): two messages about one issue are
// never closer than the cooldown, even when a trigger or a follow-up lands while the previous
// message is still waiting in the outbox or being sent. Real SQLite, the real digest, engine and
// sender, the fake Telegram; the clock is injected, so each interleaving is played exactly.
// `benchmarks/alerts` once saw two messages 2.0 s apart with a 5 s cooldown: a message held back
// by the chat's pacing was claimed after its cooldown (counted from the decision) had run out, and
// a trigger arriving during its send enqueued a second message, sent a second later.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeTelegram } from '@botpulse/fake-telegram';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import { createRowDigester } from '../digest/process.js';
import type { Project } from '../store/model.js';
import { SqliteAlertStore } from '../store/sqlite/alerts.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { BotApi } from './channels/telegram/api.js';
import type { AlertChannel, OutgoingAlert } from './channels/contract.js';
import { TelegramChannel } from './channels/telegram/sender.js';
import { AlertEngine } from './engine.js';
import { OutboxSender } from './outbox.js';
import { RulesResolver } from './rules.js';
import { issueLifecycle } from '../digest/lifecycle.js';

const CHAT = 4242; // a private chat: one message a second, no per-minute group budget
const COOLDOWN_MS = 5_000;

/** The real Telegram channel, with a hook that runs while a message is on its way. */
class InterleavingChannel implements AlertChannel {
  readonly kind = 'telegram' as const;
  duringSend: (() => Promise<void>) | null = null;
  constructor(private readonly real: TelegramChannel) {}
  async send(message: OutgoingAlert) {
    const hook = this.duringSend;
    this.duringSend = null;
    await hook?.();
    return this.real.send(message);
  }
}

describe('the cooldown under a storm', () => {
  let dir: string;
  let tg: FakeTelegram;
  let token: string;
  let store: SqliteStore;
  let alerts: SqliteAlertStore;
  let engine: AlertEngine;
  let sender: OutboxSender;
  let channel: InterleavingChannel;
  let project: Project;
  let now = Date.now();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-cooldown-race-'));
    tg = await FakeTelegram.start();
    token = tg.createBot().token;
    tg.createChat({ type: 'private', id: CHAT, first_name: 'On-call' });
    const config = loadConfig({
      BOTPULSE_DATA_DIR: dir,
      BOTPULSE_TELEGRAM_TOKEN: token,
      BOTPULSE_TELEGRAM_API_ROOT: tg.apiRoot,
      ERROR_ALERT_CHAT_ID: String(CHAT),
      ERROR_ALERT_COOLDOWN: String(COOLDOWN_MS / 1000),
      BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0',
      // Every event after the first fires the frequency rule: a storm in two events.
      BOTPULSE_ALERT_FREQUENCY: '1/10m',
    });
    store = await SqliteStore.open(join(dir, 'botpulse.db'));
    alerts = new SqliteAlertStore(store.db);
    project = await store.createProject({ name: 'Storm Bot', slug: 'storm', shortIdPrefix: 'S' });
    const rules = new RulesResolver(config.alerts, store);
    const logger = pino({ level: 'silent' });
    channel = new InterleavingChannel(new TelegramChannel(new BotApi(token, tg.apiRoot)));
    engine = new AlertEngine({ store, alerts, config: config.alerts, rules, logger, onEnqueued: () => {}, now: () => now });
    sender = new OutboxSender({
      store,
      alerts,
      channels: { telegram: channel },
      config: config.alerts,
      publicUrl: config.publicUrl,
      rules,
      logger,
      workerId: 'w-race',
      now: () => now,
      claim: { paceMs: 1000 },
    });
  });
  after(async () => {
    await store.close();
    await tg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One event of `name` received now, digested, and evaluated by the engine. */
  async function event(name: string): Promise<void> {
    const payload = { event_id: randomUUID().replace(/-/g, ''), level: 'error', platform: 'node', fingerprint: [name], exception: { values: [{ type: 'Error', value: `${name}: failed` }] } };
    await store.appendToSpool([{ projectId: project.id, kind: 'event', eventId: payload.event_id, receivedAt: now, payload: Buffer.from(JSON.stringify(payload)) }]);
    await store.digestBatch(100, createRowDigester({}), issueLifecycle);
    engine.kick();
    await engine.idle();
  }

  /** When the fake Telegram accepted each message mentioning `name`, on the injected clock. */
  const sentAbout = (name: string) => sends.filter((s) => s.text.includes(`${name}:`)).map((s) => s.at);
  const sends: { at: number; text: string }[] = [];
  async function tick(): Promise<void> {
    const before = tg.chat(token, CHAT).messages.length;
    await sender.tick();
    for (const m of tg.chat(token, CHAT).messages.slice(before)) sends.push({ at: now, text: m.text ?? '' });
  }

  it('a trigger arriving while the previous message is being sent waits a full cooldown from that send', async () => {
    await event('race-trigger'); // new issue: a message is enqueued, its cooldown would end at +5 s
    now += 6_000; // the chat was busy (pacing, an outage): the message is still waiting when the cooldown runs out
    channel.duringSend = () => event('race-trigger'); // the storm goes on while it is being sent
    await tick();
    assert.equal(sentAbout('race-trigger').length, 1, 'the first message went out');
    for (let step = 0; step < 10; step++) {
      now += 1_000;
      await engine.followUps();
      await tick();
    }
    const times = sentAbout('race-trigger');
    assert.equal(times.length, 2, `the held trigger went out once after the cooldown: ${times.map((t) => t - times[0]!).join(', ')} ms`);
    assert.ok(times[1]! - times[0]! >= COOLDOWN_MS, `messages ${times[1]! - times[0]!} ms apart with a ${COOLDOWN_MS} ms cooldown`);
    assert.match(sends.filter((s) => s.text.includes('race-trigger:')).at(-1)!.text, /1 event · 0 users since the last message \(2 in total\)/);
  });

  it('a follow-up due while the previous message is being sent waits a full cooldown from that send', async () => {
    await event('race-follow'); // new issue, message enqueued
    now += 1_000;
    await event('race-follow'); // inside the cooldown: held as pending, due when the cooldown ends (+5 s)
    now += 5_000; // the first message is still waiting when the pending trigger falls due
    channel.duringSend = async () => {
      await engine.followUps(); // another process's follow-up pass, or this one's next turn
    };
    await tick();
    assert.equal(sentAbout('race-follow').length, 1, 'the first message went out');
    for (let step = 0; step < 10; step++) {
      now += 1_000;
      await engine.followUps();
      await tick();
    }
    const times = sentAbout('race-follow');
    assert.ok(times.length >= 1);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= COOLDOWN_MS, `messages ${times[i]! - times[i - 1]!} ms apart with a ${COOLDOWN_MS} ms cooldown`);
    const rows = await alerts.outbox({});
    assert.equal(rows.filter((r) => r.status === 'pending').length, 0, 'nothing left behind');
  });
});
