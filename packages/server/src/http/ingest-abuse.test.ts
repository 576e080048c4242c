import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { jsonItem, serializeEnvelope, type EnvelopeItem } from '@botpulse/protocol';
import { MAX_FIRST_LINE_BYTES } from '../ingest/body.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

const MiB = 1024 * 1024;
const hexId = () => crypto.randomUUID().replace(/-/g, '');

/** One sample of a metric from the server's /metrics (loopback: no token needed). */
async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} is exported`);
  return Number(line.split(' ')[1]);
}

const envelopeUrl = (server: TestServer) => `${server.url}/api/${server.project.id}/envelope/`;
const keyHeader = (server: TestServer) => ({ 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${server.project.publicKey}` });

/** 95 MiB of zeros behind `prefix`, gzip-compressed to about 95 KiB (the probe's bomb). */
function gzipBomb(prefix: string): Buffer {
  return zlib.gzipSync(Buffer.concat([Buffer.from(prefix), Buffer.alloc(95 * MiB)]), { level: 9 });
}

describe('a body without a key is authenticated before it is inflated', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  const cases: [string, () => string, number, RegExp][] = [
    ['no envelope header line at all', () => '', 401, /no envelope header line .* within the first 65536 bytes/],
    ['a header without dsn', () => `{"event_id":"${hexId()}"}\n`, 401, /missing authentication/],
    ['a header with another project\'s dsn', () => `{"dsn":"http://0123456789abcdef0123456789abcdef@127.0.0.1/${server.project.id}"}\n`, 403, /does not belong/],
    ['a header that is not JSON', () => '{nope\n', 400, /envelope headers are not valid JSON/],
  ];
  for (const [name, prefix, status, message] of cases) {
    it(`refuses a keyless 95 KiB gzip bomb with ${name} (${status}) having inflated at most the first line`, async () => {
      const bomb = gzipBomb(prefix());
      assert.ok(bomb.length < 200 * 1024, `the bomb is ${bomb.length} bytes on the wire`);
      const before = await metric(server, 'botpulse_ingest_inflated_bytes_total');
      const res = await fetch(envelopeUrl(server), { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: bomb });
      assert.equal(res.status, status);
      assert.match(((await res.json()) as { error: string }).error, message);
      const inflated = (await metric(server, 'botpulse_ingest_inflated_bytes_total')) - before;
      // The first line's limit plus what zlib had produced past it (a few 16 KiB chunks), not 95 MiB.
      assert.ok(inflated <= MAX_FIRST_LINE_BYTES + 256 * 1024, `${inflated} bytes inflated for a refused keyless body`);
      assert.equal(await metric(server, 'botpulse_ingest_body_bytes_in_flight'), 0, 'nothing held once answered');
    });
  }

  it('still takes an envelope authenticated by its dsn header, gzip or plain', async () => {
    for (const compress of [zlib.gzipSync, (b: Buffer) => b]) {
      const eventId = hexId();
      const body = serializeEnvelope({ headers: { event_id: eventId, dsn: server.dsn }, items: [jsonItem('event', { message: 'by dsn' })] });
      const res = await fetch(envelopeUrl(server), { method: 'POST', headers: compress === zlib.gzipSync ? { 'content-encoding': 'gzip' } : {}, body: compress(body) });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { id: eventId });
    }
  });

  it('refuses a keyless legacy /store/ body before reading it: it has no header to carry a dsn', async () => {
    const before = await metric(server, 'botpulse_ingest_inflated_bytes_total');
    const res = await fetch(`${server.url}/api/${server.project.id}/store/`, { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: gzipBomb('{"message":"') });
    assert.equal(res.status, 401);
    assert.equal((await metric(server, 'botpulse_ingest_inflated_bytes_total')) - before, 0);
  });
});

