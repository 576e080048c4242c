// The `botpulse` Python package (packages/python, issue 15) with the machine's /usr/bin/python3
// and Debian's packages, against a real Botpulse server: a python-telegram-bot 13 bot polling the
// fake Telegram (with sentry-sdk 1.9 and with it hidden), Django's test client, a Celery task in
// eager mode, seed 000's ErrorTracker calls, aiogram's middleware on recorded update shapes, log
// lines at the server's intake, and the Redis polling lock against the Node SDK's.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { FakeTelegram } from '../../packages/fake-telegram/src/index.js';
import type { StoredEvent } from '../../packages/server/src/store/model.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { redisUnavailable, REDIS_URL, uniquePrefix } from './sdk-support/redis.js';

const PYTHON = '/usr/bin/python3';
const PACKAGE = fileURLToPath(new URL('../../packages/python', import.meta.url));
const SCRIPTS = join(PACKAGE, 'tests');
const LOCK_BOT = fileURLToPath(new URL('./sdk-support/lock-bot.ts', import.meta.url));
const run = promisify(execFile);

const MODULES = ['sentry_sdk', 'telegram', 'django', 'celery', 'redis'];
async function missingModules(): Promise<string[]> {
  if (!existsSync(PYTHON)) return ['python3'];
  const missing: string[] = [];
  for (const name of MODULES) {
    try {
      await run(PYTHON, ['-c', `import ${name}`]);
    } catch {
      missing.push(name);
    }
  }
  return missing;
}
const missing = await missingModules();
const skip = missing.length > 0 && `missing Python modules: ${missing.join(', ')} (apt-get install python3-sentry-sdk python3-python-telegram-bot python3-django python3-celery python3-redis python3-venv)`;
if (skip && process.env['CI']) throw new Error(`CI must have them: ${skip}`);

/** Virtual environments with the package installed as a user installs it (offline, from a copy of the source). */
interface Venvs {
  dir: string;
  /** --system-site-packages: Debian's sentry-sdk, telegram, django, celery, redis are visible. */
  system: string;
  /** Without system site packages: only the standard library and botpulse (no sentry-sdk). */
  bare: string;
}

async function makeVenvs(): Promise<Venvs> {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-python-'));
  const source = join(dir, 'src');
  cpSync(PACKAGE, source, { recursive: true, filter: (path) => !/(__pycache__|\.egg-info|[/\\]build)$/.test(path) });
  await run(PYTHON, ['-m', 'venv', '--system-site-packages', join(dir, 'system')]);
  await run(join(dir, 'system/bin/pip'), ['install', '-q', '--no-index', '--no-build-isolation', source], { timeout: 120_000 });
  // The bare venv has no `wheel` to build with: it installs the wheel the first one builds.
  await run(join(dir, 'system/bin/pip'), ['wheel', '-q', '--no-index', '--no-build-isolation', '--no-deps', '-w', join(dir, 'wheels'), source], { timeout: 120_000 });
  await run(PYTHON, ['-m', 'venv', join(dir, 'bare')]);
  const wheel = readdirSync(join(dir, 'wheels')).find((f) => f.endsWith('.whl'))!;
  await run(join(dir, 'bare/bin/pip'), ['install', '-q', '--no-index', join(dir, 'wheels', wheel)], { timeout: 120_000 });
  return { dir, system: join(dir, 'system/bin/python'), bare: join(dir, 'bare/bin/python') };
}

type Line = Record<string, any>;

async function script(python: string, name: string, env: Record<string, string>, args: string[] = []): Promise<Line[]> {
  const { stdout } = await run(python, [join(SCRIPTS, name), ...args], { cwd: tmpdir(), timeout: 120_000, env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: '1' } });
  return stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
}

async function eventsOf(server: TestServer): Promise<StoredEvent[]> {
  await server.digested();
  const { issues } = await server.botpulse.store.listIssues({ projectId: server.project.id, limit: 100 });
  const events: StoredEvent[] = [];
  for (const issue of issues) events.push(...(await server.botpulse.store.listEvents(issue.id, { limit: 100 })));
  return events;
}

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every file under `dir`, read as bytes. */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push({ path, bytes: readFileSync(path) });
  }
  return out;
}

