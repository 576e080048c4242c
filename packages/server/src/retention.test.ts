import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { LATENCY_RETENTION_MS, RetentionJob } from './retention.js';
import { startTestServer, type TestServer } from './test-support/server.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

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

    assert.deepEqual(await job.runOnce(Date.now() + 29 * DAY), { events: 0, rawItems: 0, latencyMinutes: 0, logLines: 0 }, 'nothing is 30 days old yet');
    const pruned = await job.runOnce(Date.now() + 31 * DAY);
    assert.equal(pruned.events, 2);

    const [issue] = (await server.botpulse.store.listIssues({ projectId: server.project.id })).issues;
    assert.equal(issue!.eventCount, 2);
    assert.equal(await server.botpulse.store.latestEvent(issue!.id), null);
  });

  it('prunes the raw check-ins and transactions the monitors consumed, and latency minutes older than 7 days', async () => {
    const { store, monitoring, config } = server.botpulse;
    const job = new RetentionJob(store, config, pino({ level: 'silent' }), monitoring.store);
    const p = server.project.id;
    const now = Date.now();
    const minute = (ms: number) => Math.floor(ms / 60_000) * 60_000;
    // A check-in and a transaction through the real intake, consumed by the monitors.
    const url = `${server.url}/api/${p}/envelope/?sentry_key=${server.project.publicKey}`;
    const end = now / 1000;
    const body = serializeEnvelope({ headers: {}, items: [
      jsonItem('check_in', { check_in_id: 'c'.repeat(32), monitor_slug: 'nightly', status: 'ok' }),
      jsonItem('transaction', { type: 'transaction', transaction: 'update', start_timestamp: end - 0.2, timestamp: end }),
    ] });
    assert.equal((await fetch(url, { method: 'POST', body })).status, 200);
    await monitoring.service.tick();
    assert.equal((await monitoring.store.findMonitor(p, 'nightly'))?.status, 'up', 'the check-in was consumed');
    assert.equal(await store.countRawItems('check_in', p), 1);
    // Latency minutes: one 8 days old, one 6 days old, plus the one the transaction just wrote.
    await monitoring.store.addLatency(p, minute(now - 8 * DAY), [1], 1, 5);
    await monitoring.store.addLatency(p, minute(now - 6 * DAY), [1], 1, 5);
    assert.equal((await monitoring.store.latency(p, 0, now + DAY)).length, 3);

    const soon = await job.runOnce(now + HOUR);
    assert.equal(soon.rawItems, 0, 'raw items are kept for BOTPULSE_RAW_ITEM_RETENTION_HOURS');
    assert.equal(soon.latencyMinutes, 1, 'only the 8-day-old minute');
    assert.deepEqual((await monitoring.store.latency(p, 0, now + DAY)).map((r) => r.minute), [minute(now - 6 * DAY), minute(now)]);

    const later = await job.runOnce(now + (config.rawItemRetentionHours + 1) * HOUR);
    assert.ok(later.rawItems >= 2, `the consumed check-in and transaction are pruned (${later.rawItems})`);
    assert.equal(await store.countRawItems('check_in', p), 0);
    assert.equal(await store.countRawItems('transaction', p), 0);
    assert.equal(later.latencyMinutes, 1, 'the 6-day-old minute is now over 7 days old');
    const week = await job.runOnce(now + LATENCY_RETENTION_MS + 2 * 60_000);
    assert.equal(week.latencyMinutes, 1, 'and a week on, the minute written now');
    assert.equal((await monitoring.store.latency(p, 0, now + DAY)).length, 0);
    // The monitor itself and its history are not retention's business.
    assert.equal((await monitoring.store.findMonitor(p, 'nightly'))?.status, 'up');
  });

  it('prunes log lines received more than BOTPULSE_LOG_RETENTION_DAYS (7) ago', async () => {
    const { store, monitoring, config, logs } = server.botpulse;
    const job = new RetentionJob(store, config, pino({ level: 'silent' }), monitoring.store, logs);
    const p = server.project.id;
    const now = Date.now();
    const line = { projectId: p, time: now, receivedAt: now, level: 'info' as const, logger: null, message: 'kept a week', fields: {}, environment: null, release: null, source: 'ndjson' as const, lineId: null };
    await logs.appendLines([line]);
    assert.equal(config.logs.retentionDays, 7);
    assert.equal((await job.runOnce(now + 6 * DAY)).logLines, 0);
    assert.equal((await job.runOnce(now + 7 * DAY + HOUR)).logLines, 1);
    assert.equal(await logs.countLines(p), 0);
  });

  it('caps an issue in an error storm through the real intake: first and latest events kept, counts exact, with a log line', async () => {
    const capped = await startTestServer({ BOTPULSE_ISSUE_KEEP_FIRST: '5', BOTPULSE_ISSUE_KEEP_LATEST: '10' });
    try {
      const url = `${capped.url}/api/${capped.project.id}/envelope/?sentry_key=${capped.project.publicKey}`;
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) {
        const eventId = crypto.randomUUID().replace(/-/g, '');
        ids.push(eventId);
        const body = serializeEnvelope({ headers: { event_id: eventId }, items: [jsonItem('event', { event_id: eventId, message: 'storm: payments down' })] });
        assert.equal((await fetch(url, { method: 'POST', body })).status, 200);
      }
      await capped.digested();
      const lines: { msg: string; events?: number }[] = [];
      const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
      const job = new RetentionJob(capped.botpulse.store, capped.botpulse.config, logger);
      const result = await job.capOnce();
      assert.equal(result.issues, 1);
      assert.ok(result.events >= 24, `5 first + 10 latest + the hour's sample (or two, across an hour) of 40: ${result.events}`);
      const store = capped.botpulse.store;
      const [issue] = (await store.listIssues({ projectId: capped.project.id })).issues;
      assert.equal(issue!.eventCount, 40, 'the count stays exact');
      assert.equal((await store.listEvents(issue!.id, { limit: 500 })).length, 40 - result.events);
      for (const id of [...ids.slice(0, 5), ...ids.slice(30)]) assert.ok(await store.getEvent(capped.project.id, id), 'first and latest kept');
      assert.ok(lines.some((l) => /per-issue caps deleted/.test(l.msg) && l.events === result.events));
      assert.equal((await job.capOnce()).events, 0, 'nothing more the next time');
    } finally {
      await capped.close();
    }
  });
});
