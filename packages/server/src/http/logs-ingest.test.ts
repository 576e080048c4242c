// The ways log lines come in (docs/api.md "Log lines", docs/logs.md): the NDJSON endpoint with
// pino, structlog, Python logging JSON and generic shapes, and Sentry `log` items in envelopes;
// scrubbed before the disk, deduplicated by `botpulse.line_id`, every refusal said.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { startTestServer, type TestServer } from '../test-support/server.js';

const BOT_TOKEN = '7012345678:AAHk3vQ9xZp2LmN8rT5sW1yU4bC6dE0fG7h';

describe('log ingestion', () => {
  let server: TestServer;
  let logsUrl: string;
  before(async () => {
    // Rules off: this file is about storage (rules: logs/rules.test.ts).
    server = await startTestServer({ BOTPULSE_LOG_MAX_BODY_BYTES: '4096', BOTPULSE_LOG_RULES: JSON.stringify({ '*': { enabled: false } }) });
    logsUrl = `${server.url}/api/${server.project.id}/logs/`;
  });
  after(async () => server.close());

  const auth = () => ({ 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${server.project.publicKey}` });
  const post = async (body: string | Buffer, headers: Record<string, string> = {}) => {
    const response = await fetch(logsUrl, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...auth(), ...headers }, body });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const ndjson = (...records: unknown[]) => records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');
  const search = (q: string) => server.botpulse.logs.searchLines({ projectId: server.project.id, text: q });

  it('understands pino, structlog, Python logging JSON and generic lines; other keys become fields; bad lines are refused with the reason', async () => {
    const t = Date.UTC(2026, 11, 5, 12, 0, 0);
    const { status, json } = await post(ndjson(
      { level: 50, time: t, pid: 1, hostname: 'h', name: 'pay-bot', msg: 'pino: charge failed', user_id: 42 },
      { event: 'structlog: balance checked', level: 'warning', timestamp: '2026-12-05T12:00:01Z', logger: 'bot.balance', operation: 'check_balance', duration_ms: 45 },
      { levelname: 'CRITICAL', levelno: 50, message: 'python: startup failure', name: 'bot.main', created: t / 1000 + 2, update_id: 991, extra: { a: [1, 2] } },
      { message: 'generic: ok', level: 'INFO', ts: t + 3000, environment: 'production', release: 'bot@1.2.3' },
      '',
      'this is not json',
      '[1, 2]',
      { level: 'error' },
      { msg: 'bad id', 'botpulse.line_id': 12 },
    ));
    assert.equal(status, 200);
    assert.deepEqual(json, {
      accepted: 4,
      duplicates: 0,
      rejected: [
        { line: 6, reason: json.rejected && (json.rejected as { reason: string }[])[0]!.reason },
        { line: 7, reason: 'not a JSON object' },
        { line: 8, reason: 'no message: expected "message", "msg", "event" or "body"' },
        { line: 9, reason: '"botpulse.line_id" must be a non-empty string of at most 200 characters' },
      ],
    });
    assert.match((json.rejected as { reason: string }[])[0]!.reason, /^not JSON: /);
    const [pino] = await search('pino charge');
    assert.equal(pino!.level, 'error');
    assert.equal(pino!.logger, 'pay-bot');
    assert.equal(pino!.time, t);
    assert.equal(pino!.source, 'ndjson');
    assert.deepEqual(pino!.fields, { pid: '1', hostname: 'h', user_id: '42' });
    const [structlog] = await search('structlog');
    assert.equal(structlog!.level, 'warning');
    assert.equal(structlog!.time, t + 1000);
    assert.equal(structlog!.logger, 'bot.balance');
    assert.deepEqual(structlog!.fields, { operation: 'check_balance', duration_ms: '45' });
    const [python] = await search('startup failure');
    assert.equal(python!.level, 'critical');
    assert.equal(python!.logger, 'bot.main');
    assert.equal(python!.time, t + 2000);
    assert.deepEqual(python!.fields, { update_id: '991', extra: '{"a":[1,2]}' }, 'levelno is read with levelname, not kept');
    const [generic] = await search('generic');
    assert.equal(generic!.level, 'info');
    assert.equal(generic!.time, t + 3000);
    assert.equal(generic!.environment, 'production');
    assert.equal(generic!.release, 'bot@1.2.3');
    const byField = await server.botpulse.logs.searchLines({ projectId: server.project.id, fields: { update_id: '991' } });
    assert.deepEqual(byField.map((l) => l.message), ['python: startup failure']);
  });

  it('stores a line id once: a retried batch is answered as duplicates', async () => {
    const body = ndjson({ msg: 'Payment 1 done', 'botpulse.line_id': 'f:1' }, { msg: 'Payment 2 done', 'botpulse.line_id': 'f:2' }, { msg: 'Payment 2 done again', 'botpulse.line_id': 'f:2' });
    assert.deepEqual((await post(body)).json, { accepted: 2, duplicates: 1, rejected: [] });
    assert.deepEqual((await post(body)).json, { accepted: 0, duplicates: 3, rejected: [] });
    assert.equal((await search('payment done')).length, 2);
  });

  it('accepts gzip, application/json and text/plain bodies, and a JSON array', async () => {
    assert.deepEqual((await post(gzipSync(ndjson({ msg: 'zipped line one' }, { msg: 'zipped line two' })), { 'content-encoding': 'gzip' })).json, { accepted: 2, duplicates: 0, rejected: [] });
    assert.equal((await post(ndjson({ msg: 'as json' }), { 'content-type': 'application/json' })).json.accepted, 1);
    assert.equal((await post(ndjson({ msg: 'as text' }), { 'content-type': 'text/plain' })).json.accepted, 1);
    assert.equal((await post(JSON.stringify([{ msg: 'array one' }, { msg: 'array two' }]), { 'content-type': 'application/json' })).json.accepted, 2);
  });

  it('answers 400 for a body that is no NDJSON, 401 without a key, 403 with a wrong one, 404 for an unknown project, 413 past the cap', async () => {
    assert.equal((await post('just some text\nand more')).status, 400);
    assert.equal((await post(Buffer.from([0xff, 0xfe, 0x00]))).status, 400);
    const noKey = await fetch(logsUrl, { method: 'POST', body: ndjson({ msg: 'x' }) });
    assert.equal(noKey.status, 401);
    const wrong = await fetch(`${logsUrl}?sentry_key=${'0'.repeat(32)}`, { method: 'POST', body: ndjson({ msg: 'x' }) });
    assert.equal(wrong.status, 403);
    const byQuery = await fetch(`${logsUrl}?sentry_key=${server.project.publicKey}`, { method: 'POST', body: ndjson({ msg: 'query key' }) });
    assert.equal(byQuery.status, 200);
    const unknown = await fetch(`${server.url}/api/99999/logs/`, { method: 'POST', headers: auth(), body: ndjson({ msg: 'x' }) });
    assert.equal(unknown.status, 404);
    assert.equal((await post(ndjson(...Array.from({ length: 100 }, (_, i) => ({ msg: `line ${i} `.padEnd(60, 'x') }))))).status, 413);
  });

  it('scrubs secrets before the disk: a bot token in the message and a password field never reach a data file', async () => {
    const { json } = await post(ndjson({ msg: `calling https://api.telegram.org/bot${BOT_TOKEN}/getMe failed`, password: 'hunter2-very-secret', 'botpulse.line_id': 'secret-1' }));
    assert.equal(json.accepted, 1);
    const [line] = await search('getMe failed');
    assert.doesNotMatch(line!.message, /AAHk3vQ9xZp2/);
    assert.equal(line!.fields.password, '[Filtered]');
    for (const file of readdirSync(server.dataDir)) {
      const bytes = readFileSync(join(server.dataDir, file));
      assert.equal(bytes.includes(Buffer.from('AAHk3vQ9xZp2')), false, `${file} holds the token`);
      assert.equal(bytes.includes(Buffer.from('hunter2-very-secret')), false, `${file} holds the password`);
    }
  });

  it('stores Sentry log items (the items container with typed attributes) as lines, and counts records that are no line', async () => {
    const now = Date.now() / 1000;
    const body = serializeEnvelope({
      headers: {},
      items: [
        jsonItem('log', {
          items: [
            {
              timestamp: now,
              level: 'error',
              body: 'Lock acquisition failed for user 42',
              trace_id: 'a'.repeat(32),
              severity_number: 17,
              attributes: {
                'sentry.environment': { value: 'staging', type: 'string' },
                'sentry.release': { value: 'bot@2.0.0', type: 'string' },
                'sentry.sdk.name': { value: 'sentry.javascript.node', type: 'string' },
                // sentry-python 2.x's LogBatcher copies the severity into attributes.
                'sentry.severity_number': { value: 17, type: 'integer' },
                'sentry.severity_text': { value: 'error', type: 'string' },
                'sentry.message.template': { value: 'Lock acquisition failed for user %s', type: 'string' },
                'sentry.message.parameter.0': { value: 42, type: 'integer' },
                'logger.name': { value: 'bot.locks', type: 'string' },
                user_id: { value: 42, type: 'integer' },
              },
            },
            { timestamp: now, level: 'warn', body: 'second record', attributes: {} },
            'not a record',
          ],
        }),
      ],
    });
    const response = await fetch(`${server.url}/api/${server.project.id}/envelope/`, { method: 'POST', headers: auth(), body });
    assert.equal(response.status, 200);
    const [line] = await search('lock acquisition');
    assert.equal(line!.source, 'sentry');
    assert.equal(line!.level, 'error');
    assert.equal(line!.environment, 'staging');
    assert.equal(line!.release, 'bot@2.0.0');
    assert.equal(line!.logger, 'bot.locks');
    assert.deepEqual(line!.fields, { template: 'Lock acquisition failed for user %s', user_id: '42', trace_id: 'a'.repeat(32) });
    assert.equal((await search('second record'))[0]!.level, 'warning');
    const counts = await server.botpulse.store.itemCounts(server.project.id);
    assert.ok((counts.log ?? 0) >= 2);
    assert.equal(counts.log_rejected, 1);
    assert.equal(await server.botpulse.store.countRawItems('log', server.project.id), 0, 'log items are no longer parked raw');
  });

  it('searches through the API: level, logger, text, field:value in q, time range, paging', async () => {
    await post(ndjson(
      { msg: 'api search alpha', level: 'error', logger: 'svc.a', time: 1_000_000_000_000, shard: 'x1' },
      { msg: 'api search beta', level: 'info', logger: 'svc.b', time: 1_000_000_060_000, shard: 'x2' },
    ));
    const get = async (qs: string) => {
      const r = await fetch(`${server.url}/api/v1/projects/${server.project.slug}/logs?${qs}`, { headers: { authorization: `Bearer ${server.token}` } });
      return { status: r.status, json: (await r.json()) as { lines: { message: string }[]; next: number | null } };
    };
    assert.deepEqual((await get('q=api+search')).json.lines.map((l) => l.message), ['api search beta', 'api search alpha']);
    assert.deepEqual((await get('q=api+search+level:error')).json.lines.map((l) => l.message), ['api search alpha']);
    assert.deepEqual((await get('q=shard:x2')).json.lines.map((l) => l.message), ['api search beta']);
    assert.deepEqual((await get('q=search&logger=svc.a')).json.lines.map((l) => l.message), ['api search alpha']);
    assert.deepEqual((await get('q=search&field=shard:x1')).json.lines.map((l) => l.message), ['api search alpha']);
    assert.deepEqual((await get('q=search&from=1000000030&to=2001-09-09T01:48:00Z')).json.lines.map((l) => l.message), ['api search beta']);
    const page = await get('q=search&limit=1');
    assert.equal(page.json.lines.length, 1);
    assert.deepEqual((await get(`q=search&before=${page.json.next}`)).json.lines.map((l) => l.message), ['api search alpha']);
    assert.equal((await get('level=loud')).status, 400);
    const noToken = await fetch(`${server.url}/api/v1/projects/${server.project.slug}/logs`);
    assert.equal(noToken.status, 401);
  });
});