interface Proc {
  child: ChildProcess;
  lines: Line[];
  waitFor(pred: (l: Line) => boolean, what: string, ms?: number): Promise<Line>;
  exited: Promise<number | null>;
}

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** A child process printing JSON lines (run from the repository, where `--import tsx` resolves). */
function start(command: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO, env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: '1' } });
  const lines: Line[] = [];
  const listeners = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    lines.push(JSON.parse(line) as Line);
    for (const l of listeners) l();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitFor(pred, what, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find(pred);
          if (!hit) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no line for ${what} within ${ms} ms; got ${JSON.stringify(lines)}`));
        }, ms);
        listeners.add(check);
        check();
      });
    },
  };
}

describe('botpulse for Python (issue 15)', { skip }, () => {
  let venvs: Venvs;
  before(async () => {
    venvs = await makeVenvs();
  });
  after(() => {
    if (venvs) rmSync(venvs.dir, { recursive: true, force: true });
  });

  for (const mode of ['sentry-sdk 1.9', 'no sentry-sdk'] as const) {
    describe(`a python-telegram-bot 13 bot, ${mode}`, () => {
      let server: TestServer;
      let tg: FakeTelegram;
      let bot: Proc | undefined;
      before(async () => {
        server = await startTestServer();
        tg = await FakeTelegram.start();
      });
      after(async () => {
        if (bot && bot.child.exitCode === null) bot.child.kill('SIGKILL');
        await tg.stop();
        await server.close();
      });

      it('reports a handler exception as one issue with the update context, counts noise, beats from getUpdates, and leaves no token in the data directory', async () => {
        const { token } = tg.createBot();
        const secret = token.split(':')[1]!;
        bot = start(venvs.system, [join(SCRIPTS, 'ptb_bot.py'), tg.apiRoot], {
          TELEGRAM_BOT_TOKEN_DEV: token,
          ENVIRONMENT: 'development',
          BOTPULSE_DSN: server.dsn,
          BOTPULSE_TEST_HIDE_SENTRY: mode === 'no sentry-sdk' ? '1' : '0',
        });
        const ready = await bot.waitFor((l) => l['event'] === 'ready', 'the bot to start');
        assert.equal(ready['sentry'], mode === 'sentry-sdk 1.9');
        await tg.waitFor(() => tg.isPolling(token), { what: 'the bot to poll', timeoutMs: 60_000 });
        tg.sendCommand(token, 'noise');
        const sent = tg.sendCommand(token, 'boom');
        const reported = await bot.waitFor((l) => l['event'] === 'reported', 'the error to be reported');
        assert.deepEqual(reported['counters'].noise, { rate_limited: 1 });

        const events = await waitUntil('the event', async () => {
          const all = await eventsOf(server);
          return all.length > 0 ? all : undefined;
        });
        assert.equal(events.length, 1, 'one event: the RetryAfter was noise');
        const { issues } = await server.botpulse.store.listIssues({ projectId: server.project.id });
        assert.equal(issues.length, 1);
        assert.match(issues[0]!.title, /^RuntimeError: payment failed/);
        const event = events[0]!;
        const telegram = (event.payload as any).contexts.telegram;
        assert.equal(telegram.update_type, 'message');
        assert.equal(telegram.update_id, (sent as any).update.update_id);
        assert.equal(telegram.chat_id, tg.defaultUser.id);
        assert.equal(telegram.user_id, tg.defaultUser.id);
        assert.equal(event.userKey, `tg:${tg.defaultUser.id}`);
        assert.equal(event.tags['update_type'], 'message');
        assert.equal(event.environment, 'development');

        // The heartbeat: check-ins from inside the polling loop, with the last successful getUpdates.
        const checkIn = await waitUntil('an ok check-in', async () => {
          const rows = await server.botpulse.store.listRawItems('check_in', { projectId: server.project.id });
          const parsed = rows.map((r) => JSON.parse(r.payload.toString('utf8')) as Line);
          return parsed.find((c) => c['status'] === 'ok' && c['contexts']?.polling?.last_get_updates_ok_at);
        });
        assert.equal(checkIn['monitor_slug'], 'ptb-bot');
        assert.match(checkIn['contexts'].polling.last_get_updates_ok_at, /^\d{4}-\d\d-\d\dT/);
        assert.deepEqual(checkIn['monitor_config'], { schedule: { type: 'interval', value: 1, unit: 'minute' }, checkin_margin: 4 });

        // The log line the handler wrote (it holds the token) arrived, scrubbed.
        const logs = await waitUntil('the log line', async () => {
          const rows = await server.botpulse.store.listRawItems('log', { projectId: server.project.id });
          return rows.length > 0 ? rows : undefined;
        });
        const entry = (JSON.parse(logs[0]!.payload.toString('utf8')) as Line)['items'][0];
        assert.match(entry.body, /^calling the payment API for \[bot-token\]$/);
        assert.equal(entry.attributes.operation.value, 'payment');

        bot.child.kill('SIGTERM');
        await bot.exited;
        await server.digested();
        // No token anywhere: not in the stored events (decompressed), raw items, nor any file of the data directory.
        for (const stored of await eventsOf(server)) assert.ok(!JSON.stringify(stored).includes(secret), 'token in a stored event');
        for (const kind of ['check_in', 'log']) {
          for (const row of await server.botpulse.store.listRawItems(kind, { projectId: server.project.id })) assert.ok(!row.payload.includes(secret), `token in a ${kind}`);
        }
        for (const file of filesUnder(server.dataDir)) assert.ok(!file.bytes.includes(secret), `token in ${file.path}`);
      });
    });
  }

  describe('Django, Celery, ErrorTracker, aiogram (with and without sentry-sdk)', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
    });
    after(async () => server.close());

    for (const mode of ['sentry-sdk 1.9', 'no sentry-sdk'] as const) {
      const env = () => ({ BOTPULSE_DSN: server.dsn, SENTRY_ENVIRONMENT: mode === 'no sentry-sdk' ? 'bare' : 'sentry', BOTPULSE_TEST_HIDE_SENTRY: mode === 'no sentry-sdk' ? '1' : '0' });
      const mine = async () => (await eventsOf(server)).filter((e) => e.environment === env().SENTRY_ENVIRONMENT);

      it(`Django (${mode}): a view raising is a 500 event with the URL pattern; a 404 is recorded as seed 004 does`, async () => {
        const [done] = await script(venvs.system, 'django_app.py', env());
        assert.deepEqual(done!['statuses'], [500, 404, 200]);
        const events = await mine();
        const failed = events.find((e) => e.tags['url_pattern'] === '/items/<int:item_id>/');
        assert.ok(failed, 'the 500 event');
        assert.equal(failed.level, 'error');
        assert.equal(failed.tags['http.status_code'], '500');
        assert.equal(failed.origin, 'http');
        const payload = failed.payload as any;
        assert.equal(payload.exception.values.at(-1).type, 'KeyError');
        assert.equal(payload.request.method, 'GET');
        assert.equal(payload.request.headers['User-Agent'], 'django-test-agent/1.0');
        assert.equal(payload.request.env.REMOTE_ADDR, '127.0.0.1');
        assert.ok(!JSON.stringify(payload).includes('abc123'), 'the key query parameter is scrubbed');
        const missingPage = events.find((e) => e.tags['http.status_code'] === '404');
        assert.ok(missingPage, 'the 404 event');
        assert.equal(missingPage.level, 'warning');
        assert.equal(missingPage.tags['url_pattern'], '/missing/page/');
        assert.equal((missingPage.payload as any).request.url, 'http://testserver/missing/page/');
        assert.equal(events.filter((e) => e.tags['http.status_code'] !== undefined).length, 2, 'the 200 is not recorded');
      });

      it(`Celery (${mode}): an eager task failure is an event with the task name`, async () => {
        const [done] = await script(venvs.system, 'celery_task.py', env());
        assert.equal(done!['failed'], true);
        const event = (await mine()).find((e) => e.tags['celery_task'] === 'botapp.tasks.generate_image');
        assert.ok(event, 'the task failure event');
        assert.equal(event.origin, 'celery');
        assert.equal((event.payload as any).exception.values.at(-1).value, 'generation 42 failed');
        assert.equal((event.payload as any).contexts.celery.task, 'botapp.tasks.generate_image');
      });

      it(`ErrorTracker.log / alog with seed 000's arguments (${mode}, ${mode === 'no sentry-sdk' ? 'a venv without system packages' : 'Django TextChoices'})`, async () => {
        const python = mode === 'no sentry-sdk' ? venvs.bare : venvs.system;
        const [done] = await script(python, 'error_tracker.py', { ...env(), BOTPULSE_TEST_HIDE_SENTRY: '0' });
        assert.equal(done!['sentry'], mode === 'sentry-sdk 1.9');
        await server.digested();
        const warning = (await server.botpulse.store.getEvent(server.project.id, done!['warning']))!;
        assert.equal(warning.level, 'warning');
        assert.equal(warning.origin, 'miniapp');
        assert.equal(warning.tags['origin'], 'miniapp');
        assert.equal(warning.tags['handler'], 'miniapp.views.payments');
        assert.equal(warning.tags['chat_id'], '555001');
        assert.equal((warning.payload as any).contexts.payload.request_id, 'req-9');
        const critical = (await server.botpulse.store.getEvent(server.project.id, done!['critical']))!;
        assert.equal(critical.level, 'fatal');
        assert.equal(critical.origin, 'celery');
        assert.equal(critical.tags['gen_request_id'], '42');
        assert.equal((critical.payload as any).contexts.payload.api_token, '[Filtered]');
      });

      it(`aiogram middleware on recorded aiogram 3 shapes (${mode}): context, role, noise by class; log lines with seed 002's tags`, async () => {
        const lines = await script(venvs.system, 'aiogram_shapes.py', env());
        assert.deepEqual(lines.filter((l) => l['event'] === 'raised').map((l) => l['type']), ['TelegramForbiddenError', 'ValueError']);
        assert.deepEqual(lines.at(-1)!['counters'].noise, { bot_blocked: 2 });
        const event = (await mine()).find((e) => (e.payload as any).exception?.values?.at(-1)?.type === 'ValueError' && e.tags['update_type']);
        assert.ok(event, 'the handler error');
        assert.deepEqual((event.payload as any).contexts.telegram, {
          update_id: 730001, update_type: 'callback_query', chat_id: -1001234567890, chat_type: 'supergroup', group_id: -1001234567890,
          user_id: 424242, username: 'oleg_k', first_name: 'Oleg', language_code: 'ru', role: 'dispatcher',
        });
        assert.ok(!(await mine()).some((e) => (e.payload as any).exception?.values?.at(-1)?.type === 'TelegramForbiddenError'), 'the blocked error is no event');
        const crumbs = ((event.payload as any).breadcrumbs?.values ?? []) as Line[];
        assert.ok(crumbs.some((c) => c['category'] === 'telegram.noise' && c['data']?.kind === 'bot_blocked'), 'the noise left a breadcrumb');
        // The log item as the server's intake stored it: Sentry's `log` item shape.
        const rows = await server.botpulse.store.listRawItems('log', { projectId: server.project.id });
        const entries = rows.flatMap((r) => (JSON.parse(r.payload.toString('utf8')) as Line)['items'] as Line[]);
        const entry = entries.find((e) => e['attributes']['sentry.environment']?.value === env().SENTRY_ENVIRONMENT);
        assert.ok(entry, 'the log entry');
        assert.equal(entry['level'], 'info');
        assert.equal(entry['body'], 'User balance checked');
        assert.equal(typeof entry['timestamp'], 'number');
        const attributes = entry['attributes'];
        assert.deepEqual(attributes.user_id, { value: 424242, type: 'integer' });
        assert.deepEqual(attributes.update_id, { value: 730001, type: 'integer' });
        assert.deepEqual(attributes.operation, { value: 'check_balance', type: 'string' });
        assert.deepEqual(attributes.duration_ms, { value: 45, type: 'integer' });
        assert.deepEqual(attributes['logger.name'], { value: 'bot.handlers', type: 'string' });
        const meta = rows.find((r) => r.payload.includes(env().SENTRY_ENVIRONMENT))!.meta ?? {};
        if ('content_type' in meta) assert.equal(meta['content_type'], 'application/vnd.sentry.items.log+json');
      });
    }
  });

  describe('the polling lock against the Node SDK', async () => {
    const redisSkip = await redisUnavailable();
    let tg: FakeTelegram;
    const procs: Proc[] = [];
    before(async () => {
      tg = await FakeTelegram.start();
    });
    after(async () => {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await Promise.all(procs.map((p) => p.exited));
      await tg.stop();
    });

    it('a Python holder keeps a Node poller of the same token out, and the reverse; release_lock refuses a live holder without --force', { skip: redisSkip }, async () => {
      const { token } = tg.createBot();
      const key = uniquePrefix('pylock');
      const nodeBot = (mode: string) => {
        const p = start(process.execPath, ['--import', 'tsx', LOCK_BOT, tg.apiRoot, token, REDIS_URL, key, '3000', 'N', mode]);
        procs.push(p);
        return p;
      };
      const python = (...args: string[]) => {
        const p = start(venvs.system, [join(SCRIPTS, 'lock_holder.py'), REDIS_URL, key, '3000', ...args]);
        procs.push(p);
        return p;
      };

      const holder = python();
      const acquired = await holder.waitFor((l) => l['event'] === 'acquired', 'python to take the lock');
      assert.deepEqual(Object.keys(JSON.parse(acquired['value'])), ['host', 'pid', 'env', 'ts']);
      const refused = nodeBot('exit');
      const leaving = await refused.waitFor((l) => /not polling/.test(String(l['message'])), 'the Node bot to refuse');
      assert.match(leaving['message'], new RegExp(`held by host \\S+ pid ${holder.child.pid} \\(`));
      assert.equal(await refused.exited, 1);
      assert.equal(tg.calls({ method: 'getUpdates' }).length, 0, 'the Node bot never polled');
      holder.child.kill('SIGTERM');
      assert.equal((await holder.waitFor((l) => l['event'] === 'released', 'python to release'))['released'], true);

      const node = nodeBot('wait');
      await node.waitFor((l) => /taken by host/.test(String(l['message'])), 'the Node bot to take the lock');
      const second = python();
      const held = await second.waitFor((l) => l['event'] === 'held', 'python to be kept out');
      assert.match(held['message'], new RegExp(`held by host \\S+ pid ${node.child.pid} \\(`));
      assert.equal(await second.exited, 1);

      const release = async (...args: string[]) => {
        try {
          const { stdout } = await run(venvs.system, ['-m', 'botpulse.release_lock', '--redis-url', REDIS_URL, '--key', key, ...args], { cwd: tmpdir() });
          return { code: 0, stdout };
        } catch (error) {
          const e = error as { code: number; stdout: string; stderr: string };
          return { code: e.code, stdout: e.stdout + e.stderr };
        }
      };
      const redis = new Redis(REDIS_URL);
      try {
        const refusedRelease = await release();
        assert.equal(refusedRelease.code, 1, refusedRelease.stdout);
        assert.match(refusedRelease.stdout, new RegExp(`pid ${node.child.pid} runs on this host`));
        assert.match(refusedRelease.stdout, /refusing to release a live holder/);
        assert.notEqual(await redis.get(key), null);
        const forced = await release('--force');
        assert.equal(forced.code, 0, forced.stdout);
        assert.equal(await redis.get(key), null);
        const free = await release();
        assert.equal(free.code, 0);
        assert.match(free.stdout, /is free/);
      } finally {
        node.child.kill('SIGTERM');
        await node.exited;
        await redis.del(key);
        redis.disconnect();
      }
    });
  });
});
