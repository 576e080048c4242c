import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { RetentionJob } from './retention.js';
import { startTestServer, type TestServer } from './test-support/server.js';

const DAY = 86_400_000;

describe('retention', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ ERROR_LOG_RETENTION_DAYS: '30' });
  });
  after(async () => server.close());

  it('prunes events older than ERROR_LOG_RETENTION_DAYS and keeps the issue with its count', async () => {
    const url = `${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`;
    for (let i = 0; i < 2; i++) {
      const body = serializeEnvelope({ headers: {}, items: [jsonItem('event', { message: 'nightly job failed' })] });
      assert.equal((await fetch(url, { method: 'POST', body })).status, 200);
    }
    await server.digested();
    const job = new RetentionJob(server.botpulse.store, server.botpulse.config, pino({ level: 'silent' }));

    assert.deepEqual(await job.runOnce(Date.now() + 29 * DAY), { events: 0, rawItems: 0 }, 'nothing is 30 days old yet');
    const pruned = await job.runOnce(Date.now() + 31 * DAY);
    assert.equal(pruned.events, 2);

    const [issue] = (await server.botpulse.store.listIssues({ projectId: server.project.id })).issues;
    assert.equal(issue!.eventCount, 2);
    assert.equal(await server.botpulse.store.latestEvent(issue!.id), null);
  });
});
