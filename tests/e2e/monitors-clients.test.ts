// What real clients send to the monitors (issue 11, "What real clients send"; issue 10, settings a
// person made win): spans from the real @sentry/node 11 and transactions from @sentry/node 10 feed
// the latency percentiles and the latency rule; check-ins from the real @sentry/node with free-text
// slugs and several environments, each environment going down, alerting and recovering on its own;
// settings edited through the API and the dashboard kept against later check-ins' monitor_config.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { presentProject } from '../../packages/server/src/http/present.js';
import { hashPassword } from '../../packages/server/src/lib/password.js';
import { monitorStatusLines } from '../../packages/server/src/monitors/status.js';
import type { Project } from '../../packages/server/src/store/model.js';
import { MonitorHarness, sleep } from './monitors-support/harness.js';

const CLIENT = fileURLToPath(new URL('./clients/sentry-node-monitors.mjs', import.meta.url));
const SENTRY_10 = '@sentry/node';
const SENTRY_11 = '@sentry/node-11';

/** Runs the real @sentry/node in a child process (the server answers from this one, so asynchronously). */
async function sentryNode(module: string, dsn: string, ...args: string[]): Promise<{ sdk: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLIENT, module, dsn, ...args], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(stdout) as { sdk: string };
}

async function waitFor<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

