/**
 * Regenerates docs/screenshots/*.png from a realistic seeded server. Not part of the normal run:
 *   BOTPULSE_SCREENSHOTS=docs/screenshots node scripts/run-tests.mjs dashboard-screenshots
 */
import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { chromium, type Browser } from 'playwright-core';
import { hashPassword } from '../../packages/server/src/lib/password.js';
import type { Monitor, MonitorStatus, NewMonitor } from '../../packages/server/src/store/monitors.js';
import type { SqliteStore } from '../../packages/server/src/store/sqlite/index.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';

const OUT = process.env.BOTPULSE_SCREENSHOTS;
const HOUR = 3_600_000;
const MAX_BYTES = 300 * 1024;

interface Seed {
  project: 'pay' | 'gen';
  level: string;
  origin: string;
  /** Events over the last 14 days. */
  count: number;
  /** How the events are spread: steady, a recent spike, or fading out. */
  shape: 'steady' | 'spike' | 'fading' | 'today';
  event: Record<string, unknown>;
  status?: 'in_progress' | 'resolved' | 'ignored';
  github?: number;
  users?: number;
}

const frame = (file: string, fn: string, line: number, inApp: boolean, context?: [string[], string, string[]]) => ({
  filename: file, abs_path: file, function: fn, lineno: line, colno: 17, in_app: inApp,
  ...(context ? { pre_context: context[0], context_line: context[1], post_context: context[2] } : {}),
});
const grammyFrames = [frame('node_modules/grammy/out/composer.js', 'Composer.handle', 51, false), frame('node_modules/grammy/out/bot.js', 'Bot.handleUpdate', 294, false)];
const exception = (type: string, value: string, frames: object[]) => ({ exception: { values: [{ type, value, mechanism: { type: 'generic', handled: true }, stacktrace: { frames } }] } });

const SEEDS: Seed[] = [
  { project: 'pay', level: 'error', origin: 'handler', count: 240, shape: 'spike', users: 61, event: exception('TypeError', "Cannot read properties of undefined (reading 'balance')", [
    ...grammyFrames,
    frame('/app/src/handlers/pay.js', 'onPayCommand', 18, true, [['bot.command("pay", async (ctx) => {', '  const amount = Number(ctx.match);'], '  await chargeUser(ctx, amount);', ['  await ctx.reply(`Charged ${amount} ⭐`);', '});']]),
    frame('/app/src/payments.js', 'chargeUser', 41, true, [['async function chargeUser(ctx, amount) {', '  const account = await loadAccount(ctx.from.id);'], '  if (account.wallet.balance < amount) {', ['    return ctx.reply("Not enough funds");', '  }']]),
  ]) },
  { project: 'pay', level: 'warning', origin: 'handler', count: 530, shape: 'steady', users: 212, event: exception('GrammyError', "Call to 'sendMessage' failed! (403: Forbidden: bot was blocked by the user)", [...grammyFrames, frame('/app/src/notify.js', 'notifyUser', 22, true)]) },
  { project: 'pay', level: 'fatal', origin: 'webhook', count: 45, shape: 'today', users: 38, event: { ...exception('TimeoutError', 'Timeout talking to payments after 30000ms', [frame('/app/src/webhook/yookassa.js', 'confirmPayment', 77, true)]), request: { method: 'POST', url: 'https://pay.example.com/webhook/yookassa' } } },
  { project: 'pay', level: 'error', origin: 'http', count: 96, shape: 'spike', users: 40, event: { message: 'POST /webhook/yookassa → 502 Bad Gateway', request: { method: 'POST', url: 'https://pay.example.com/webhook/yookassa' }, contexts: { response: { status_code: 502 } } } },
  { project: 'pay', level: 'warning', origin: 'worker', count: 1180, shape: 'fading', users: 3, status: 'ignored', event: exception('GrammyError', "Call to 'sendMessage' failed! (429: Too Many Requests: retry after 17)", grammyFrames) },
  { project: 'pay', level: 'error', origin: 'scheduler', count: 12, shape: 'steady', users: 0, status: 'in_progress', github: 214, event: exception('SequelizeConnectionError', 'Connection terminated unexpectedly', [frame('/app/src/jobs/daily-digest.js', 'sendDailyDigest', 30, true)]) },
  { project: 'pay', level: 'info', origin: 'handler', count: 20, shape: 'steady', users: 15, status: 'resolved', event: exception('ValidationError', 'amount must be a positive number', [frame('/app/src/handlers/pay.js', 'parseAmount', 9, true)]) },
  { project: 'gen', level: 'fatal', origin: 'worker', count: 18, shape: 'spike', users: 18, event: exception('OutOfMemoryError', 'CUDA out of memory while generating 1024×1024 image', [frame('/app/workers/generate.py', 'generate_image', 112, true)]) },
  { project: 'gen', level: 'error', origin: 'handler', count: 160, shape: 'steady', users: 90, event: exception('KeyError', "'user_id'", [frame('/app/bot/handlers/start.py', 'cmd_start', 48, true)]) },
  { project: 'gen', level: 'error', origin: 'miniapp', count: 64, shape: 'fading', users: 33, event: exception('TypeError', 'Failed to fetch /api/profile', [frame('https://app.example.com/assets/profile.js', 'loadProfile', 12, true)]) },
  { project: 'gen', level: 'warning', origin: 'handler', count: 300, shape: 'steady', users: 140, event: exception('TelegramBadRequest', 'message is not modified: specified new message content and reply markup are exactly the same', [frame('/app/bot/handlers/menu.py', 'render_menu', 64, true)]) },
  { project: 'gen', level: 'error', origin: 'http', count: 22, shape: 'today', users: 9, event: { message: 'GET /api/generations/<int> → 500 Internal Server Error', request: { method: 'GET', url: 'https://gen.example.com/api/generations/8812' }, contexts: { response: { status_code: 500 } } } },
  { project: 'pay', level: 'error', origin: 'worker', count: 7, shape: 'today', users: 7, event: exception('RangeError', 'Maximum call stack size exceeded', [frame('/app/src/menu/render.js', 'renderMenu', 88, true)]) },
  { project: 'gen', level: 'error', origin: 'scheduler', count: 5, shape: 'fading', users: 0, status: 'resolved', event: exception('HttpError', "Network request for 'getUpdates' failed! (ETIMEDOUT)", grammyFrames) },
];

