// The `botpulse` Python package (issue 15) in a framework's hands, against a real Botpulse server,
// with Debian's sentry-sdk 1.9 and without it: Django's test client (seed 004), a Celery task in
// eager mode, seed 000's ErrorTracker calls (also in a venv without system packages), aiogram's
// middleware on recorded aiogram 3 shapes, and log lines as the server's intake stores them.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parseEnvelope } from '@botpulse/protocol';

import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { eventsOf, makeVenvs, script, skip, type Line, type Venvs } from './python-support/python.js';

describe('botpulse for Python: integrations (issue 15)', { skip }, () => {
  let venvs: Venvs;
  // A stand-in intake: records every raw body (decompressed), answers 200.
  let sink: Server;
  const bodies: { path: string; body: Buffer }[] = [];
  let sinkDsn = '';
  before(async () => {
    venvs = await makeVenvs();
    sink = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        bodies.push({ path: req.url ?? '', body });
        // Project 2 refuses events (as a server refusing a malformed one would), for the client-report test.
        const refuse = (req.url ?? '').startsWith('/api/2/') && body.includes('"type": "event"');
        res.writeHead(refuse ? 400 : 200, { 'content-type': 'application/json' }).end(refuse ? '{"detail":"refused"}' : '{}');
      });
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    sinkDsn = `http://0123456789abcdef0123456789abcdef@127.0.0.1:${(sink.address() as AddressInfo).port}/1`;
  });
  after(async () => {
    if (venvs) rmSync(venvs.dir, { recursive: true, force: true });
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  });

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
        bodies.length = 0;
        const lines = await script(venvs.system, 'aiogram_shapes.py', { ...env(), BOTPULSE_LOG_DSN: sinkDsn });
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
        // The log item as it travels: Sentry's `log` envelope item (headers and payload), at the stand-in intake.
        const logs = bodies.flatMap((b) => (b.path.endsWith('/envelope/') ? parseEnvelope(b.body).items : [])).filter((item) => item.headers.type === 'log');
        const item = logs.find((i) => i.payload.includes('User balance checked'));
        assert.ok(item, 'the log item');
        assert.equal(item.headers['content_type'], 'application/vnd.sentry.items.log+json');
        const payload = JSON.parse(item.payload.toString('utf8')) as { items: Line[] };
        assert.equal(item.headers['item_count'], payload.items.length);
        const entry = payload.items.find((e) => e['body'] === 'User balance checked')!;
        assert.equal(entry['level'], 'info');
        assert.equal(typeof entry['timestamp'], 'number');
        const attributes = entry['attributes'];
        assert.deepEqual(attributes.user_id, { value: 424242, type: 'integer' });
        assert.deepEqual(attributes.update_id, { value: 730001, type: 'integer' });
        assert.deepEqual(attributes.operation, { value: 'check_balance', type: 'string' });
        assert.deepEqual(attributes.duration_ms, { value: 45, type: 'integer' });
        assert.deepEqual(attributes.balance, { value: 10, type: 'integer' });
        assert.deepEqual(attributes['logger.name'], { value: 'bot.handlers', type: 'string' });
        // And the server's intake takes it: the same item sent there is stored, not refused.
        const res = await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body: Buffer.concat([Buffer.from('{}\n'), Buffer.from(JSON.stringify(item.headers)), Buffer.from('\n'), item.payload, Buffer.from('\n')]) });
        assert.equal(res.status, 200);
      });
    }
  });


  describe('scrubbing in the client, seen at a stand-in intake (the server scrubs too, so only the raw bodies prove it)', () => {

    for (const mode of ['sentry-sdk 1.9', 'no sentry-sdk'] as const) {
      it(`no bot token leaves the process (${mode}): exception, frame locals, breadcrumb, extra, log line, check-in`, async () => {
        bodies.length = 0;
        const token = '7000123456:AAF' + 'x9Kq2LmN0pQrStUvWxYz_-AbCdEfGhIj'.repeat(1);
        const secret = token.split(':')[1]!;
        const [done] = await script(venvs.system, 'scrub_sink.py', { TELEGRAM_BOT_TOKEN_DEV: token, ENVIRONMENT: 'development', BOTPULSE_DSN: sinkDsn, BOTPULSE_TEST_HIDE_SENTRY: mode === 'no sentry-sdk' ? '1' : '0' });
        assert.equal(done!['sentry'], mode === 'sentry-sdk 1.9');
        const all = bodies.map((b) => b.body).join('\n');
        assert.ok(all.includes('ConnectionError'), 'the event arrived');
        assert.ok(all.includes('"check_in"') || all.includes('scrub-bot'), 'the check-in arrived');
        assert.ok(all.includes('Telegram call'), 'the log line arrived');
        assert.ok(all.includes('[bot-token]'), 'tokens were replaced');
        assert.ok(!all.includes(secret), `the token left the process: ${all.slice(Math.max(0, all.indexOf(secret) - 200), all.indexOf(secret) + 50)}`);
      });
    }

    it('without sentry-sdk, an event the server refuses is counted, logged and reported in a Sentry client report', async () => {
      bodies.length = 0;
      const refusing = sinkDsn.replace(/\/1$/, '/2');
      const [done] = await script(venvs.bare, 'client_report.py', { BOTPULSE_DSN: refusing });
      assert.deepEqual(done!['counters'].discarded, { 'send_error:error': 1 });
      assert.match(done!['logged'], /1 error item\(s\) dropped for good \(send_error\)/);
      const reports = bodies.flatMap((b) => parseEnvelope(b.body).items).filter((i) => i.headers.type === 'client_report');
      assert.equal(reports.length, 1);
      const report = JSON.parse(reports[0]!.payload.toString('utf8')) as Line;
      assert.deepEqual(report['discarded_events'], [{ reason: 'send_error', category: 'error', quantity: 1 }]);
    });

    it("classifies python-telegram-bot 13's real error classes as noise by class and description, never an application's own error", async () => {
      const [line] = await script(venvs.system, 'noise_rules.py', {});
      assert.deepEqual(line!['kinds'], {
        RetryAfter: 'rate_limited', TimedOut: 'network', NetworkError: 'network', blocked: 'bot_blocked', deactivated: 'user_deactivated',
        'chat not found': 'chat_not_found', 'not modified': 'message_not_modified', 'query too old': 'query_too_old',
        'other getUpdates': 'polling_conflict', 'webhook set': null, 'bad request': null, 'invalid token': null, unauthorized: null,
        migrated: null, 'own error saying chat not found': null, 'own timeout': null,
      });
    });

    it("selects the bot token by seed 001's rules and refuses the production token outside production, without naming it", async () => {
      const lines = await script(venvs.bare, 'token_rules.py', {});
      const by = Object.fromEntries(lines.map((l) => [l['case'], l]));
      assert.equal(by['production uses PROD']!['source'], 'TELEGRAM_BOT_TOKEN_PROD');
      assert.equal(by['OVERRIDE wins in production']!['source'], 'TELEGRAM_BOT_TOKEN_OVERRIDE');
      assert.equal(by['development uses DEV, not PROD']!['source'], 'TELEGRAM_BOT_TOKEN_DEV');
      assert.equal(by['no ENVIRONMENT is development']!['source'], 'TELEGRAM_BOT_TOKEN_DEV');
      assert.equal(by['legacy last']!['source'], 'TELEGRAM_BOT_TOKEN');
      for (const refused of ['only PROD outside production', 'PROD copied into DEV', 'PROD copied into OVERRIDE', 'nothing']) {
        assert.ok(by[refused]!['error'], `${refused}: refused`);
        assert.equal(by[refused]!['leaked'], false, `${refused}: the message names no token`);
      }
    });
  });
});
