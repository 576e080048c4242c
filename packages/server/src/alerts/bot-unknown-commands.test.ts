import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeTelegram } from '@botpulse/fake-telegram';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import { SqliteAlertStore } from '../store/sqlite/alerts.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { BotApi } from './channels/telegram/api.js';
import { AlertBot } from './channels/telegram/bot.js';

const CHAT = -1_001_234_568;

/**
 * A command named like a member every object inherits (`/constructor`, `/toString`) is an unknown
 * command like any other: ignored. It used to be looked up in the command table as `Object` or
 * `Object.prototype.toString` and run.
 */
describe('alert bot: commands named like inherited members', () => {
  let dir: string;
  let tg: FakeTelegram;
  let store: SqliteStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-bot-commands-'));
    tg = await FakeTelegram.start();
    store = await SqliteStore.open(join(dir, 'botpulse.db'));
  });
  after(async () => {
    await store.close();
    await tg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ignores /constructor, /tostring and /__proto__ and still answers /help after them', async () => {
    const { token } = tg.createBot();
    tg.createChat({ type: 'supergroup', id: CHAT, title: 'On-call' });
    const config = loadConfig({ BOTPULSE_DATA_DIR: dir, ERROR_ALERT_CHAT_ID: String(CHAT) });
    const errors: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void errors.push(line) });
    const bot = new AlertBot({ api: new BotApi(token, tg.apiRoot), store, alerts: new SqliteAlertStore(store.db), config: config.alerts, publicUrl: config.publicUrl, logger, workerId: 'w-bot' });
    let updateId = 0;
    const send = (text: string) => bot.handleUpdate({ update_id: ++updateId, message: { message_id: updateId, chat: { id: CHAT, type: 'supergroup' }, from: { id: 42 }, text } });

    for (const text of ['/constructor', '/toString', '/__proto__', '/hasOwnProperty']) await send(text);
    assert.deepEqual(tg.chat(token, CHAT).messages, [], 'no reply to an unknown command');
    assert.deepEqual(errors, [], 'nothing failed');

    await send('/help');
    assert.match(tg.chat(token, CHAT).messages.at(-1)?.text ?? '', /\/status/, 'the bot still answers');
  });
});
