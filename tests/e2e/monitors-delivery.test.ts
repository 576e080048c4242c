// Monitor alerts go through the alert outbox (docs/monitors.md "Notifications"), end to end on a
// real Botpulse server with the fake Telegram (tick 0.1 s, periods of a second):
// 1. a down alert that meets a 429 waits `retry_after` and is sent once; the webhook gets
//    the outbox's normal signed body with a `monitor` item;
// 2. monitor messages to one chat are paced one a second, like issue alerts (the outbox's clock
//    injected: played exactly);
// 3. a monitor alert and an issue alert of one project due together share one message, whose
//    Resolve button re-renders it with the monitor text kept.
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Faults } from '../../packages/fake-telegram/src/index.js';
import type { Project } from '../../packages/server/src/store/model.js';
import { ADMIN, errorEvent } from './alerts-support/harness.js';
import { ALERT_CHAT, MonitorHarness, sleep } from './monitors-support/harness.js';

const SECRET = 'monitor-webhook-secret';

/** One plain heartbeat ping, as a bot's cron would send it. */
async function ping(h: MonitorHarness, project: Project, slug: string): Promise<void> {
  const response = await fetch(`${h.server.url}/api/${project.id}/heartbeat/${slug}?sentry_key=${project.publicKey}`);
  await response.arrayBuffer();
  assert.equal(response.status, 200);
}

/** A heartbeat monitor (period 1 s, grace 0.5 s) that has seen one ping: it goes down 1.5 s later. */
async function upMonitor(h: MonitorHarness, project: Project, slug: string): Promise<number> {
  const { status, json } = await h.api('POST', '/monitors', { project: project.slug, slug, periodSeconds: 1, graceSeconds: 0.5 });
  assert.equal(status, 201, JSON.stringify(json));
  await ping(h, project, slug);
  await until(`${slug} up`, async () => (await h.server.botpulse.monitoring.store.findMonitor(project.id, slug))?.status === 'up');
  return json.monitor.id;
}

const sendsToChat = (h: MonitorHarness) => h.tg.calls({ token: h.alertToken, method: 'sendMessage' }).filter((c) => String(c.params['chat_id']) === String(ALERT_CHAT));

/** Polls `check` until it returns a value (not undefined/false/null) or the deadline passes. */
async function until<T>(what: string, check: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('monitor alerts through the alert outbox', () => {
  let h: MonitorHarness;
  let receiver: http.Server;
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  let pay: Project;

  before(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    h = await MonitorHarness.start({
      BOTPULSE_ALERT_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/botpulse`,
      BOTPULSE_ALERT_WEBHOOK_SECRET: SECRET,
      BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0',
      BOTPULSE_ALERT_RETRY_MAX_SECONDS: '1',
      BOTPULSE_TELEGRAM_UPDATES: 'polling',
      BOTPULSE_TELEGRAM_ADMINS: String(ADMIN.id),
      BOTPULSE_THRESHOLD_ERRORS: 'off',
      BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS: '0',
    });
    h.tg.createUser(ADMIN);
    pay = (await h.server.botpulse.store.getProject(h.server.projectId))!;
  });
  after(async () => {
    await h.close();
    receiver.close();
  });

  it('waits out a 429 retry_after for a down alert and sends it once; the webhook gets the outbox body with a monitor item', async () => {
    const monitorId = await upMonitor(h, pay, 'flood-bot');
    // 3 s: not the 1-2 s a backoff of our own would wait, so only honouring retry_after passes.
    h.tg.fail(h.alertToken, 'sendMessage', Faults.tooManyRequests(3));
    const [down] = await h.waitForAlerts(1, 60_000);
    assert.match(down!.text, /Bot down/);
    assert.match(down!.text, /flood-bot/);
    const sends = sendsToChat(h);
    assert.equal(sends.length, 2);
    assert.equal(sends[0]!.errorCode, 429);
    assert.ok(sends[1]!.ok);
    const waited = sends[1]!.at - sends[0]!.at;
    // Only a lower bound: on a loaded machine the retry may come later, never sooner.
    assert.ok(waited >= 3000, `waited ${waited} ms after retry_after: 3`);
    await sleep(1500);
    assert.equal(h.alerts().length, 1, 'sent once');

    const [notification] = await h.server.botpulse.monitoring.store.notifications({ monitorId });
    assert.equal(notification!.kind, 'down');
    assert.equal(notification!.status, 'forwarded');
    const rows = await h.server.botpulse.alerting.alerts.outbox({ dedupeKeyPrefix: `monitor-notification:${notification!.id}:` });
    assert.deepEqual(rows.map((r) => [r.channel, r.status, r.attempts]), [['telegram', 'sent', 1], ['webhook', 'sent', 0]]);

    const hook = await until('the webhook call', () => received.find((r) => JSON.parse(r.body).alerts?.[0]?.monitorId === monitorId));
    assert.equal(hook.headers['x-botpulse-signature'], `sha256=${createHmac('sha256', SECRET).update(hook.body).digest('hex')}`);
    const body = JSON.parse(hook.body);
    assert.equal(body.type, 'botpulse.alert');
    assert.equal(body.id, rows[1]!.id);
    assert.equal(String(body.timestamp), hook.headers['x-botpulse-timestamp']);
    assert.equal(body.alerts.length, 1);
    const [alert] = body.alerts;
    assert.equal(alert.kind, 'monitor');
    assert.equal(alert.tier, 'critical');
    assert.deepEqual(alert.project, { id: pay.id, slug: pay.slug, name: pay.name });
    assert.equal(alert.payload.kind, 'down');
    assert.equal(alert.payload.monitor, 'flood-bot');
    assert.equal(alert.notificationId, notification!.id);
    assert.match(alert.text, /<b>Bot down<\/b>/);
    assert.match(alert.url, new RegExp(`/monitors#monitor-${monitorId}$`));
  });

  it('sends a monitor alert and an issue alert of one project due together as one message, and a button press keeps the monitor text', async () => {
    const monitorId = await upMonitor(h, pay, 'mixed-bot');
    const before = h.alerts().length;
    await h.tg.down();
    const event = { event_id: randomUUID().replace(/-/g, ''), timestamp: Date.now() / 1000, ...errorEvent('mixed-crash') };
    const posted = await fetch(`${h.server.url}/api/${pay.id}/store/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${pay.publicKey}` },
      body: JSON.stringify(event),
    });
    assert.equal(posted.status, 200, await posted.text());
    const alerts = h.server.botpulse.alerting.alerts;
    const [down] = await until('the down notification forwarded', async () => {
      const list = await h.server.botpulse.monitoring.store.notifications({ monitorId });
      return list.length && list[0]!.status === 'forwarded' ? list : null;
    });
    await until('both rows waiting for Telegram', async () => {
      const pending = await alerts.outbox({ status: 'pending', target: String(ALERT_CHAT) });
      return pending.some((r) => r.issueId !== null) && pending.some((r) => r.body?.notificationId === down!.id);
    });
    await h.tg.up();

    const [message] = (await h.waitForAlerts(before + 1, 60_000)).slice(before);
    assert.match(message!.text, /2 alerts · Pay Bot/);
    assert.match(message!.text, /mixed-crash/);
    assert.match(message!.text, /Bot down: Pay Bot · mixed-bot/);
    await sleep(1500);
    assert.equal(h.alerts().length, before + 1, 'one message for both');

    const { issues } = await h.server.botpulse.store.listIssues({ projectId: pay.id, limit: 50 });
    const issue = issues.find((i) => i.title.includes('mixed-crash'))!;
    await h.tg.waitFor(() => h.tg.isPolling(h.alertToken), { what: 'the alert bot polling again', timeoutMs: 60_000 });
    const sent = h.tg.chat(h.alertToken, ALERT_CHAT).messages.at(-1)!;
    const pressed = h.tg.pressButton(h.alertToken, { chatId: ALERT_CHAT, messageId: sent.messageId, data: `bp:res:${issue.id}`, from: ADMIN });
    await h.tg.waitForCallbackAnswer(h.alertToken, pressed.queryId, { timeoutMs: 60_000 });
    const edited = await h.tg.waitFor(() => {
      const m = h.tg.chat(h.alertToken, ALERT_CHAT).message(sent.messageId);
      return m && m.versions.length > 1 ? m : null;
    }, { what: 'the message edited', timeoutMs: 60_000 });
    assert.match(edited.text ?? '', /✅ Resolved by @ada_oncall at \d\d:\d\d UTC/);
    assert.match(edited.text ?? '', /Bot down: Pay Bot · mixed-bot/);
    assert.match(edited.text ?? '', /mixed-crash/);
    assert.equal((await h.server.botpulse.store.getIssue(issue.id))!.status, 'resolved');
  });
});

