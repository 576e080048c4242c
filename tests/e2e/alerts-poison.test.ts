// Malformed events never silence a chat. Events whose stack frames are a number, `[null, …]`, or
// whose frame function is an object are accepted (answered 200, stored); their alerts once failed
// with a TypeError in the formatter, were retried forever at the head of the chat's queue, and
// held every later alert of that chat, a monitor's "bot down" included, for 24 hours. Here a real
// server with the fake Telegram gets the poison events, then a heartbeat monitor goes down: the
// bot-down message must arrive, and no row may stay pending.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Project } from '../../packages/server/src/store/model.js';
import { SESSION_COOKIE, Sessions } from '../../packages/server/src/web/auth/sessions.js';
import { MonitorHarness, sleep } from './monitors-support/harness.js';

/** Polls `check` until it returns a value (not undefined/false/null) or the deadline passes. */
async function until<T>(what: string, check: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const poison = (name: string, frames: unknown, extra: Record<string, unknown> = {}) => ({
  level: 'error',
  platform: 'node',
  fingerprint: [name],
  exception: { values: [{ type: 'TypeError', value: `${name}: handler failed`, stacktrace: { frames } }] },
  ...extra,
});

const POISON = [
  poison('frames-number', 5),
  poison('frames-null', [null, { filename: '/app/bot.js', function: 'onUpdate', lineno: 3, in_app: true }]),
  poison('function-object', [{ filename: { path: '/app/bot.js' }, function: { toString: 1 }, lineno: { n: 1 }, in_app: true, context_line: ['x'] }]),
  poison('values-null', [], { exception: { values: [null, { type: 'Error', value: 'values-null: inner', stacktrace: 7 }] } }),
  poison('contexts-odd', [{ function: 'ok', in_app: true }], { contexts: { telegram: { chat_id: { id: 1 }, user_id: [1], username: { toString: 1 } } } }),
];

describe('poison events and the alert chat', () => {
  let h: MonitorHarness;
  let pay: Project;

  before(async () => {
    h = await MonitorHarness.start({
      BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0',
      BOTPULSE_ALERT_RETRY_MAX_SECONDS: '1',
      BOTPULSE_THRESHOLD_ERRORS: 'off',
      BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS: '0',
    });
    pay = (await h.server.botpulse.store.getProject(h.server.projectId))!;
  });
  after(async () => h.close());

  async function post(event: Record<string, unknown>): Promise<void> {
    const response = await fetch(`${h.server.url}/api/${pay.id}/store/?sentry_key=${pay.publicKey}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: randomUUID().replace(/-/g, ''), timestamp: Date.now() / 1000, ...event }),
    });
    await response.arrayBuffer();
    assert.equal(response.status, 200, 'the poison event is accepted');
  }

  it('delivers a monitor\'s bot-down alert after poison events, and leaves no row pending', async () => {
    for (const event of POISON) await post(event);
    const alerts = h.server.botpulse.alerting.alerts;
    // Every poison event became an issue with an alert on its way (or already tried).
    await until('an outbox row per poison issue', async () => (await alerts.outbox({})).filter((r) => r.issueId !== null).length >= POISON.length);

    const { status, json } = await h.api('POST', '/monitors', { project: pay.slug, slug: 'poller', periodSeconds: 1, graceSeconds: 0.5 });
    assert.equal(status, 201, JSON.stringify(json));
    const ping = await fetch(`${h.server.url}/api/${pay.id}/heartbeat/poller?sentry_key=${pay.publicKey}`);
    await ping.arrayBuffer();
    assert.equal(ping.status, 200);

    const down = await until('the bot-down message', () => h.alerts().find((m) => /Bot down/.test(m.text) && /poller/.test(m.text)), 60_000);
    assert.ok(down);
    const rows = await until('no pending outbox row', async () => {
      const all = await alerts.outbox({});
      return all.some((r) => r.status === 'pending') ? null : all;
    });
    const stuck = rows.filter((r) => r.status !== 'sent' && r.status !== 'collapsed' && r.status !== 'parked');
    assert.deepEqual(stuck.map((r) => [r.id, r.status, r.lastError]), [], 'every row was sent, or parked with its reason');
    const text = h.alerts().map((m) => m.text).join('\n');
    for (const name of ['frames-number', 'frames-null', 'function-object', 'contexts-odd']) assert.match(text, new RegExp(`${name}: handler failed`), `${name}'s own alert went out too`);
  });

  it('shows a parked row (one our code could not deliver) in the API, /metrics and the dashboard', async () => {
    const alerts = h.server.botpulse.alerting.alerts;
    // A row parked as the outbox parks one (claimed, then set aside with the reason).
    await alerts.enqueueOnce([{ projectId: pay.id, issueId: null, fingerprint: 'parked-test', channel: 'telegram', target: '-1', tier: 'alert', reasons: ['monitor'], createdAt: Date.now(), notBefore: Date.now() + 3_600_000, body: { kind: 'down', text: 'x', payload: {}, monitorId: null, notificationId: 0 }, dedupeKey: 'parked-test' }]);
    const [row] = await alerts.outbox({ dedupeKeyPrefix: 'parked-test' });
    h.server.botpulse.store.db.prepare('UPDATE alert_outbox SET claimed_by = ? WHERE id = ?').run('w-test', row!.id);
    await alerts.markParked('w-test', [row!.id], 'internal error: TypeError: boom');

    const api = await h.api('GET', '/alerts');
    assert.equal(api.json.parked, 1);
    assert.deepEqual(api.json.parkedRows.map((r: { id: number; reason: string }) => [r.id, r.reason]), [[row!.id, 'internal error: TypeError: boom']]);
    assert.equal(api.json.changesWaiting, 0, 'every digested change was evaluated');

    const metrics = await (await fetch(`${h.server.url}/metrics`)).text();
    assert.match(metrics, /^botpulse_alert_outbox_rows\{status="parked"\} 1$/m);
    assert.match(metrics, /^botpulse_alert_changes_backlog 0$/m);
    assert.match(metrics, /^botpulse_alert_changes_total\{result="evaluated"\} [1-9]/m);

    await h.server.botpulse.store.addUser('ops', 'unused-hash');
    const { id } = await new Sessions(h.server.botpulse.store).create('ops');
    const page = await fetch(`${h.server.url}/monitors`, { headers: { cookie: `${SESSION_COOKIE}=${id}` } });
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.match(html, /1 alert could not be built or sent because of an error in Botpulse and was set aside \(parked\), e\.g\. <code>internal error: TypeError: boom<\/code>/);
  });
});