/** Event times for a shape, newest last, all within the last 14 days. */
function times(shape: Seed['shape'], count: number, now: number): number[] {
  const span = 14 * 24 * HOUR;
  return Array.from({ length: count }, (_, k) => {
    const u = (k + 0.5) / count;
    const back = shape === 'today' ? u * 18 * HOUR : shape === 'spike' ? Math.pow(u, 3) * span : shape === 'fading' ? (0.35 + 0.65 * Math.pow(u, 0.6)) * span : u * span;
    return now - back - ((k * 7919) % 997) * 1000;
  }).sort((a, b) => a - b); // sent oldest first, as they happened
}

/** Monitors in every state with history, lock holders, gauges, latency and alerts, written through the monitor store. */
async function seedMonitors(server: TestServer, payId: number, genId: number, now: number): Promise<void> {
  const ms = server.botpulse.monitoring.store;
  await server.botpulse.monitoring.stop(); // the seeded states stay as written (no sweeps, no probes)
  const MIN = 60_000;
  async function monitor(projectId: number, slug: string, kind: 'heartbeat' | 'uptime', set: Partial<Monitor>, flips: [number, MonitorStatus, MonitorStatus, string][] = [], extra: Partial<NewMonitor> = {}) {
    const m = await ms.createMonitor({ projectId, slug, kind, source: kind === 'uptime' ? 'api' : 'checkin', periodMs: 20_000, graceMs: 60_000, ...extra }, now - 3 * 86_400_000);
    let at = m.updatedAt;
    let status = m.status;
    for (const [ago, from, to, reason] of flips) {
      const ok = await ms.transition({ monitorId: m.id, expect: { status, updatedAt: at }, set: { status: to, updatedAt: at + 1 }, flip: { at: now - ago, from, to, reason } });
      assert.ok(ok);
      at += 1;
      status = to;
    }
    assert.ok(await ms.transition({ monitorId: m.id, expect: { status, updatedAt: at }, set: { ...set, updatedAt: at + 1 } }));
    return m;
  }
  const polling = (host: string, pid: number, okAgo: number, conflicts = 0) => ({ host, pid, env: 'production', last_get_updates_ok_at: new Date(now - okAgo).toISOString(), conflicts, interval_seconds: 20 });
  const pay = await monitor(payId, 'poller', 'heartbeat', { status: 'up', lastPingAt: now - 8_000, lastOkAt: now - 8_000, deadline: now + 12_000, polling: polling('pay-bot-7d9f', 1, 9_000), conflictsTotal: 14 },
    [[2 * 86_400_000, 'new', 'up', 'heartbeat'], [26 * 3600_000, 'up', 'late', 'heartbeat overdue'], [26 * 3600_000 - MIN, 'late', 'down', 'no heartbeat for 80 s'], [25 * 3600_000, 'down', 'up', 'heartbeat']]);
  await monitor(payId, 'health', 'uptime', { status: 'up', lastPingAt: now - 31_000, lastOkAt: now - 31_000, deadline: now + 29_000, gauges: { queue_size: 12, active_users: 318, uptime_seconds: 86_412 } }, [], { url: 'http://pay-bot:8080/health', periodMs: 60_000, timeoutMs: 10_000 });
  await monitor(payId, 'daily-digest', 'heartbeat', { status: 'down', lastPingAt: now - 26 * 3600_000, downSince: now - 2 * 3600_000, downReason: 'no heartbeat for 7320 s', alertSent: true, deadline: null },
    [[50 * 3600_000, 'new', 'up', 'heartbeat'], [2 * 3600_000 + 5 * MIN, 'up', 'late', 'heartbeat overdue'], [2 * 3600_000, 'late', 'down', 'no heartbeat for 7320 s']], { schedule: '0 9 * * *', timezone: 'Europe/Moscow', graceMs: 30 * MIN });
  const gp = await monitor(genId, 'poller', 'heartbeat', { status: 'down', lastPingAt: now - 15_000, downSince: now - 6 * MIN, downReason: 'deaf: no successful getUpdates for 95 s (3 poll windows)', alertSent: true, polling: polling('gen-worker-2', 31, 6 * MIN + 95_000, 3), conflictsTotal: 3 },
    [[86_400_000, 'new', 'up', 'heartbeat'], [6 * MIN, 'up', 'down', 'deaf: no successful getUpdates for 95 s (3 poll windows)']]);
  await monitor(genId, 'render-queue', 'heartbeat', { status: 'late', lastPingAt: now - 95_000, deadline: now + 25_000 }, [[3 * 86_400_000, 'new', 'up', 'heartbeat'], [35_000, 'up', 'late', 'heartbeat overdue']]);
  // Latency: six hours of per-minute histograms, slower around the gen bot's incident.
  const { bucketOf, emptyBuckets } = await import('../../packages/server/src/monitors/latency.js');
  for (const [projectId, base] of [[payId, 120], [genId, 900]] as const) {
    for (let k = 360; k >= 0; k--) {
      const minute = Math.floor((now - k * MIN) / MIN) * MIN;
      const buckets = emptyBuckets();
      const slow = projectId === genId && k < 40 ? 3 : 1 + 0.3 * Math.sin(k / 25);
      let sum = 0;
      for (let i = 0; i < 60; i++) {
        const ms_ = base * slow * Math.exp(((i * 7919) % 100) / 100 - 0.5) * (i % 37 === 0 ? 4 : 1);
        buckets[bucketOf(ms_)]! += 1;
        sum += ms_;
      }
      await ms.addLatency(projectId, minute, buckets, 60, sum);
    }
  }
  const db = (server.botpulse.store as SqliteStore).db;
  const note = async (m: { id: number; projectId: number; slug: string }, kind: string, agoMs: number, status: string) => {
    const n = await ms.enqueue({ projectId: m.projectId, monitorId: m.id, fingerprint: `monitor:${m.id}`, kind, text: kind, payload: { kind, monitor: m.slug }, createdAt: now - agoMs });
    db.prepare('UPDATE monitor_notifications SET status = ?, sent_at = ? WHERE id = ?').run(status, status === 'sent' ? now - agoMs + 400 : null, n.id);
  };
  await note(pay, 'down', 26 * 3600_000 - MIN, 'sent');
  await note(pay, 'recovered', 25 * 3600_000, 'sent');
  await note(pay, 'conflict', 3 * 3600_000, 'sent');
  await note(gp, 'deaf', 6 * MIN, 'sent');
  await note(gp, 'uptime_down', 5 * MIN, 'inhibited');
}

