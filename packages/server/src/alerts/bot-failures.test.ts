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
describe('alert bot when an issue\'s latest event cannot be read', () => {
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
