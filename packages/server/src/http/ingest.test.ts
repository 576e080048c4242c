import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { startTestServer, type TestServer } from '../test-support/server.js';

const FIXTURES = new URL('../../../../../shared/fixtures/sentry-envelopes/', import.meta.url);

let server: TestServer;
let envelopeUrl: string;
let authHeader: Record<string, string>;

before(async () => {
  server = await startTestServer({ BOTPULSE_MAX_ATTACHMENT_BYTES: String(64 * 1024) });
  envelopeUrl = `${server.url}/api/${server.project.id}/envelope/`;
  authHeader = { 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${server.project.publicKey}, sentry_client=test/1` };
});
after(async () => server.close());

const hexId = () => crypto.randomUUID().replace(/-/g, '');
const post = (body: Buffer | string, headers: Record<string, string> = authHeader, url = envelopeUrl) =>
  fetch(url, { method: 'POST', headers, body });
const eventEnvelope = (event: Record<string, unknown>, headers: Record<string, unknown> = {}) => {
  const eventId = hexId();
  return { eventId, body: serializeEnvelope({ headers: { event_id: eventId, ...headers }, items: [jsonItem('event', { message: 'hello', ...event })] }) };
};
async function stillServing() {
  const health = await fetch(`${server.url}/health`);
  assert.equal(health.status, 200);
}

describe('envelope ingestion', () => {
  it('answers 200 with the event id and stores the event once digested', async () => {
    const { eventId, body } = eventEnvelope({ message: 'first event' });
    const res = await post(body);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { id: eventId });
    await server.digested();
    const stored = await server.botpulse.store.getEvent(server.project.id, eventId);
    assert.equal(stored?.title, 'first event');
  });

  for (const [name, headers] of [
    ['no Content-Type', {}],
    ['text/plain', { 'content-type': 'text/plain;charset=UTF-8' }],
    ['application/x-sentry-envelope', { 'content-type': 'application/x-sentry-envelope' }],
  ] as const) {
    it(`accepts a body with ${name}`, async () => {
      const res = await post(eventEnvelope({}).body, { ...headers, ...authHeader });
      assert.equal(res.status, 200);
    });
  }

  for (const [encoding, compress] of [
    ['gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
    ['br', zlib.brotliCompressSync],
  ] as const) {
    it(`accepts a ${encoding} body`, async () => {
      const { eventId, body } = eventEnvelope({});
      const res = await post(compress(body), { ...authHeader, 'content-encoding': encoding });
      assert.deepEqual(await res.json(), { id: eventId });
    });
  }

  it('accepts a raw-deflate body labelled deflate', async () => {
    const res = await post(zlib.deflateRawSync(eventEnvelope({}).body), { ...authHeader, 'content-encoding': 'deflate' });
    assert.equal(res.status, 200);
  });

  it('authenticates by sentry_key query parameter and by the envelope dsn header', async () => {
    const byQuery = await post(eventEnvelope({}).body, {}, `${envelopeUrl}?sentry_key=${server.project.publicKey}&sentry_version=7`);
    assert.equal(byQuery.status, 200);
    const byDsn = await post(eventEnvelope({}, { dsn: server.dsn }).body, {});
    assert.equal(byDsn.status, 200);
  });

  it('answers CORS preflights for browser SDKs', async () => {
    const res = await fetch(envelopeUrl, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /X-Sentry-Auth/);
  });

  it('stores attachments with their event and drops one over the cap, counting it', async () => {
    const eventId = hexId();
    const body = serializeEnvelope({
      headers: { event_id: eventId },
      items: [
        jsonItem('event', { message: 'with attachments' }),
        { headers: { type: 'attachment', filename: 'state.json', content_type: 'application/json' }, payload: Buffer.from('{"a":1}') },
        { headers: { type: 'attachment', filename: 'huge.bin' }, payload: Buffer.alloc(65 * 1024) },
      ],
    });
    assert.equal((await post(body)).status, 200);
    await server.digested();
    const stored = await server.botpulse.store.getEvent(server.project.id, eventId);
    assert.deepEqual(stored?.attachments, [{ filename: 'state.json', contentType: 'application/json', size: 7 }]);
    const counts = await server.botpulse.store.itemCounts(server.project.id);
    assert.ok((counts.attachment_over_limit ?? 0) >= 1);
  });

  it('parks transactions and check-ins raw, stores log items as log lines, and counts sessions and client reports', async () => {
    const body = serializeEnvelope({
      headers: { event_id: hexId() },
      items: [
        jsonItem('transaction', { type: 'transaction', transaction: 'update', spans: [] }),
        jsonItem('check_in', { check_in_id: hexId(), monitor_slug: 'poller', status: 'ok' }),
        jsonItem('log', { items: [{ level: 'error', body: 'Queue full' }] }),
        jsonItem('session', { sid: hexId(), status: 'ok' }),
        jsonItem('client_report', { discarded_events: [] }),
        jsonItem('brand_new_type', { x: 1 }),
      ],
    });
    assert.equal((await post(body)).status, 200);
    for (const kind of ['transaction', 'check_in']) {
      assert.ok((await server.botpulse.store.listRawItems(kind, { projectId: server.project.id })).length >= 1, kind);
    }
    assert.ok((await server.botpulse.logs.searchLines({ projectId: server.project.id, text: 'queue full' })).length >= 1, 'the log record is a stored line');
    const counts = await server.botpulse.store.itemCounts(server.project.id);
    assert.ok(counts.session! >= 1 && counts.client_report! >= 1 && counts.unknown! >= 1, 'an invented type is counted as unknown');
    assert.equal(counts.brand_new_type, undefined);
  });

  it('takes one JSON event on the legacy /store/ endpoint, plain or base64+zlib', async () => {
    const storeUrl = `${server.url}/api/${server.project.id}/store/`;
    const eventId = hexId();
    const plain = await post(JSON.stringify({ event_id: eventId, message: 'legacy' }), { ...authHeader, 'content-type': 'application/json' }, storeUrl);
    assert.deepEqual(await plain.json(), { id: eventId });
    const encoded = zlib.deflateSync(JSON.stringify({ message: 'raven' })).toString('base64');
    const old = await post(encoded, authHeader, storeUrl);
    assert.equal(old.status, 200);
  });
});

describe('bad input gets a clear 4xx and the server keeps serving', () => {
  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    ['a truncated envelope', () => post('{}\n{"type":"event","length":500}\n{"message":"cut'), 400, /declares length 500/],
    ['a wrong length', () => post('{}\n{"type":"event","length":2}\n{"message":"x"}\n'), 400, /expected a newline/],
    ['invalid JSON in the event', () => post('{}\n{"type":"event"}\n{"message": nope}\n'), 400, /not valid JSON/],
    ['invalid JSON in the headers', () => post('{nope\n'), 400, /envelope headers are not valid JSON/],
    ['invalid UTF-8', () => post(Buffer.concat([Buffer.from('{}\n{"type":"event"}\n{"message":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')])), 400, /not valid UTF-8/],
    ['a huge declared length', () => post('{}\n{"type":"event","length":99999999999}\n{}\n'), 400, /declares length/],
    ['an empty body', () => post(''), 400, /envelope is empty/],
    ['a gzip bomb', () => post(zlib.gzipSync(Buffer.alloc(300 * 1024 * 1024)), { ...authHeader, 'content-encoding': 'gzip' }), 413, /decompressed body exceeds/],
    ['corrupt gzip', () => post('definitely not gzip', { ...authHeader, 'content-encoding': 'gzip' }), 400, /not valid gzip/],
    ['an unknown encoding', () => post('x', { ...authHeader, 'content-encoding': 'zstd' }), 415, /unsupported Content-Encoding/],
    ['a 10 MB event', () => post(eventEnvelope({ extra: { blob: 'x'.repeat(10 * 1024 * 1024) } }).body), 413, /limit is 1048576/],
    ['an invalid event_id', () => post('{"event_id":"not-hex"}\n{"type":"event"}\n{}\n'), 400, /invalid event_id/],
    ['a wrong key', () => post(eventEnvelope({}).body, { 'x-sentry-auth': 'Sentry sentry_key=0000, sentry_version=7' }), 403, /does not belong to this project/],
    ['no key at all', () => post(eventEnvelope({}).body, {}), 401, /missing authentication/],
    ['an unknown project', () => post(eventEnvelope({}).body, authHeader, `${server.url}/api/99999/envelope/`), 404, /unknown project "99999"/],
  ];
  for (const [name, send, status, message] of cases) {
    it(`answers ${status} to ${name}`, async () => {
      const res = await send();
      assert.equal(res.status, status);
      assert.match(((await res.json()) as { error: string }).error, message);
      await stillServing();
    });
  }
});

describe('envelopes captured from real SDKs', { skip: !existsSync(FIXTURES) && 'shared/fixtures is not beside the checkout' }, () => {
  const files = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((f) => f.endsWith('.txt')) : [];
  for (const file of files) {
    it(`accepts ${file}: 200 and its event stored, or a clear 4xx`, async () => {
      const body = readFileSync(new URL(file, FIXTURES));
      const res = await post(body);
      assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `status ${res.status}`);
      const answer = (await res.json()) as { id?: string; error?: string };
      if (res.status !== 200) return assert.ok(answer.error, 'a 4xx says why');
      const hasEvent = body.toString('utf8').split('\n').some((line) => /^\{"type":"event"/.test(line));
      if (!hasEvent) return;
      assert.match(answer.id ?? '', /^[0-9a-f]{32}$/);
      await server.digested();
      const stored = await server.botpulse.store.getEvent(server.project.id, answer.id!);
      assert.ok(stored, `event ${answer.id} from ${file} was stored`);
    });
  }
});

describe('backpressure', () => {
  it('answers 429 with Retry-After and X-Sentry-Rate-Limits when the backlog is full, and accepts again once drained', async () => {
    const small = await startTestServer({ BOTPULSE_BACKLOG_LIMIT: '3' });
    try {
      await small.botpulse.digest.stop(); // nothing drains the spool now
      const url = `${small.url}/api/${small.project.id}/envelope/?sentry_key=${small.project.publicKey}`;
      for (let i = 0; i < 3; i++) assert.equal((await fetch(url, { method: 'POST', body: eventEnvelope({}).body })).status, 200);
      const refused = await fetch(url, { method: 'POST', body: eventEnvelope({}).body });
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '10');
      assert.match(refused.headers.get('x-sentry-rate-limits') ?? '', /^10::organization:backlog_full$/);
      assert.equal(small.botpulse.spool.backlog, 3);
      small.botpulse.digest.resume();
      await small.digested();
      assert.equal(small.botpulse.spool.backlog, 0);
      assert.equal((await fetch(url, { method: 'POST', body: eventEnvelope({}).body })).status, 200);
    } finally {
      await small.close();
    }
  });
});
