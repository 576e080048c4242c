// Alerts, the alert bot's poller and the monitor evaluator with several `botpulse serve` processes
// on one PostgreSQL database (issue 12), the fake Telegram as the alert chat:
// - new issues arriving at both processes: each alert sent exactly once; and when one process is
//   killed with -9 mid-way, a second send only inside the window docs/architecture.md "Delivery
//   guarantees" documents (a message the dead process had claimed and not recorded as sent);
// - one Telegram poller (the `telegram-poller` lease): a button press is answered once, and after
//   the poller is killed -9 the lease moves to a survivor, which answers the next press;
// - a heartbeat monitor watched by three processes, the evaluator killed -9: one "Bot down" alert.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FakeTelegram } from '../../packages/fake-telegram/src/index.js';
import { PostgresStore } from '../../packages/server/src/store/postgres/index.js';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../../packages/server/src/test-support/postgres.js';
import { ADMIN, ALERT_CHAT, alertEnv, errorEvent, startFakeTelegram } from './alerts-support/harness.js';
import { CLI, firstProject, leaseHolderPid, query, startServe, waitUntil, type ServeProcess } from './postgres-support/processes.js';

const skip = !existsSync(CLI) ? 'run `npm run build` first (npm test does)' : await postgresUnavailable();

/** Answers the process to be killed must have given before the kill (a count, not a time). */
const KILL_AFTER_ANSWERS = 30;

