// Log templates and per-operation latency end to end (docs/logs.md "Templates", "Latency per
// operation"), on a real server with the fake Telegram; the logs' clock is injected, so "a day of
// logging" passes without waiting.
//   - lines are clustered into templates: counts, rate, first/last seen through the API and the
//     dashboard page; each template's lines through `template:<id>` (API and Logs page)
//   - a template first seen after a day of logging is a new pattern: flagged in the API, the page
//     and /status, and sent to no chat; one seen in the first day is not
//   - lines with `operation` + `duration_ms` give per-operation percentiles (API and monitors page)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashPassword } from '../../packages/server/src/lib/password.js';
import type { Project } from '../../packages/server/src/store/model.js';
import { startTestServer } from '../../packages/server/src/test-support/server.js';
import { ADMIN, ALERT_CHAT, alertEnv, harnessFor, startFakeTelegram, type AlertHarness } from './alerts-support/harness.js';

const DAY = 86_400_000;
const PASSWORD = 'correct horse battery staple';

async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface ApiTemplate {
  id: string;
  template: string;
  count: number;
  recent: number;
  perHour: number;
  firstSeen: string;
  lastSeen: string;
  newPattern: boolean;
  lines: string;
}

describe('log templates and operation latency', () => {
  let h: AlertHarness;
  let logNow = Date.now();
  let project: Project;
  let session: string;

  before(async () => {
    const { tg, token } = await startFakeTelegram();
    const server = await startTestServer(alertEnv(tg, token), { create: { logs: { clock: { now: () => logNow } } } });
    h = harnessFor(tg, token, server);
    await h.tg.waitFor(() => h.tg.isPolling(h.token), { what: 'the alert bot polling' });
    project = await server.botpulse.store.createProject({ name: 'Pattern Bot', slug: 'pattern-bot', shortIdPrefix: 'PB' });
    await server.botpulse.store.addUser('ops', await hashPassword(PASSWORD));
    const form = await fetch(`${server.url}/login`);
    const csrf = form.headers.getSetCookie().find((c) => c.startsWith('bp_login_csrf='))!.split(';')[0]!.split('=')[1]!;
    const login = await fetch(`${server.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `bp_login_csrf=${csrf}` },
      body: new URLSearchParams({ _csrf: csrf, login: 'ops', password: PASSWORD }).toString(),
    });
    session = login.headers.getSetCookie().find((c) => c.startsWith('bp_session='))!.split(';')[0]!;
  });
  after(async () => h.close());

  const send = async (records: Record<string, unknown>[]) => {
    const response = await fetch(`${h.server.url}/api/${project.id}/logs/?sentry_key=${project.publicKey}`, { method: 'POST', body: records.map((r) => JSON.stringify(r)).join('\n') });
    assert.equal(response.status, 200, await response.text());
  };
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${h.server.url}${path}`, { headers: { authorization: `Bearer ${h.server.token}` } });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return JSON.parse(text) as T;
  };
  const page = async (path: string) => {
    const response = await fetch(`${h.server.url}${path}`, { headers: { cookie: session } });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return text;
  };
  const templates = async () => (await api<{ templates: ApiTemplate[] }>(`/api/v1/projects/${project.slug}/log-templates?hours=24`)).templates;
  const byText = async (text: string) => (await templates()).find((t) => t.template === text);

  it('clusters lines into templates with counts and rates, and lists each template\'s lines', async () => {
    await send([
      { level: 'info', msg: 'User 101 checked balance', logger: 'bot.balance' },
      { level: 'info', msg: 'User 102 checked balance', logger: 'bot.balance' },
      { level: 'info', msg: 'User 103 checked balance', logger: 'bot.balance' },
      { level: 'error', msg: 'Payment for alice failed: card declined', logger: 'bot.pay' },
      { level: 'error', msg: 'Payment for bob failed: card declined', logger: 'bot.pay' },
    ]);
    const balance = (await byText('User <int> checked balance'))!;
    assert.ok(balance, JSON.stringify(await templates()));
    assert.equal(balance.count, 3);
    assert.equal(balance.recent, 3);
    assert.equal(balance.perHour, 0.1, '3 lines in 24 h');
    assert.equal(balance.firstSeen, new Date(logNow).toISOString());
    assert.equal(balance.newPattern, false);
    // The second payment line generalised the first one's template: one template with both lines.
    const payment = (await byText('Payment for <*> failed: card declined'))!;
    assert.ok(payment, JSON.stringify(await templates()));
    assert.equal(payment.count, 2);
    assert.deepEqual((await templates()).map((t) => t.template).sort(), ['Payment for <*> failed: card declined', 'User <int> checked balance']);

    const lines = await api<{ lines: { message: string; templateId: string }[] }>(payment.lines);
    assert.deepEqual(lines.lines.map((l) => l.message), ['Payment for bob failed: card declined', 'Payment for alice failed: card declined']);

    const templatesPage = await page(`/logs/templates?project=${project.slug}`);
    assert.match(templatesPage, /User &lt;int&gt; checked balance/);
    assert.match(templatesPage, new RegExp(`href="/logs\\?project=pattern-bot&amp;q=template%3A${payment.id}"`));
    const logsPage = await page(`/logs?project=${project.slug}&q=${encodeURIComponent(`template:${payment.id}`)}`);
    assert.match(logsPage, /Payment for bob failed/);
    assert.doesNotMatch(logsPage, /checked balance/);
    assert.match(logsPage, /href="\/logs\/templates\?project=pattern-bot"/, 'the Logs page links its templates');
  });

  it('flags a template first seen after a day of logging as a new pattern: the API, the page and /status show it, no chat is sent it', async () => {
    logNow += 2 * 3_600_000;
    await send([{ level: 'info', msg: 'Cache warmed in 12ms' }]);
    assert.equal((await byText('Cache warmed in <duration>'))?.newPattern, false, 'new in the first day: learning, not news');

    logNow += DAY;
    const sent = h.messages().length;
    await send([{ level: 'warning', msg: 'Webhook retry 3 scheduled by upstream' }, { level: 'info', msg: 'User 104 checked balance' }]);
    const fresh = (await byText('Webhook retry <int> scheduled by upstream'))!;
    assert.equal(fresh.newPattern, true);
    assert.equal((await byText('User <int> checked balance'))!.newPattern, false, 'a known template stays known');
    assert.match(await page(`/logs/templates?project=${project.slug}`), /Webhook retry &lt;int&gt; scheduled by upstream<\/code> <span class="badge level-warning"[^>]*>new pattern/);

    h.tg.sendCommand(h.token, 'status', { from: ADMIN.id, chatId: ALERT_CHAT });
    await h.waitForMessages(sent + 1);
    const status = h.messages()[sent]!.text ?? '';
    assert.match(status, /🆕 pattern-bot: new log pattern “Webhook retry <int> scheduled by upstream” × 1/);
    assert.doesNotMatch(status, /Cache warmed/);
    // Warning tier: the /status answer is the only message; nothing was pushed to the chat.
    assert.equal(h.messages().length, sent + 1);
    const notifications = await h.server.botpulse.monitoring.store.notifications({ projectId: project.id });
    assert.deepEqual(notifications, []);
  });

  it('turns operation + duration_ms into per-operation percentiles, in the API and on the monitors page', async () => {
    const durations = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100 ms
    await send([
      ...durations.map((ms) => ({ level: 'info', msg: 'payment processed', operation: 'payment', duration_ms: ms })),
      { level: 'info', msg: 'balance checked', operation: 'check_balance', duration_ms: '45' },
      { level: 'info', msg: 'no duration', operation: 'check_balance' },
      { level: 'info', msg: 'not a number', operation: 'check_balance', duration_ms: 'slow' },
    ]);
    const { logs } = h.server.botpulse;
    const newest = (await logs.searchLines({ projectId: project.id, limit: 1 }))[0]!.id;
    await until('the evaluator to read the lines', async () => (await logs.ruleCursor()) >= newest);
    const { operations } = await api<{ operations: { operation: string; count: number; p50: number; p95: number; p99: number }[] }>(`/api/v1/projects/${project.slug}/latency/operations?minutes=60`);
    assert.deepEqual(operations.map((o) => [o.operation, o.count]), [['payment', 100], ['check_balance', 1]]);
    const payment = operations[0]!;
    // The histogram's buckets are within ±9 %.
    assert.ok(Math.abs(payment.p50 - 50) <= 5, `p50 ${payment.p50}`);
    assert.ok(Math.abs(payment.p95 - 95) <= 9, `p95 ${payment.p95}`);
    assert.ok(Math.abs(operations[1]!.p50 - 45) <= 4.5, `check_balance p50 ${operations[1]!.p50}`);
    const monitorsPage = await page('/monitors');
    assert.match(monitorsPage, /Latency per operation \(log lines\)/);
    assert.match(monitorsPage, /<td><code>payment<\/code><\/td><td class="num">100<\/td>/);
  });
});
