// The alert bot's Telegram poller with two `botpulse serve` processes on one PostgreSQL database
// (issue 12): one poller (the `telegram-poller` lease) answers a button press once, and after the
// poller is killed -9 the lease moves to the survivor, which answers the next press.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FakeTelegram } from '../../packages/fake-telegram/src/index.js';
import { postgresUnavailable, type TestSchema } from '../../packages/server/src/test-support/postgres.js';
import { ADMIN, ALERT_CHAT, errorEvent } from './alerts-support/harness.js';
import { post, startAlertProcesses, type AlertProcesses } from './postgres-support/alerts.js';
import { CLI, leaseHolderPid, query, waitUntil, type ServeProcess } from './postgres-support/processes.js';

const skip = !existsSync(CLI) ? 'run `npm run build` first (npm test does)' : await postgresUnavailable();

describe('the alert poller with two processes on PostgreSQL', { skip }, () => {
  let schema: TestSchema;
  let tg: FakeTelegram;
  let token: string;
  let processes: ServeProcess[] = [];
  let project: { id: number; publicKey: string };

  let cluster: AlertProcesses | undefined;
  before(async () => {
    cluster = await startAlertProcesses('e2e_poller');
    ({ schema, tg, token, processes, project } = cluster);
  });
  after(async () => cluster?.close());
  const live = () => processes.filter((p) => p.alive());

  const poller = async () => leaseHolderPid(schema, 'telegram-poller');
  const pressOnce = async (name: string, action: 'res' | 'ack') => {
    const before = tg.chat(token, ALERT_CHAT).messages.length;
    const status = await post(live()[0]!, project, errorEvent(name));
    assert.equal(status, 200);
    const messages = (await tg.waitForMessages(token, ALERT_CHAT, before + 1, { timeoutMs: 120_000 })) as { messageId: number; text?: string }[];
    const alert = messages.find((m) => (m.text ?? '').includes(`${name}:`));
    assert.ok(alert, `the alert for ${name}`);
    const [issue] = await query<{ id: number }>(schema, 'SELECT id FROM issues WHERE title LIKE $1', [`%${name}:%`]);
    const pressed = tg.pressButton(token, { chatId: ALERT_CHAT, messageId: alert.messageId, data: `bp:${action}:${issue!.id}`, from: ADMIN });
    await tg.waitForCallbackAnswer(token, pressed.queryId, { timeoutMs: 60_000 });
    const expected = action === 'res' ? 'resolved' : 'in_progress';
    await waitUntil(async () => (await query<{ status: string }>(schema, 'SELECT status FROM issues WHERE id = $1', [issue!.id]))[0]!.status === expected, `the issue ${expected}`);
    const answers = tg.calls({ token, method: 'answerCallbackQuery' }).filter((c) => c.params['callback_query_id'] === pressed.queryId);
    assert.equal(answers.length, 1, 'the press answered once');
  };

  it('polls Telegram from one process (the lease) and answers a button press once', async () => {
    await waitUntil(async () => (await poller()) !== null && tg.isPolling(token), 'one process polling');
    await pressOnce('button-one', 'res');
    // A second poller would have been refused by Telegram (the fake too) with 409 Conflict.
    assert.deepEqual(tg.calls({ token, method: 'getUpdates' }).filter((c) => c.errorCode === 409), [], 'one poller: no 409 Conflict');
  });

  it('moves the poller to a survivor after a kill -9 of the polling process; it answers the next press once', async () => {
    const first = (await poller())!;
    const holder = live().find((p) => p.pid === first)!;
    assert.ok(holder, `the lease holder ${first} is one of the live processes`);
    await holder.kill9();
    const [other] = live();
    await waitUntil(async () => (await poller()) === other!.pid && tg.isPolling(token), 'the survivor to take the poller lease (it expires after a poll + 35 s)', 170_000);
    await pressOnce('button-two', 'ack');
    const conflicts = tg.calls({ token, method: 'getUpdates' }).filter((c) => c.errorCode === 409);
    assert.deepEqual(conflicts, [], 'never two pollers at once: no 409 Conflict');
  });
});
