// The monitors page people can read (issue 16, "Monitors people can read"), server-rendered: uptime
// over 24 h / 7 d / 30 d and the 30-day error budget from the state history (the monitors' clock
// injected, flips at known times), an uptime probe's response times from real probes, issue alerts
// named by short id and shown "delivered" once Telegram took them, and a monitor fed by Sentry
// check-ins without a lock row. The same figures in the API and in /status.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { hashPassword } from '../../packages/server/src/lib/password.js';
import { ManualClock } from '../../packages/server/src/monitors/clock.js';
import { monitorStatusLines } from '../../packages/server/src/monitors/status.js';
import type { Monitor, MonitorStatus } from '../../packages/server/src/store/monitors.js';
import { MonitorHarness, sleep } from './monitors-support/harness.js';

const HOUR = 3_600_000;
const NOW = Math.floor(Date.now() / 60_000) * 60_000;

async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await sleep(50);
  }
}

describe('the monitors page people can read', () => {
  let h: MonitorHarness;
  let health: Server;
  let healthUrl: string;
  let body: string;
  let shortId: string;

  const card = (slug: string) => {
    const start = body.indexOf(`data-monitor="${slug}"`);
    assert.ok(start > 0, `a card for ${slug}`);
    const end = body.indexOf('</article>', start);
    return body.slice(start, end);
  };

  before(async () => {
    health = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"queue_size":3}'));
    await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
    healthUrl = `http://127.0.0.1:${(health.address() as { port: number }).port}/health`;
    h = await MonitorHarness.start({ BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS: '0', BOTPULSE_THRESHOLD_ERRORS: 'off', BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0' }, new ManualClock(NOW));
    const ms = h.server.botpulse.monitoring.store;

    // "cron-job" is fed by Sentry check-ins (no polling context): up for two days, down 3 h of the last 24 h.
    let m: Monitor = await ms.createMonitor({ projectId: h.server.projectId, slug: 'cron-job', kind: 'heartbeat', source: 'checkin' }, NOW - 2 * 24 * HOUR);
    for (const [to, at] of [['up', NOW - 2 * 24 * HOUR], ['down', NOW - 6 * HOUR], ['up', NOW - 3 * HOUR]] as [MonitorStatus, number][]) {
      assert.ok(await ms.transition({ stateId: m.stateId, expect: { status: m.status, updatedAt: m.updatedAt }, set: { status: to, updatedAt: at }, flip: { at, from: m.status, to, reason: to } }));
      m = (await ms.getMonitor(m.id))!;
    }

    // A real uptime probe: due at once, probed by the sweeper, its response time kept.
    await h.createMonitor({ slug: 'health', kind: 'uptime', url: healthUrl });
    await until('the probe', () => h.monitor('health'), (x) => x?.status === 'up');
    await until('its response time', async () => ms.getValue(`probe-history:${(await h.monitor('health'))!.id}`), (v) => v !== null);

    // An error becomes an issue whose alert Telegram (the fake) accepts.
    const project = (await h.server.botpulse.store.getProject(String(h.server.projectId)))!;
    const event = { event_id: 'f'.repeat(32), level: 'error', platform: 'node', exception: { values: [{ type: 'TypeError', value: 'readable monitors' }] } };
    const sent = await fetch(`${h.server.url}/api/${project.id}/envelope/?sentry_key=${project.publicKey}`, { method: 'POST', body: serializeEnvelope({ headers: {}, items: [jsonItem('event', event)] }) });
    assert.equal(sent.status, 200);
    await h.waitForAlerts(1);
    const [issue] = (await h.server.botpulse.store.listIssues({ projectId: project.id })).issues;
    assert.ok(issue, 'the issue');
    shortId = issue.shortId;
    await until('the outbox row marked sent', () => h.server.botpulse.alerting.alerts.outbox({ fingerprint: `issue:${issue.id}` }), (rows) => rows.length > 0 && rows.every((r) => r.status === 'sent'));

    const web = h.server.botpulse.app;
    await h.server.botpulse.store.addUser('ann', await hashPassword('correct horse battery'));
    const form = await web.inject({ method: 'GET', url: '/login' });
    const token = /bp_login_csrf=([^;]+)/.exec(String(form.headers['set-cookie']))![1]!;
    const login = await web.inject({ method: 'POST', url: '/login', cookies: { bp_login_csrf: token }, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: token, login: 'ann', password: 'correct horse battery' }).toString() });
    const page = await web.inject({ method: 'GET', url: '/monitors', cookies: { bp_session: /bp_session=([^;]+)/.exec(String(login.headers['set-cookie']))![1]! } });
    assert.equal(page.statusCode, 200);
    body = page.body;
  });
  after(async () => {
    await h?.close();
    await new Promise((r) => health?.close(r));
  });

  it('shows uptime over 24 h, 7 d and 30 d and the 30-day error budget against 99.5 %', () => {
    const c = card('cron-job');
    // 24 h: 3 h down → 87.50 %; 7 and 30 days: 48 h watched (the monitor is two days old), 3 h down → 93.75 %.
    assert.match(c, /24 h <b class="num">87\.50 %<\/b>/);
    assert.match(c, /7 d <b class="num">93\.75 %<\/b>/);
    assert.match(c, /30 d <b class="num">93\.75 %<\/b>/);
    // 0.5 % of 48 h is 14 min 24 s; 3 h used.
    assert.match(c, /Error budget<\/th><td>14 m 24 s allowed · 3 h 0 m used · <b class="budget-over">overspent by 2 h 45 m<\/b> <span class="faint">\(30 d at 99\.5 %\)/);
  });

  it('draws the probe monitor\'s response times', () => {
    const c = card('health');
    assert.match(c, /data-probe-history><th>Response time<\/th><td><svg class="sparkline"/);
    assert.match(c, /last <b class="num">\d+ ms<\/b> · median \d+ ms · max \d+ ms <span class="faint">\(last 1 probe\)/);
  });

  it('names issues by short id and shows a sent alert as delivered', () => {
    const alerts = body.slice(body.indexOf('<table class="crumbs-table alerts">'));
    assert.match(alerts, new RegExp(`>${shortId}</a> new`));
    assert.doesNotMatch(body, />issue \d+</);
    assert.match(alerts, /data-delivery="sent">delivered</);
    assert.doesNotMatch(alerts, />enqueued</);
  });

  it('says nothing about a lock for a monitor fed by Sentry check-ins', () => {
    assert.doesNotMatch(card('cron-job'), /Lock holder/);
    assert.doesNotMatch(body, /no SDK check-in/);
  });

  it('gives the same figures in the API and in /status', async () => {
    const { json } = await h.api<{ monitors: any[] }>('GET', '/monitors?project=pay-bot');
    const cron = json.monitors.find((x) => x.slug === 'cron-job');
    assert.deepEqual([cron.uptime24h.percent, cron.uptime7d.percent, cron.uptime30d.percent], [87.5, 93.75, 93.75]);
    assert.deepEqual(cron.errorBudget, { targetPercent: 99.5, windowDays: 30, allowedMs: 864_000, usedMs: 3 * HOUR, leftMs: 864_000 - 3 * HOUR, leftPercent: ((864_000 - 3 * HOUR) / 864_000) * 100 });
    const probe = json.monitors.find((x) => x.slug === 'health');
    assert.equal(probe.probeHistory.length, 1);
    assert.equal(probe.probeHistory[0].ok, true);
    assert.equal(cron.probeHistory, null, 'heartbeats have no probes');
    const status = (await monitorStatusLines(h.server.botpulse.store, h.server.botpulse.monitoring.store, NOW, 99.5)).join('\n');
    assert.match(status, /30 d uptime 93\.75 % \(below 99\.5 %: <code>cron-job<\/code>\)/);
  });
});