async function post(server: ServeProcess, project: { id: number; publicKey: string }, event: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${server.url}/api/${project.id}/store/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${project.publicKey}` },
    body: JSON.stringify({ event_id: randomUUID().replace(/-/g, ''), timestamp: Date.now() / 1000, ...event }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** sendMessage calls Telegram accepted, per issue name (a grouped message names several). */
function sendsPerName(tg: FakeTelegram, token: string, names: string[]): Map<string, number> {
  const texts = tg.calls({ token, method: 'sendMessage', ok: true }).map((c) => String(c.params['text'] ?? ''));
  return new Map(names.map((name) => [name, texts.filter((t) => t.includes(`${name}:`)).length]));
}

async function outboxSettled(schema: TestSchema, issues: number): Promise<boolean> {
  const [row] = await query<{ sent: string; open: string }>(
    schema,
    `SELECT (SELECT COUNT(*) FROM alert_outbox WHERE status = 'sent' AND issue_id IS NOT NULL) AS sent,
            (SELECT COUNT(*) FROM alert_outbox WHERE status = 'pending') AS open`,
  );
  return Number(row!.sent) >= issues && Number(row!.open) === 0;
}

describe('alerts from several processes on PostgreSQL', { skip }, () => {
  let schema: TestSchema;
  let tg: FakeTelegram;
  let token: string;
  let env: Record<string, string>;
  const processes: ServeProcess[] = [];
  let project: { id: number; publicKey: string };
  const allNames: string[] = [];

  before(async () => {
    schema = await createTestSchema('e2e_alerts');
    ({ tg, token } = await startFakeTelegram());
    env = alertEnv(tg, token, { BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0.3' }) as Record<string, string>;
    processes.push(await startServe(schema, env), await startServe(schema, env));
    project = await firstProject(schema);
  });
  after(async () => {
    for (const p of processes) await p.stop();
    await tg?.stop();
    await schema?.drop();
  });
  const live = () => processes.filter((p) => p.alive());

  it('sends each new issue alert exactly once when the issues arrive at both processes', async () => {
    const names = Array.from({ length: 24 }, (_, i) => `both-${String(i).padStart(3, '0')}`);
    allNames.push(...names);
    const statuses = await Promise.all(names.map((name, i) => post(processes[i % 2]!, project, errorEvent(name))));
    assert.deepEqual(new Set(statuses), new Set([200]));
    await waitUntil(() => outboxSettled(schema, allNames.length), 'every alert sent');
    const sends = sendsPerName(tg, token, names);
    assert.deepEqual([...sends].filter(([, n]) => n !== 1), [], 'each alert exactly once');
  });

  it('sends each alert once, beyond the documented at-least-once window, when a process is killed -9 mid-way', async (t) => {
    const [victim, survivor] = processes as [ServeProcess, ServeProcess];
    const names: string[] = [];
    let victimAnswers = 0;
    let stop = false;
    let n = 0;
    const senders = Array.from({ length: 6 }, async (_, s) => {
      while (!stop) {
        const name = `kill-${String(n++).padStart(4, '0')}`;
        const server = s % 2 === 0 && victim.alive() ? victim : survivor;
        try {
          if ((await post(server, project, errorEvent(name))) !== 200) continue;
        } catch {
          continue; // the victim died mid-request: not answered, so not promised
        }
        names.push(name);
        if (server === victim) victimAnswers += 1;
      }
    });
    await waitUntil(() => victimAnswers >= KILL_AFTER_ANSWERS, `${KILL_AFTER_ANSWERS} answers from the process to kill`);
    await victim.kill9();
    // The window: rows the dead process held claimed (sent, perhaps, but not recorded as sent).
    // They go out again once their claim expires; nothing else may be sent twice.
    const undecided = Number((await query<{ n: string }>(schema, 'SELECT COUNT(*) AS n FROM alert_changes'))[0]!.n);
    const held = await query<{ issue_id: number }>(
      schema,
      `SELECT issue_id FROM alert_outbox WHERE status = 'pending' AND claimed_by LIKE $1 AND claimed_until > $2`,
      [`%:${victim.pid}:%`, Date.now()],
    );
    const afterKill = names.length;
    await waitUntil(() => names.length >= afterKill + 10, 'the survivor to keep answering');
    stop = true;
    await Promise.all(senders);
    allNames.push(...names);
    t.diagnostic(`${names.length} new issues answered (${victimAnswers} by the killed process); ${held.length} outbox rows held by it, ${undecided} changes not yet evaluated at the kill`);

    // Every answered event became an issue; every issue got one decision and its alert sent.
    await waitUntil(async () => Number((await query<{ n: string }>(schema, 'SELECT COUNT(*) AS n FROM issues'))[0]!.n) >= allNames.length, 'every issue digested');
    await waitUntil(() => outboxSettled(schema, allNames.length), 'every alert sent (a claim of the dead process expires after 60 s)', 170_000);
    const perIssue = await query<{ rows: string }>(schema, 'SELECT COUNT(o.id) AS rows FROM issues i LEFT JOIN alert_outbox o ON o.issue_id = i.id GROUP BY i.id');
    assert.deepEqual(perIssue.filter((r) => Number(r.rows) !== 1), [], 'one alert decision (outbox row) per issue');

    const heldTitles = new Set(
      (await query<{ title: string }>(schema, 'SELECT title FROM issues WHERE id = ANY($1::int[])', [held.map((h) => Number(h.issue_id))])).map((r) => r.title),
    );
    const sends = sendsPerName(tg, token, names);
    const lost = [...sends].filter(([, count]) => count === 0);
    const doubled = [...sends].filter(([, count]) => count > 1);
    assert.deepEqual(lost, [], 'every alert sent');
    assert.deepEqual(doubled.filter(([, count]) => count > 2), [], 'at most one second send');
    const outsideWindow = doubled.filter(([name]) => ![...heldTitles].some((title) => title.includes(`${name}:`)));
    assert.deepEqual(outsideWindow, [], 'a second send only for a message the dead process held claimed');
  });

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
    processes.push(await startServe(schema, env)); // two live processes again
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

describe('a heartbeat monitor watched by three processes on PostgreSQL', { skip }, () => {
  let schema: TestSchema;
  let tg: FakeTelegram;
  let token: string;
  const processes: ServeProcess[] = [];
  const configDir = mkdtempSync(join(tmpdir(), 'botpulse-pg-monitors-'));

  before(async () => {
    schema = await createTestSchema('e2e_monitors');
    // The project the config's monitor names exists before any process starts (else the start stops).
    const store = await PostgresStore.open(schema.options());
    await store.createProject({ name: 'Pay Bot', slug: 'pay-bot', shortIdPrefix: 'P' });
    await store.close();
    ({ tg, token } = await startFakeTelegram());
    const configFile = join(configDir, 'botpulse.json');
    writeFileSync(configFile, JSON.stringify({ BOTPULSE_MONITORS: { 'pay-bot': [{ slug: 'poller', periodSeconds: 1, graceSeconds: 1 }] }, BOTPULSE_MONITOR_TICK_SECONDS: 0.1 }));
    const env = { ...alertEnv(tg, token), BOTPULSE_TELEGRAM_UPDATES: 'off', BOTPULSE_CONFIG: configFile } as Record<string, string>;
    for (let i = 0; i < 3; i++) processes.push(await startServe(schema, env));
  });
  after(async () => {
    for (const p of processes) await p.stop();
    await tg?.stop();
    await schema?.drop();
    rmSync(configDir, { recursive: true, force: true });
  });

  it('sends one "Bot down" alert when the bot stops beating and the evaluator is killed -9', async () => {
    const project = await firstProject(schema);
    const state = async () => (await query<{ status: string }>(schema, `SELECT s.status FROM monitor_states s JOIN monitors m ON m.id = s.monitor_id WHERE m.slug = 'poller'`)).map((r) => r.status);
    // The bot beats through every process in turn until the monitor is up.
    let beat = 0;
    await waitUntil(async () => {
      const res = await fetch(`${processes[beat++ % 3]!.url}/api/${project.id}/heartbeat/poller?sentry_key=${project.publicKey}`);
      assert.equal(res.status, 200);
      return (await state()).includes('up');
    }, 'the monitor up');
    // The bot dies; so does the process evaluating the monitors.
    const evaluator = async () => leaseHolderPid(schema, 'monitors:evaluator');
    const holderPid = await evaluator();
    const victim = processes.find((p) => p.pid === holderPid);
    assert.ok(victim, `the evaluator ${holderPid} is one of the processes`);
    await victim.kill9();

    await tg.waitForMessages(token, ALERT_CHAT, 1, { timeoutMs: 120_000 });
    // "Exactly one": wait until a surviving evaluator has run on well past the flip (its lease
    // renewed again and again) with nothing left in the outbox, then count.
    await waitUntil(async () => (await state()).every((s) => s === 'down'), 'the monitor down');
    const renewedUntil = async () => Number((await query<{ until: string }>(schema, `SELECT until FROM alert_leases WHERE name = 'monitors:evaluator'`))[0]!.until);
    const seen = await renewedUntil();
    await waitUntil(async () => (await renewedUntil()) > seen + 2_000 && (await outboxSettled(schema, 0)), 'the survivor to evaluate on for 20 ticks');
    const texts = tg.chat(token, ALERT_CHAT).messages.map((m) => m.text ?? '');
    assert.equal(texts.filter((t) => /Bot down/.test(t)).length, 1, `one down alert; the chat:\n${texts.join('\n---\n')}`);
    assert.match(texts.find((t) => /Bot down/.test(t))!, /poller/);
    const survivor = await evaluator();
    assert.ok(survivor !== null && survivor !== holderPid, 'a survivor evaluates');
  });
});
