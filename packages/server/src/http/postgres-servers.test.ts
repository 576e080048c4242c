import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../test-support/postgres.js';
import { startTestServer, type TestServer } from '../test-support/server.js';
import { PostgresStore } from '../store/postgres/index.js';

const skip = await postgresUnavailable();

/** Polls `check` until it holds; fails with `what` if it never does (a generous bound, not a timing claim). */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('two Botpulse servers on one PostgreSQL database', { skip }, () => {
  let schema: TestSchema;
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    schema = await createTestSchema('servers');
    a = await startTestServer({ BOTPULSE_DATABASE_URL: schema.url.reveal() });
    b = await startTestServer({ BOTPULSE_DATABASE_URL: schema.url.reveal() });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await schema?.drop();
  });

  async function send(server: TestServer, event: Record<string, unknown>): Promise<void> {
    const body = serializeEnvelope({ headers: {}, items: [jsonItem('event', event)] });
    const res = await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });
    assert.equal(res.status, 200, await res.text());
  }

  async function issueCounts(): Promise<Map<string, number>> {
    const { issues } = await a.botpulse.store.listIssues({ projectId: a.project.id, limit: 500 });
    return new Map(issues.map((i) => [i.title, i.eventCount]));
  }

  it('share projects and DSNs, and digest the events both accept into one issue, each once', async () => {
    assert.equal(b.project.id, a.project.id, 'the second server found the project the first created');
    await Promise.all(Array.from({ length: 40 }, (_, n) => send(n % 2 ? a : b, { message: 'Shared timeout', level: 'error' })));
    await eventually('40 events digested', async () => (await issueCounts()).get('Shared timeout') === 40);
    const { issues } = await b.botpulse.store.listIssues({ projectId: a.project.id, text: 'Shared timeout' });
    assert.equal(issues.length, 1);
    assert.equal((await b.botpulse.store.listEvents(issues[0]!.id, { limit: 500 })).length, 40);
    assert.equal(await a.botpulse.store.spoolBacklog(), 0);
  });

  it('digest what a process that died answered 200 for and left in the spool, without new ingestion', async () => {
    // A third "process" appends (answers 200) and exits before its digest ran.
    const dead = await PostgresStore.open(schema.options(), { migrate: false });
    const eventId = 'd'.repeat(32);
    await dead.appendToSpool([{ projectId: a.project.id, kind: 'event', eventId, receivedAt: Date.now(), payload: Buffer.from(JSON.stringify({ event_id: eventId, message: 'Left behind', level: 'error' })) }]);
    await dead.close();
    await eventually('the left-behind event digested', async () => (await issueCounts()).get('Left behind') === 1);
  });

  it('show their connection pool in /metrics', async () => {
    const text = await (await fetch(`${a.url}/metrics`)).text();
    const value = (line: RegExp) => Number(line.exec(text)?.[1] ?? NaN);
    assert.equal(value(/^botpulse_database_pool_max_connections (\d+)$/m), a.botpulse.config.database.kind === 'postgres' ? a.botpulse.config.database.poolMax : -1);
    const open = value(/^botpulse_database_pool_connections\{state="idle"\} (\d+)$/m) + value(/^botpulse_database_pool_connections\{state="busy"\} (\d+)$/m);
    assert.ok(open >= 1, `open connections: ${open}`);
    assert.ok(value(/^botpulse_database_pool_waiting_queries (\d+)$/m) >= 0, 'queries waiting (the scrape\'s own queries may wait)');
    assert.doesNotMatch(text, /^botpulse_store_size_bytes /m, 'no SQLite file to measure: a 0 would read as an empty database');
  });
});