describe('monitors fed by real clients', () => {
  let h: MonitorHarness;
  let oldBot: Project;

  before(async () => {
    // The latency rule: p95 above 250 ms for 1 s.
    h = await MonitorHarness.start({ BOTPULSE_THRESHOLD_LATENCY: '250ms/1s', BOTPULSE_THRESHOLD_ERRORS: 'off', BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS: '0' });
    oldBot = await h.server.botpulse.store.createProject({ name: 'Old Bot', slug: 'old-bot', shortIdPrefix: 'O' });
  });
  after(async () => h.close());

  const dsnOf = (p: Project) => presentProject(p, h.server.url).dsn;
  const latency = async (project: string) => (await h.api<{ points: { count: number; p50: number | null; p95: number | null }[] }>('GET', `/projects/${project}/latency?minutes=10`)).json.points;
  const counted = (points: { count: number }[]) => points.reduce((n, p) => n + p.count, 0);
  const envelope = async (items: unknown[], project: Project | null = null) => {
    const p = project ?? (await h.server.botpulse.store.getProject(String(h.server.projectId)))!;
    const res = await fetch(`${h.server.url}/api/${p.id}/envelope/?sentry_key=${p.publicKey}`, { method: 'POST', body: serializeEnvelope({ headers: {}, items: items.map((i) => jsonItem('check_in', i)) }) });
    return { status: res.status, json: (await res.json()) as { warnings?: string[] } };
  };
  const checkIn = (slug: string, status: string, environment: string, config?: object) => sentryNode(SENTRY_10, h.server.dsn, 'checkin', slug, status, environment, ...(config ? [JSON.stringify(config)] : []));
  const monitorBySlug = async (slug: string) => ((await h.api<{ monitors: any[] }>('GET', '/monitors?project=pay-bot')).json.monitors as any[]).find((m) => m.slug === slug);

  it('@sentry/node 11 streams spans (span v2): their segment spans give latency percentiles and fire the latency rule', async () => {
    const { sdk } = await sentryNode(SENTRY_11, h.server.dsn, 'spans', '6', '400');
    assert.match(sdk, /^11\./, 'the real current major');
    const points = await waitFor('six segment spans in the latency statistics', () => latency('pay-bot'), (p) => counted(p) >= 6);
    assert.equal(counted(points), 6, 'one per update: the child spans (sendMessage) are not updates');
    const p95 = Math.max(...points.map((p) => p.p95 ?? 0));
    // The spans last 400 ms by the client's timer, longer on a loaded machine, never shorter; the
    // upper bound only rules out a unit mix-up (seconds read as ms, or the reverse).
    assert.ok(p95 >= 300 && p95 < 5000, `p95 ≈ 400 ms, got ${p95}`);
    const alerts = await waitFor('the latency alert', async () => h.alerts(), (a) => a.some((m) => /Threshold exceeded/.test(m.text) && /Pay Bot/.test(m.text)));
    assert.match(alerts.find((m) => /Pay Bot/.test(m.text))!.text, /update latency p95/);
  });

  it('@sentry/node 10 transactions still feed the same statistics and rule', async () => {
    const { sdk } = await sentryNode(SENTRY_10, dsnOf(oldBot), 'spans', '5', '400');
    assert.match(sdk, /^10\./);
    const points = await waitFor('five transactions in the latency statistics', () => latency('old-bot'), (p) => counted(p) >= 5);
    assert.equal(counted(points), 5);
    await waitFor('the latency alert of the old bot', async () => h.alerts(), (a) => a.some((m) => /Threshold exceeded/.test(m.text) && /Old Bot/.test(m.text)));
  });

  it('keeps state per environment: a staging ok does not hide a production error; each alerts (named) and recovers on its own', async () => {
    const config = { schedule: { type: 'interval', value: 1, unit: 'hour' }, checkinMargin: 30 };
    await checkIn('Nightly Backup Job', 'ok', 'production', config);
    await checkIn('Nightly Backup Job', 'ok', 'staging', config);
    const both = await waitFor('two environments', () => monitorBySlug('nightly-backup-job'), (m) => m?.environments?.length === 2);
    assert.deepEqual(both.environments.map((e: any) => [e.environment, e.status]), [['production', 'up'], ['staging', 'up']]);
    assert.equal(both.periodSeconds, 3600);

    const before = h.alerts().length;
    await checkIn('Nightly Backup Job', 'error', 'production');
    await checkIn('Nightly Backup Job', 'ok', 'staging');
    const down = await waitFor('production down', () => monitorBySlug('nightly-backup-job'), (m) => m?.environments?.find((e: any) => e.environment === 'production')?.status === 'down');
    assert.equal(down.status, 'down', 'the monitor shows its worst environment');
    assert.equal(down.environments.find((e: any) => e.environment === 'staging').status, 'up', "staging's ok is staging's");
    const [alert] = (await h.waitForAlerts(before + 1)).slice(before);
    assert.match(alert!.text, /Bot down.*nightly-backup-job.*\(production\)/s);

    const status = (await monitorStatusLines(h.server.botpulse.store, h.server.botpulse.monitoring.store, Date.now())).join('\n');
    assert.match(status, /1 up.*1 down \(<code>nightly-backup-job<\/code> \(production\)\)/);
    assert.match(status, /environments: production, staging/);

    await checkIn('Nightly Backup Job', 'ok', 'production');
    const [recovered] = (await h.waitForAlerts(before + 2)).slice(before + 1);
    assert.match(recovered!.text, /Bot recovered.*\(production\)/s);
    const flips = (await h.api('GET', `/monitors/${down.id}/flips`)).json.flips as { environment: string; to: string }[];
    assert.deepEqual(flips.filter((f) => f.environment === 'production').map((f) => f.to), ['up', 'down', 'up']);
    assert.deepEqual(flips.filter((f) => f.environment === 'staging').map((f) => f.to), ['up']);
  });

  it('accepts free-text slugs as Sentry does (keyed by the slugified form), and counts what is still refused', async () => {
    await h.createMonitor({ slug: 'bot.poller' });
    const long = `Weekly ${'report '.repeat(16)}`.slice(0, 120);
    const answer = await envelope([
      { check_in_id: 'a'.repeat(32), monitor_slug: 'billing/daily', status: 'ok' },
      { check_in_id: 'b'.repeat(32), monitor_slug: long, status: 'ok' },
      { check_in_id: 'c'.repeat(32), monitor_slug: 'bot.poller', status: 'ok' },
      { check_in_id: 'd'.repeat(32), monitor_slug: '!!!', status: 'ok' },
    ]);
    assert.equal(answer.status, 200);
    assert.match(answer.json.warnings?.join('\n') ?? '', /"!!!" has no letter or digit/);
    const expected = 'weekly-report-report-report-report-report-report-r';
    assert.equal(expected.length, 50);
    for (const slug of ['billingdaily', expected]) await waitFor(`monitor ${slug}`, () => monitorBySlug(slug), (m) => m?.status === 'up');
    assert.equal((await monitorBySlug('bot.poller')).status, 'up', 'a monitor made before keeps its exact slug');
    assert.equal((await monitorBySlug('botpoller')), undefined);
    const refusals = await h.server.botpulse.monitoring.store.refusals(h.server.projectId);
    assert.deepEqual(refusals.map((r) => [r.reason, r.count]), [['slug', 1]]);
    const metrics = await (await fetch(`${h.server.url}/metrics`)).text();
    assert.match(metrics, /botpulse_monitor_checkins_refused_total\{bot="pay-bot",reason="slug"\} 1/);
  });

  it('keeps settings a person made (API and dashboard) when later check-ins declare the SDK defaults', async () => {
    const sdkDefaults = { schedule: { type: 'interval', value: 1, unit: 'minute' }, checkinMargin: 5, failureIssueThreshold: 2 };
    await checkIn('poller', 'ok', 'production', sdkDefaults);
    const made = await waitFor('the poller monitor', () => monitorBySlug('poller'), (m) => m?.status === 'up');
    assert.deepEqual([made.periodSeconds, made.graceSeconds, made.failureThreshold, made.setByHand], [60, 300, 2, []]);

    const patched = await h.api('PATCH', `/monitors/${made.id}`, { periodSeconds: 20, graceSeconds: 280 });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.json.monitor.setByHand, ['periodSeconds', 'graceSeconds']);

    // The dashboard's edit form, as a person submits it (every value shown; only the failure threshold changed).
    const web = h.server.botpulse.app;
    await h.server.botpulse.store.addUser('ann', await hashPassword('correct horse battery'));
    const form = await web.inject({ method: 'GET', url: '/login' });
    const loginToken = /bp_login_csrf=([^;]+)/.exec(String(form.headers['set-cookie']))![1]!;
    const login = await web.inject({ method: 'POST', url: '/login', cookies: { bp_login_csrf: loginToken }, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: loginToken, login: 'ann', password: 'correct horse battery' }).toString() });
    const session = /bp_session=([^;]+)/.exec(String(login.headers['set-cookie']))![1]!;
    const page = await web.inject({ method: 'GET', url: '/monitors', cookies: { bp_session: session } });
    assert.match(page.body, /Set by hand<\/th><td>periodSeconds, graceSeconds/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const fields = { _csrf: csrf, periodSeconds: '20', graceSeconds: '280', schedule: '', timezone: '', failureThreshold: '3', recoveryThreshold: '1' };
    const saved = await web.inject({ method: 'POST', url: `/monitors/${made.id}/settings`, cookies: { bp_session: session }, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });
    assert.equal(saved.statusCode, 303, saved.body);
    const refused = await web.inject({ method: 'POST', url: `/monitors/${made.id}/settings`, cookies: { bp_session: session }, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ ...fields, schedule: '0 0 31 4 *' }).toString() });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.body, /never runs/);

    await checkIn('poller', 'ok', 'production', { ...sdkDefaults, failureIssueThreshold: 1, recoveryThreshold: 2 });
    const kept = await waitFor('the check-in applied', () => monitorBySlug('poller'), (m) => m?.recoveryThreshold === 2);
    assert.deepEqual([kept.periodSeconds, kept.graceSeconds, kept.failureThreshold], [20, 280, 3], 'the values a person set win');
    assert.deepEqual(kept.setByHand, ['periodSeconds', 'graceSeconds', 'failureThreshold']);

    // null gives a setting back to the check-ins: the next one sets it again.
    assert.equal((await h.api('PATCH', `/monitors/${made.id}`, { periodSeconds: null })).status, 200);
    await checkIn('poller', 'ok', 'production', sdkDefaults);
    const back = await waitFor('the period back from the check-in', () => monitorBySlug('poller'), (m) => m?.periodSeconds === 60);
    assert.deepEqual([back.graceSeconds, back.failureThreshold], [280, 3]);
    assert.equal((await h.api('PATCH', `/monitors/${made.id}`, { schedule: '0 0 30 2 *' })).status, 400, 'an impossible schedule is refused by the API too');
  });
});

