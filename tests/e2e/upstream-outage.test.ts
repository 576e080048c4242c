import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { CLI, genError, issueListHtml, metric, Proxy, sendEvent, state, UpstreamServe, waitForAll, waitUntil } from './upstream-support.js';

// Issue 14 (docs/upstream.md): the upstream (a second Botpulse behind a proxy) down while events keep
// arriving, and the bounded backlog.

describe('forwarding to an upstream Sentry that is down', { skip: !existsSync(CLI) && 'run `npm run build` first (npm test does)' }, () => {
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

  it('an upstream down while events keep arriving: every event answered 200 arrives once it is back', async () => {
    proxy.pass();
    proxy.next({ kind: 'down' });
    const a = await startForwarder();
    try {
      const ids: string[] = [];
      // Events keep arriving through the outage: a burst, then more after the forwarder has
      // failed a number of times (counts, not a clock: "a minute" is the retries it spans).
      for (let i = 0; i < 15; i++) ids.push(await sendEvent(a, genError(200 + i)));
      await waitUntil(() => state(a).failed >= 5, 'five failed tries');
      for (let i = 0; i < 15; i++) ids.push(await sendEvent(a, genError(300 + i)));
      await waitUntil(() => state(a).failed >= 15, 'fifteen failed tries');
      assert.equal((await b.storedIds(ids)).length, 0, 'nothing got through while down');
      assert.ok(state(a).backlog.event > 0);
      assert.match(state(a).lastError ?? '', /unreachable/);
      // Said where an operator looks: /metrics and the dashboard's issue list.
      assert.match((await metric(a, 'botpulse_upstream_backlog{kind="event"}'))[0]!, /botpulse_upstream_backlog\{kind="event"\} [1-9]/);
      assert.match((await metric(a, 'botpulse_upstream_failed_total'))[0]!, /botpulse_upstream_failed_total [1-9]/);
      // The page reads the forwarder thread's state as last reported (every 200 ms): look until it shows.
      let page = '';
      await waitUntil(async () => /Upstream Sentry failing: upstream unreachable/.test((page = await issueListHtml(a))), 'the banner on the issue list', 30_000);
      assert.match(page, /Upstream Sentry failing: upstream unreachable/);
      proxy.pass();
      await waitForAll(b, ids, 'all 30 events after the outage');
      assert.deepEqual(state(a).dropped, { backlog_full: 0, rejected: 0, unreadable: 0 });
      await waitUntil(() => state(a).backlog.event === 0, 'an empty backlog');
    } finally {
      await a.close();
    }
  });

  it('keeps the backlog bounded: past the limit the oldest are given up and counted', async () => {
    proxy.pass();
    proxy.next({ kind: 'down' });
    const a = await startForwarder({ BOTPULSE_UPSTREAM_BACKLOG_LIMIT: '10' });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) ids.push(await sendEvent(a, genError(400 + i)));
      await a.digested();
      await waitUntil(() => state(a).dropped.backlog_full === 15, 'fifteen given up');
      proxy.pass();
      await waitForAll(b, ids.slice(15), 'the newest ten');
      assert.deepEqual(await b.storedIds(ids.slice(0, 15)), [], 'the oldest fifteen were given up');
      assert.match((await metric(a, 'botpulse_upstream_dropped_total{reason="backlog_full"}'))[0]!, / 15$/);
    } finally {
      await a.close();
    }
  });

  it('bounds the backlog of raw kinds (check-ins here) the same way, counted per kind', async () => {
    proxy.pass();
    proxy.next({ kind: 'down' });
    const a = await startForwarder({ BOTPULSE_UPSTREAM_BACKLOG_LIMIT: '10', BOTPULSE_UPSTREAM_BATCH: '4', BOTPULSE_UPSTREAM_PROJECTS: JSON.stringify({ '*': { kinds: ['event', 'check_in'] } }) });
    try {
      for (let i = 0; i < 25; i++) await sendCheckIn(a, i);
      await waitUntil(() => state(a).dropped.backlog_full === 15, 'fifteen check-ins given up');
      await waitUntil(() => state(a).backlog.check_in === 10, 'ten check-ins waiting, counted past one batch');
      proxy.pass();
      await waitUntil(() => state(a).sent.check_in === 10, 'the newest ten check-ins sent');
      await waitUntil(() => state(a).backlog.check_in === 0, 'an empty check-in backlog');
      assert.equal(state(a).dropped.backlog_full, 15);
      assert.match((await metric(a, 'botpulse_upstream_dropped_total{reason="backlog_full"}'))[0]!, / 15$/);
    } finally {
      await a.close();
    }
  });

  it('a retry in the middle of a batch sends the items after it once, and counts them once', async () => {
    // An upstream stand-in that reads each envelope: down at first, then it fails the envelope of
    // one check-in once and accepts the rest. The items after the failed one went through: the
    // retry must not post them (or count them) again. Check-ins have no event id the upstream
    // could drop a second copy by.
    const received: string[] = [];
    let mode: 'down' | 'fail-one' = 'down';
    let failedOne = false;
    const standIn = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const slug = /"monitor_slug":"([^"]+)"/.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? '?';
        if (mode === 'down' || (slug === 'batch-1' && !failedOne)) {
          if (mode === 'fail-one') failedOne = true;
          req.socket.destroy();
          return;
        }
        received.push(slug);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => standIn.listen(0, '127.0.0.1', r));
    const port = (standIn.address() as AddressInfo).port;
    const a = await startForwarder({
      BOTPULSE_UPSTREAM_DSN: `http://k@127.0.0.1:${port}/1`,
      BOTPULSE_UPSTREAM_CONCURRENCY: '4',
      BOTPULSE_UPSTREAM_PROJECTS: JSON.stringify({ '*': { kinds: ['event', 'check_in'] } }),
    });
    try {
      for (let i = 0; i < 4; i++) await sendCheckIn(a, i, 'batch');
      await waitUntil(() => state(a).failed >= 4 && state(a).backlog.check_in === 4, 'four check-ins waiting while the upstream is down');
      mode = 'fail-one';
      await waitUntil(() => state(a).backlog.check_in === 0, 'an empty check-in backlog');
      assert.ok(failedOne, 'the stand-in failed batch-1 once');
      assert.deepEqual([...received].sort(), ['batch-0', 'batch-1', 'batch-2', 'batch-3'], 'each check-in reached the upstream once');
      assert.equal(state(a).sent.check_in, 4);
    } finally {
      await a.close();
      standIn.closeAllConnections();
      await new Promise((r) => standIn.close(r));
    }
  });
});

/** One cron check-in, answered 200 (parked as a raw item). */
async function sendCheckIn(server: TestServer, i: number, prefix = 'nightly'): Promise<void> {
  const body = serializeEnvelope({ headers: {}, items: [jsonItem('check_in', { check_in_id: randomUUID().replace(/-/g, ''), monitor_slug: `${prefix}-${i}`, status: 'ok' })] });
  const res = await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });
  assert.equal(res.status, 200, await res.text());
}