describe('Sentry log items while the log-line thread cannot template them', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ BOTPULSE_LOG_RULES: JSON.stringify({ '*': { enabled: false } }) });
  });
  after(async () => server.close());

  it('keeps the envelope (its event and its lines, without a template): a Sentry SDK never sends a refused envelope again', async () => {
    await server.botpulse.logLines.close(); // as while the thread restarts: every request to it is refused
    const eventId = 'b'.repeat(32);
    const body = serializeEnvelope({
      headers: { event_id: eventId },
      items: [
        jsonItem('event', { event_id: eventId, message: 'Payment provider timed out' }),
        jsonItem('log', { items: [{ timestamp: Date.now() / 1000, level: 'error', body: 'Payment provider timed out after 30 s', trace_id: 'c'.repeat(32) }] }),
      ],
    });
    const auth = { 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${server.project.publicKey}` };
    const answer = await fetch(`${server.url}/api/${server.project.id}/envelope/`, { method: 'POST', headers: auth, body });
    assert.equal(answer.status, 200, 'the envelope is taken');
    await server.digested();
    assert.ok(await server.botpulse.store.getEvent(server.project.id, eventId), 'its event is stored');
    const [line] = await server.botpulse.logs.searchLines({ projectId: server.project.id, text: 'provider timed' });
    assert.equal(line?.message, 'Payment provider timed out after 30 s', 'its line is stored');
    assert.equal(line.templateId, null, 'without a template');
    assert.equal(server.botpulse.logLines.health().untemplatedLines, 1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^botpulse_log_lines_untemplated_total 1$/m);

    const ndjson = await fetch(`${server.url}/api/${server.project.id}/logs/`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-ndjson' }, body: '{"msg":"from a tail"}' });
    assert.equal(ndjson.status, 503, 'an NDJSON batch is refused instead: its sender (botpulse tail, our SDK) retries');
    assert.ok(ndjson.headers.get('retry-after'));
  });
});
