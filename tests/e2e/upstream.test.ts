import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startTestServer } from '../../packages/server/src/test-support/server.js';
import { CLI, genError, issueListHtml, metric, Proxy, sendEvent, state, UpstreamServe, waitForAll, waitUntil } from './upstream-support.js';

// Issue 14 (docs/upstream.md): forwarding to a second Botpulse, `botpulse serve` in its own process,
// behind a proxy on 127.0.0.1 that answers 429 and 503.

describe('forwarding to an upstream Sentry (a second Botpulse)', { skip: !existsSync(CLI) && 'run `npm run build` first (npm test does)' }, () => {
  const b = new UpstreamServe();
  const proxy = new Proxy(() => b.port);
  before(async () => {
    await b.start();
    await proxy.start();
  });
  after(async () => {
    await proxy.stop();
    await b.stop();
  });

  /** A forwarding Botpulse in this process, retrying fast (an outage of minutes takes seconds here). */
  const startForwarder = (env: Record<string, string> = {}) =>
    startTestServer({
      BOTPULSE_UPSTREAM_DSN: b.dsnThrough(proxy.port),
      BOTPULSE_UPSTREAM_RETRY_MIN_SECONDS: '0.05',
      BOTPULSE_UPSTREAM_RETRY_MAX_SECONDS: '0.2',
      BOTPULSE_UPSTREAM_POLL_SECONDS: '0.05',
      ...env,
    });

  it('forwards every accepted event with origin and gen_request_id as tags, from tags, extra or contexts, grouped there', async () => {
    proxy.pass();
    const a = await startForwarder();
    try {
      const ids = [
        await sendEvent(a, { ...genError(1), tags: { origin: 'celery', gen_request_id: 'gen-1' } }),
        await sendEvent(a, { ...genError(2), extra: { origin: 'webhook', payload: { gen_request_id: 'gen-2', token_hint: 'x' } } }),
        await sendEvent(a, { ...genError(3), contexts: { error_tracker: { origin: 'miniapp', gen_request_id: 77 } } }),
      ];
      await waitForAll(b, ids, 'the three events on the upstream');
      const events = await b.read(async (s) => Promise.all(ids.map((id) => s.getEvent(b.project.id, id))));
      assert.deepEqual(
        events.map((e) => [e!.tags['origin'], e!.tags['gen_request_id']]),
        [['celery', 'gen-1'], ['webhook', 'gen-2'], ['miniapp', '77']],
      );
      for (const e of events) assert.equal(e!.tags['botpulse.forwarded'], a.url, 'marked as forwarded by a Botpulse');
      assert.equal(new Set(events.map((e) => e!.issueId)).size, 1, 'the same error is one issue on the upstream too');
      const issue = await b.read((s) => s.getIssue(events[0]!.issueId));
      assert.equal(issue!.eventCount >= 3, true);
      await waitUntil(() => state(a).sent.event === 3, 'the forwarder to report three sent (its thread reports every 200 ms)');
      assert.match((await metric(a, 'botpulse_upstream_sent_total{kind="event"}'))[0]!, / 3$/);
    } finally {
      await a.close();
    }
  });

  it('waits out 429 (Retry-After, X-Sentry-Rate-Limits) and 503 and loses nothing', async () => {
    proxy.pass();
    proxy.next({ kind: 'status', status: 429, headers: { 'Retry-After': '1', 'X-Sentry-Rate-Limits': '1:error;default:key:too_many' } }, 2);
    proxy.next({ kind: 'status', status: 503 }, 6);
    const seenBefore = proxy.seen.length;
    // One send at a time, so the proxy's clock shows what followed the 429.
    const a = await startForwarder({ BOTPULSE_UPSTREAM_CONCURRENCY: '1' });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(await sendEvent(a, genError(100 + i)));
      await waitForAll(b, ids, 'all 20 events on the upstream');
      const s = state(a);
      assert.ok(s.rateLimited >= 1, `rate limited ${s.rateLimited}`);
      assert.ok(s.failed >= 1, `failed ${s.failed}`);
      assert.deepEqual(s.dropped, { backlog_full: 0, rejected: 0, unreadable: 0 });
      // The limit said one second for errors: nothing was sent in it (the proxy's own clock).
      const mine = proxy.seen.slice(seenBefore);
      const first429 = mine.findIndex((r) => r.status === 429);
      const after429 = mine.slice(first429 + 1).find((r) => r.status !== 429);
      assert.ok(after429 && after429.at - mine[first429]!.at >= 1000, `sent again ${after429 && after429.at - mine[first429]!.at} ms after the 429`);
      assert.match((await metric(a, 'botpulse_upstream_rate_limited_total'))[0]!, /botpulse_upstream_rate_limited_total [1-9]/);
    } finally {
      await a.close();
    }
  });
});