describe('the limit on monitors made by check-ins and pings', () => {
  let h: MonitorHarness;
  before(async () => {
    h = await MonitorHarness.start({ BOTPULSE_CHECKIN_MONITOR_LIMIT: '5' });
  });
  after(async () => h.close());

  it('one envelope with many unknown slugs creates only up to the limit, says so in the answer, the dashboard and /metrics, and sends no flood of alerts', async () => {
    const project = (await h.server.botpulse.store.getProject(String(h.server.projectId)))!;
    await h.createMonitor({ slug: 'made-by-a-person' });
    const items = Array.from({ length: 200 }, (_, i) => jsonItem('check_in', { check_in_id: i.toString(16).padStart(32, '0'), monitor_slug: `job-${i}`, status: 'ok' }));
    const res = await fetch(`${h.server.url}/api/${project.id}/envelope/?sentry_key=${project.publicKey}`, { method: 'POST', body: serializeEnvelope({ headers: {}, items }) });
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { warnings?: string[] };
    assert.match(answer.warnings?.join('\n') ?? '', /^195 check-ins refused \(unknown monitors beyond the limit.*BOTPULSE_CHECKIN_MONITOR_LIMIT/);

    const store = h.server.botpulse.monitoring.store;
    await waitFor('five monitors up', () => store.listMonitors({ projectId: project.id, status: 'up' }), (l) => l.length === 5);
    assert.equal(await store.countProjectMonitors(project.id), 6, 'five from check-ins, one from the API (not counted)');
    assert.deepEqual((await store.refusals(project.id)).map((r) => [r.reason, r.count]), [['limit', 195]]);

    // A known monitor keeps working at the limit; a new slug is refused at once, also by the plain ping.
    const known = await fetch(`${h.server.url}/api/pay-bot/heartbeat/job-0?sentry_key=${project.publicKey}`);
    assert.equal(known.status, 200);
    const ping = await fetch(`${h.server.url}/api/pay-bot/heartbeat/job-999?sentry_key=${project.publicKey}`);
    assert.equal(ping.status, 429);
    assert.match(((await ping.json()) as { error: string }).error, /already has 5 monitors made by check-ins and pings/);
    assert.deepEqual((await store.refusals(project.id)).map((r) => [r.reason, r.count]), [['limit', 196]]);

    const metrics = await (await fetch(`${h.server.url}/metrics`)).text();
    assert.match(metrics, /botpulse_monitor_checkins_refused_total\{bot="pay-bot",reason="limit"\} 196/);
    const web = h.server.botpulse.app;
    await h.server.botpulse.store.addUser('ann', await hashPassword('correct horse battery'));
    const form = await web.inject({ method: 'GET', url: '/login' });
    const token = /bp_login_csrf=([^;]+)/.exec(String(form.headers['set-cookie']))![1]!;
    const login = await web.inject({ method: 'POST', url: '/login', cookies: { bp_login_csrf: token }, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: token, login: 'ann', password: 'correct horse battery' }).toString() });
    const page = await web.inject({ method: 'GET', url: '/monitors', cookies: { bp_session: /bp_session=([^;]+)/.exec(String(login.headers['set-cookie']))![1]! } });
    assert.match(page.body, /196 check-ins for unknown monitors refused: limit 5 reached/);
    // The refused slugs never became monitors, so nothing can go down for them: no alert at all.
    await sleep(500);
    assert.deepEqual(h.alerts(), []);
  });

  it('counts check-ins that pass the answer but meet the limit when applied (another envelope came first)', async () => {
    const project = (await h.server.botpulse.store.getProject(String(h.server.projectId)))!;
    const store = h.server.botpulse.monitoring.store;
    const before = (await store.refusals(project.id))[0]!.count;
    // Parked straight into the spool, as an envelope answered before the limit was reached would be.
    await h.server.botpulse.spool.append([{ projectId: project.id, kind: 'check_in', eventId: null, receivedAt: Date.now(), payload: Buffer.from(JSON.stringify({ monitor_slug: 'late-comer', status: 'ok' })) }], { projectId: project.id, counts: {} });
    await waitFor('the refusal counted', async () => (await store.refusals(project.id))[0]!.count, (n) => n === before + 1);
    assert.equal(await store.findMonitor(project.id, 'late-comer'), null);
  });
});