describe('the memory of all bodies in flight together is bounded', () => {
  const BUDGET = 8 * MiB;
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT: String(BUDGET),
      BOTPULSE_MAX_BODY_BYTES: String(4 * MiB),
      BOTPULSE_MAX_DECOMPRESSED_BYTES: String(4 * MiB),
    });
  });
  after(async () => server.close());

  /** An event with a 3 MiB text attachment (random hex: it inflates about as fast as it arrives). */
  function bigEnvelope(): { eventId: string; body: Buffer } {
    const eventId = hexId();
    const attachment: EnvelopeItem = { headers: { type: 'attachment', filename: 'state.txt', content_type: 'text/plain' }, payload: Buffer.from(randomBytes(1.5 * MiB).toString('hex')) };
    const body = serializeEnvelope({ headers: { event_id: eventId }, items: [jsonItem('event', { message: 'big body' }), attachment] });
    return { eventId, body: zlib.gzipSync(body) };
  }

  /** Starts a POST and sends only `head` bytes of the body; `finish()` sends the rest. */
  function startPost(body: Buffer, head: number) {
    const url = new URL(envelopeUrl(server));
    const req = http.request(url, { method: 'POST', headers: { ...keyHeader(server), 'content-encoding': 'gzip', 'content-length': String(body.length) } });
    const answer = new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body: text }));
      });
      req.on('error', (err) => {
        // A refused upload is answered and its socket closed: writing the rest may then fail.
        if ((err as NodeJS.ErrnoException).code !== 'EPIPE' && (err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
      });
    });
    req.write(body.subarray(0, head));
    return { answer, finish: () => req.end(body.subarray(head)) };
  }

  it('never holds more than the budget: 8 uploads of 3 MiB, all in flight at once, get 200 or 503 with Retry-After', async () => {
    const envelopes = Array.from({ length: 8 }, bigEnvelope);
    // 60 % of each body first: 8 × 1.8 MiB inflated exceeds the 8 MiB budget whatever the order.
    const posts = envelopes.map((e) => startPost(e.body, Math.floor(e.body.length * 0.6)));
    const deadline = Date.now() + 30_000;
    while ((await metric(server, 'botpulse_ingest_body_budget_refusals_total')) === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const p of posts) p.finish();
    const answers = await Promise.all(posts.map((p) => p.answer));

    const peak = await metric(server, 'botpulse_ingest_body_bytes_in_flight_peak');
    assert.ok(peak <= BUDGET, `peak ${peak} bytes held, budget ${BUDGET}`);
    assert.ok(peak > 0);
    const refused = answers.filter((a) => a.status === 503);
    assert.ok(refused.length >= 1, `8 × 3 MiB cannot fit 8 MiB: ${answers.map((a) => a.status).join(',')}`);
    assert.equal(refused.length, await metric(server, 'botpulse_ingest_body_budget_refusals_total'));
    for (const a of refused) {
      assert.equal(a.retryAfter, '2');
      assert.match(a.body, /BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT/);
    }
    assert.ok(answers.every((a) => a.status === 200 || a.status === 503), answers.map((a) => a.status).join(','));
    assert.equal(await metric(server, 'botpulse_ingest_body_bytes_in_flight'), 0, 'every answered request gave its bytes back');

    // What was answered 200 is stored; ordinary traffic goes on.
    await server.digested();
    for (const [i, a] of answers.entries()) {
      if (a.status === 200) assert.ok(await server.botpulse.store.getEvent(server.project.id, envelopes[i]!.eventId), `event ${i} stored`);
    }
    const small = serializeEnvelope({ headers: { event_id: hexId() }, items: [jsonItem('event', { message: 'small' })] });
    assert.equal((await fetch(envelopeUrl(server), { method: 'POST', headers: keyHeader(server), body: small })).status, 200);
  });

  it('refuses at start a budget smaller than one body of the largest allowed size', async () => {
    await assert.rejects(
      startTestServer({ BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT: String(MiB), BOTPULSE_MAX_DECOMPRESSED_BYTES: String(4 * MiB) }),
      /BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT \(1048576\) must be at least/,
    );
  });
});

describe('invented item types', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  it('are counted under one "unknown" bucket: 5 envelopes with 2,000 invented 1 KB names leave /health small', async () => {
    for (let e = 0; e < 5; e++) {
      const items = Array.from({ length: 2000 }, (_, i) => jsonItem(`${e}-${i}-${'x'.repeat(1000)}`, {}));
      const body = serializeEnvelope({ headers: {}, items });
      const res = await fetch(envelopeUrl(server), { method: 'POST', headers: keyHeader(server), body });
      assert.equal(res.status, 200);
    }
    const counts = await server.botpulse.store.itemCounts(server.project.id);
    assert.equal(counts.unknown, 10_000);
    assert.deepEqual(Object.keys(counts), ['unknown']);
    const health = await (await fetch(`${server.url}/health`)).text();
    assert.ok(health.length < 2000, `/health is ${health.length} bytes`);
    assert.equal((JSON.parse(health) as { accepted: Record<string, number> }).accepted.unknown, 10_000);
  });

  it('keeps the names of known Sentry item types', async () => {
    const body = serializeEnvelope({ headers: {}, items: [jsonItem('profile_chunk', {}), jsonItem('replay_video', {}), jsonItem('sessions', {})] });
    assert.equal((await fetch(envelopeUrl(server), { method: 'POST', headers: keyHeader(server), body })).status, 200);
    const counts = await server.botpulse.store.itemCounts(server.project.id);
    assert.equal(counts.profile_chunk, 1);
    assert.equal(counts.replay_video, 1);
    assert.equal(counts.sessions, 1);
  });
});