describe('dashboard screenshots', { skip: !OUT && 'set BOTPULSE_SCREENSHOTS=<dir> to regenerate docs/screenshots' }, () => {
  let server: TestServer;
  let browser: Browser;
  let issueId = 0;

  async function sendAll(projectId: number, key: string, events: Record<string, unknown>[]): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < events.length; i += 32) {
      await Promise.all(events.slice(i, i + 32).map(async (event) => {
        const id = crypto.randomUUID().replace(/-/g, '');
        ids.push(id);
        const body = serializeEnvelope({ headers: { event_id: id }, items: [jsonItem('event', event)] });
        const res = await fetch(`${server.url}/api/${projectId}/envelope/?sentry_key=${key}`, { method: 'POST', body });
        assert.equal(res.status, 200);
      }));
    }
    return ids;
  }

  before(async () => {
    server = await startTestServer();
    const store = server.botpulse.store;
    await store.addUser('ann', await hashPassword('correct horse battery'));
    const pay = await store.updateProject(server.project.id, {
      name: 'Pay Bot', shortIdPrefix: 'PAY',
      linkTemplates: [{ name: 'user', url: 'https://admin.example.com/users/{user.id}' }, { name: 'generation', url: 'https://admin.example.com/gen/{tags.gen_request_id}' }],
    });
    const gen = await store.createProject({ name: 'Gen Bot', slug: 'gen-bot', shortIdPrefix: 'GEN' });
    const now = Date.now();
    for (const [n, seed] of SEEDS.entries()) {
      const project = seed.project === 'pay' ? pay : gen;
      const release = seed.project === 'pay' ? 'pay-bot@1.4.2' : 'gen-bot@2.0.1';
      const events = times(seed.shape, seed.count, now).map((t, k) => {
        const user = seed.users ? 100_000 + (k % seed.users) : undefined;
        return {
          ...seed.event, level: seed.level, timestamp: t / 1000, release: k < seed.count / 2 ? release.replace(/\d+$/, '0') : release, environment: 'production',
          platform: seed.project === 'pay' ? 'node' : 'python',
          tags: { origin: seed.origin, chat_type: k % 5 === 0 ? 'group' : 'private', gen_request_id: `gen-${8800 + k}` },
          ...(user ? { user: { id: String(user) }, contexts: { ...(seed.event.contexts as object), telegram: { update_id: 730_000_000 + k, update_type: 'message', chat_id: user, chat_type: 'private', user_id: user, username: `user${user}`, language_code: 'ru' } } } : {}),
          breadcrumbs: { values: [
            { timestamp: t / 1000 - 2.1, category: 'telegram', message: `update ${730_000_000 + k}: message "/pay 100"` },
            { timestamp: t / 1000 - 1.4, category: 'http', data: { method: 'GET', url: 'https://api.example.com/accounts/<id>', status_code: 200 } },
            { timestamp: t / 1000 - 0.3, category: 'db', message: 'SELECT * FROM accounts WHERE telegram_id = $1' },
          ] },
        };
      });
      const [firstId] = await sendAll(project.id, project.publicKey, events);
      await server.digested();
      const issue = (await store.getIssue((await store.getEvent(project.id, firstId!))!.issueId))!;
      if (n === 0) issueId = issue.id;
      if (seed.status === 'ignored') await store.setIssueStatus(issue.id, { status: 'ignored', ignoreForEvents: 5000 });
      else if (seed.status) await store.setIssueStatus(issue.id, { status: seed.status });
      if (seed.github) (store as SqliteStore).db.prepare('UPDATE issues SET github_url = ? WHERE id = ?').run(`https://github.com/acme/pay-bot/issues/${seed.github}`, issue.id);
    }
    await seedMonitors(server, pay.id, gen.id, now);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const shots: [string, string, { width: number; height: number }, 'light' | 'dark'][] = [
    ['issues-desktop', '/issues', { width: 1280, height: 800 }, 'light'],
    ['issue-desktop', '/issues/ISSUE', { width: 1280, height: 800 }, 'light'],
    ['monitors-desktop', '/monitors', { width: 1280, height: 800 }, 'light'],
    ['issues-phone', '/issues', { width: 390, height: 844 }, 'light'],
    ['issue-phone', '/issues/ISSUE', { width: 390, height: 844 }, 'light'],
    ['monitors-phone', '/monitors', { width: 390, height: 844 }, 'light'],
    ['monitors-desktop-dark', '/monitors', { width: 1280, height: 800 }, 'dark'],
    ['project-desktop', '/projects/test-bot', { width: 1280, height: 800 }, 'light'],
    ['issues-desktop-dark', '/issues', { width: 1280, height: 800 }, 'dark'],
    ['issue-desktop-dark', '/issues/ISSUE', { width: 1280, height: 800 }, 'dark'],
  ];

  it('takes the screenshots, each under 300 KB', async () => {
    const dir = resolve(OUT!);
    mkdirSync(dir, { recursive: true });
    for (const [name, path, viewport, colorScheme] of shots) {
      const context = await browser.newContext({ viewport, colorScheme, deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(`${server.url}/login`);
      await page.fill('#login', 'ann');
      await page.fill('#password', 'correct horse battery');
      await Promise.all([page.waitForURL(/\/issues/), page.click('button[type=submit]')]);
      await page.goto(`${server.url}${path.replace('ISSUE', String(issueId))}`);
      await page.waitForLoadState('networkidle');
      const file = join(dir, `${name}.png`);
      await page.screenshot({ path: file });
      assert.ok(statSync(file).size < MAX_BYTES, `${name}.png is ${statSync(file).size} bytes`);
      await context.close();
    }
  });
});