describe('monitor messages paced per chat', () => {
  let h: MonitorHarness;
  // The outbox's clock. Real time until the test freezes it ahead of every row's not_before, then
  // moved by hand: the chat's one-a-second pace is played exactly, whatever the machine's load
  // does to when each request reaches the fake Telegram.
  let frozenAt: number | null = null;
  before(async () => {
    h = await MonitorHarness.start(
      { BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0', BOTPULSE_THRESHOLD_ERRORS: 'off', BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS: '0' },
      undefined,
      () => frozenAt ?? Date.now(),
    );
  });
  after(async () => h.close());

  it('paces monitor messages to one chat one a second, like issue alerts', async () => {
    const projects = await Promise.all(['ant', 'bee', 'cat'].map((name) => h.server.botpulse.store.createProject({ name: `${name} bot`, slug: `${name}-bot`, shortIdPrefix: name.toUpperCase() })));
    const { alerts, sender } = h.server.botpulse.alerting;
    frozenAt = Date.now() + 30_000;
    // Three bots of three projects (so three messages, not one grouped) go silent together.
    await Promise.all(projects.map((p) => upMonitor(h, p, 'poller')));
    await until('three down alerts in the outbox', async () => ((await alerts.outbox({ target: String(ALERT_CHAT) })).length === 3 ? true : null), 60_000);
    // The pace counts from the recorded send (markSent), which lands just after Telegram has the
    // message: the clock moves on only once it is recorded, or the next message would be due later.
    const recorded = (n: number) => until(`${n} sends recorded`, async () => (await alerts.outbox({ target: String(ALERT_CHAT), status: 'sent' })).length >= n, 60_000);
    await h.waitForAlerts(1, 60_000);
    await recorded(1);
    for (const sent of [2, 3]) {
      frozenAt += 999;
      assert.equal(await sender.tick(), 0, 'the chat had a message less than a second ago');
      assert.equal(h.alerts().length, sent - 1);
      frozenAt += 1;
      await h.waitForAlerts(sent, 60_000);
      await recorded(sent);
    }
    assert.equal(sendsToChat(h).length, 3, 'one message per project');
    for (const p of projects) assert.equal(h.alerts().filter((m) => m.text.includes(`${p.name} · poller`) && /Bot down/.test(m.text)).length, 1, `${p.name} down once`);
  });
});
