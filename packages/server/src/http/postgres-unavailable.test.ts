import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../test-support/postgres.js';
import { freePort, startTestServer, type TestServer } from '../test-support/server.js';

const skip = await postgresUnavailable();

/**
 * A TCP relay between Botpulse and PostgreSQL that the test can cut (every connection dropped,
 * new ones refused) and restore on the same port: the database going away and coming back,
 * as the server sees it, without touching the machine's shared PostgreSQL.
 */
class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async open(): Promise<void> {
    if (this.server) return;
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

describe('ingestion while PostgreSQL is unreachable', { skip }, () => {
  let schema: TestSchema;
  let relay: Relay;
  let server: TestServer;

  before(async () => {
    schema = await createTestSchema('unavailable');
    const direct = new URL(schema.url.reveal());
    relay = new Relay(await freePort(), { host: direct.hostname, port: Number(direct.port || 5432) });
    await relay.open();
    direct.host = `127.0.0.1:${relay.port}`;
    server = await startTestServer({ BOTPULSE_DATABASE_URL: direct.toString() });
  });
  after(async () => {
    await relay?.open(); // so the server can close cleanly
    await server?.close();
    await relay?.cut();
    await schema?.drop();
  });

  const send = (message: string) =>
    fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, {
      method: 'POST',
      body: serializeEnvelope({ headers: {}, items: [jsonItem('event', { message, level: 'error' })] }),
    });

  it('answers 503 with Retry-After (never 500) while the database is away, and 200 again once it is back', async () => {
    assert.equal((await send('before the outage')).status, 200);
    await relay.cut();
    const during = await send('during the outage');
    assert.equal(during.status, 503, await during.clone().text());
    assert.equal(during.headers.get('retry-after'), '5');
    assert.match(((await during.json()) as { error: string }).error, /cannot reach its database/);
    const api = await fetch(`${server.url}/api/v1/projects`, { headers: { authorization: `Bearer ${server.token}` } });
    assert.equal(api.status, 503, 'the JSON API too');
    await relay.open();
    // The pool drops its broken connections and opens new ones by itself.
    for (;;) {
      const res = await send('after the outage');
      if (res.status === 200) break;
      assert.equal(res.status, 503);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (;;) {
      const { issues } = await server.botpulse.store.listIssues({ projectId: server.project.id });
      const titles = issues.map((i) => i.title).sort();
      if (titles.length === 2) {
        assert.deepEqual(titles, ['after the outage', 'before the outage']);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
