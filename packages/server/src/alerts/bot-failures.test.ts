import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeTelegram } from '@botpulse/fake-telegram';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import { issueLifecycle } from '../digest/lifecycle.js';
import { createRowDigester } from '../digest/process.js';
import { failures } from '../lib/failures.js';
import { SqliteAlertStore } from '../store/sqlite/alerts.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { BotApi } from './channels/telegram/api.js';
import { AlertBot } from './channels/telegram/bot.js';

const CHAT = -1_001_234_567;

/**
 * The alert bot's /issues lists an issue whose latest event cannot be read (a corrupt stored
 * payload) without its details. That used to pass unnoticed; it is logged and counted now
 * (`botpulse_failures_total{site="alert_unreadable_event"}`), as the outbox already logged it.
 */
let dir: string;
let tg: FakeTelegram;
let store: SqliteStore;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'botpulse-bot-failures-'));
  tg = await FakeTelegram.start();
  store = await SqliteStore.open(join(dir, 'botpulse.db'));
});
after(async () => {
  await store.close();
  await tg.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('alert bot when an issue\'s latest event cannot be read', () => {
  it('lists the issue and logs and counts the unreadable event', async () => {
    const { token } = tg.createBot();
    tg.createChat({ type: 'supergroup', id: CHAT, title: 'On-call' });
    const project = await store.createProject({ name: 'Pay Bot', slug: 'pay-bot', shortIdPrefix: 'P' });
    const eventId = randomUUID().replace(/-/g, '');
    await store.appendToSpool([{ projectId: project.id, kind: 'event', eventId, receivedAt: Date.now(), payload: Buffer.from(JSON.stringify({ event_id: eventId, message: 'card declined' })) }]);
    await store.digestBatch(10, createRowDigester({}), issueLifecycle);
    store.db.prepare('UPDATE events SET payload = ? WHERE event_id = ?').run(Buffer.from([0, 1, 2]), eventId);

    const config = loadConfig({ BOTPULSE_DATA_DIR: dir, ERROR_ALERT_CHAT_ID: String(CHAT) });
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as { obj: Record<string, unknown>; msg: string }) });
    const bot = new AlertBot({ api: new BotApi(token, tg.apiRoot), store, alerts: new SqliteAlertStore(store.db), config: config.alerts, publicUrl: config.publicUrl, logger, workerId: 'w-bot' });
    const before = failures.get('alert_unreadable_event');
    await bot.handleUpdate({ update_id: 1, message: { message_id: 1, chat: { id: CHAT, type: 'supergroup' }, from: { id: 42 }, text: '/issues' } });

    const reply = tg.chat(token, CHAT).messages.at(-1);
    assert.match(reply?.text ?? '', /card declined/, 'the issue is listed');
    assert.equal(failures.get('alert_unreadable_event') - before, 1, 'counted');
    const logged = lines.find((l) => (l as unknown as { site?: string }).site === 'alert_unreadable_event');
    assert.ok(logged, 'logged');
    assert.match((logged as unknown as { msg: string }).msg, /latest event of an issue could not be read/);
  });
});

/**
 * A command named like a member every object inherits (`/constructor`, `/toString`) is an unknown
 * command like any other: ignored. It used to be looked up in the command table as `Object` or
 * `Object.prototype.toString` and run.
 */
describe('alert bot: commands named like inherited members', () => {
  it('ignores /constructor, /tostring and /__proto__ and still answers /help after them', async () => {
    const { token } = tg.createBot();
    const chat = CHAT - 1;
    tg.createChat({ type: 'supergroup', id: chat, title: 'On-call 2' });
    const config = loadConfig({ BOTPULSE_DATA_DIR: dir, ERROR_ALERT_CHAT_ID: String(chat) });
    const errors: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void errors.push(line) });
    const bot = new AlertBot({ api: new BotApi(token, tg.apiRoot), store, alerts: new SqliteAlertStore(store.db), config: config.alerts, publicUrl: config.publicUrl, logger, workerId: 'w-bot-2' });
    let updateId = 0;
    const send = (text: string) => bot.handleUpdate({ update_id: ++updateId, message: { message_id: updateId, chat: { id: chat, type: 'supergroup' }, from: { id: 42 }, text } });

    for (const text of ['/constructor', '/toString', '/__proto__', '/hasOwnProperty']) await send(text);
    assert.deepEqual(tg.chat(token, chat).messages, [], 'no reply to an unknown command');
    assert.deepEqual(errors, [], 'nothing failed');

    await send('/help');
    assert.match(tg.chat(token, chat).messages.at(-1)?.text ?? '', /\/status/, 'the bot still answers');
  });
});
