// Two `botpulse serve` processes on one PostgreSQL database, the load of a real @sentry/node spread
// over both, one killed with SIGKILL after a count of answers (issue 12): every event answered 200,
// by either process, is stored exactly once, and the survivor digests what was left in the spool.
// The crash-safety scenario of crash-recovery.test.ts, with several processes on PostgreSQL.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import * as Sentry from '@sentry/node';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../../packages/server/src/test-support/postgres.js';
import { CLI, firstProject, query, startServe, waitUntil, type ServeProcess } from './postgres-support/processes.js';

/** Answers the process to be killed must have given before the kill (a count, not a time). */
const KILL_AFTER_ANSWERS = 60;
/** Answers the survivor gives after the kill, before the load stops. */
const SURVIVOR_ANSWERS = 40;
/** Events in flight at once (the SDK's own buffer holds 64). */
const CONCURRENCY = 8;

const skip = !existsSync(CLI) ? 'run `npm run build` first (npm test does)' : await postgresUnavailable();

/** The first line of an envelope (its headers, with the event id). */
const envelopeEventId = (body: string | Uint8Array) => {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  return (JSON.parse(text.slice(0, text.indexOf('\n'))) as { event_id: string }).event_id;
};

/**
 * @sentry/node as a bot runs it, its envelopes posted to whichever live process `route` picks (the
 * load balancer). Each capture resolves when its envelope was answered (or failed); `answered`
 * holds the event ids answered 200, per process.
 */
function sentryLoad(projectId: number, publicKey: string, route: () => ServeProcess) {
  const answered = new Map<ServeProcess, Set<string>>();
  const settled = new Map<string, () => void>();
  Sentry.init({
    dsn: `http://${publicKey}@127.0.0.1:1/${projectId}`,
    defaultIntegrations: false,
    sendClientReports: false,
    transport: (options) =>
      Sentry.createTransport(options, async (request) => {
        const eventId = envelopeEventId(request.body);
        const server = route();
        try {
          const res = await fetch(`${server.url}/api/${projectId}/envelope/?sentry_key=${publicKey}`, { method: 'POST', body: request.body });
          await res.arrayBuffer();
          if (res.status === 200) answered.set(server, (answered.get(server) ?? new Set()).add(eventId));
          return { statusCode: res.status };
        } catch {
          return {}; // the process died mid-request: not answered, so not promised
        } finally {
          settled.get(eventId)?.();
          settled.delete(eventId);
        }
      }),
  });
  let n = 0;
  const captureOne = async () => {
    n += 1;
    const done = new Promise<void>((resolve) => {
      const error = new TypeError(`crash ${n % 7}: cannot read properties of undefined (reading 'balance')`);
      const eventId = Sentry.captureException(error, { tags: { kind: `k${n % 3}` } });
      settled.set(eventId, resolve);
    });
    await done;
  };
  return {
    answered,
    count: (server?: ServeProcess) => (server ? (answered.get(server)?.size ?? 0) : [...answered.values()].reduce((s, a) => s + a.size, 0)),
    all: () => new Set([...answered.values()].flatMap((a) => [...a])),
    /** CONCURRENCY loops capturing one event after another until `stop()` holds. */
    run: (stop: () => boolean) => Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (!stop()) await captureOne();
    })),
    sent: () => n,
  };
}

describe('two processes on PostgreSQL, one killed with -9 during a load', { skip }, () => {
  let schema: TestSchema;
  const processes: ServeProcess[] = [];
  before(async () => {
    schema = await createTestSchema('e2e_kill');
  });
  after(async () => {
    await Sentry.close(2000).catch(() => undefined);
    for (const p of processes) await p.stop();
    await schema?.drop();
  });

  it('stores every event answered 200 by either process exactly once; the survivor digests what was left', async (t) => {
    // Batch 1: each digest transaction takes one row, so the digests fall behind the load and a
    // kill leaves rows in the spool (usually: a round whose kill left none is repeated).
    const env = { BOTPULSE_DIGEST_BATCH: '1' };
    const survivor = await startServe(schema, env);
    processes.push(survivor);
    const project = await firstProject(schema);
    let victim!: ServeProcess;
    let turn = 0;
    const load = sentryLoad(project.id, project.publicKey, () => {
      const live = [victim, survivor].filter((p) => p?.alive());
      return live[turn++ % live.length] ?? survivor;
    });

    const spoolRows = async () => Number((await query<{ n: string }>(schema, 'SELECT COUNT(*) AS n FROM spool'))[0]!.n);
    let leftAtKill = 0;
    let rounds = 0;
    while (leftAtKill === 0 && rounds < 5) {
      rounds += 1;
      victim = await startServe(schema, env);
      processes.push(victim);
      const before = load.count(victim);
      let stop = false;
      const running = load.run(() => stop);
      await waitUntil(() => load.count(victim) - before >= KILL_AFTER_ANSWERS, `${KILL_AFTER_ANSWERS} answers from the process to kill`);
      await victim.kill9();
      leftAtKill = await spoolRows();
      const survivorBefore = load.count(survivor);
      await waitUntil(() => load.count(survivor) - survivorBefore >= SURVIVOR_ANSWERS, 'the survivor to keep answering');
      stop = true;
      await running;
      t.diagnostic(`round ${rounds}: ${leftAtKill} rows in the spool at the kill`);
    }
    assert.ok(leftAtKill > 0, `no kill of ${rounds} left rows in the spool for the survivor`);

    // Only the survivor runs now: it digests everything, including what the dead process answered.
    // Counted in the database: a process's /health backlog counts its own appends and digests only.
    await waitUntil(async () => (await spoolRows()) === 0, 'the survivor to digest the spool', 170_000);

    const answered = load.all();
    const byVictims = processes.filter((p) => p !== survivor).reduce((s, p) => s + load.count(p), 0);
    t.diagnostic(`rounds ${rounds}, sent ${load.sent()}, answered ${answered.size} (${byVictims} by killed processes)`);
    assert.ok(byVictims >= KILL_AFTER_ANSWERS && load.count(survivor) >= SURVIVOR_ANSWERS);

    const stored = await query<{ event_id: string; n: string }>(schema, 'SELECT event_id, COUNT(*) AS n FROM events WHERE project_id = $1 GROUP BY event_id', [project.id]);
    const copies = new Map(stored.map((r) => [r.event_id, Number(r.n)]));
    const missing = [...answered].filter((id) => !copies.has(id));
    const doubled = [...copies].filter(([, n]) => n > 1);
    assert.deepEqual(missing, [], `${missing.length} of ${answered.size} answered events are not stored`);
    assert.deepEqual(doubled, [], 'no event stored twice');
    assert.ok(copies.size <= load.sent(), `stored ${copies.size}, sent ${load.sent()}`);
    const [counts] = await query<{ events: string; counted: string; quarantined: string }>(
      schema,
      'SELECT (SELECT COUNT(*) FROM events) AS events, (SELECT SUM(event_count) FROM issues) AS counted, (SELECT COUNT(*) FROM digest_quarantine) AS quarantined',
    );
    assert.equal(Number(counts!.counted), Number(counts!.events), 'issue counts equal the stored events: nothing digested twice');
    assert.equal(Number(counts!.quarantined), 0, 'nothing quarantined');
  });
});

/** `botpulse_digest_payloads_read_total` of a process's /metrics. */
async function payloadsRead(server: ServeProcess): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('botpulse_digest_payloads_read_total '));
  assert.ok(line, 'the metric is exported');
  return Number(line.split(' ')[1]);
}

describe('one process on PostgreSQL: the digest takes what the process accepted from memory', { skip }, () => {
  let schema: TestSchema;
  let server: ServeProcess | undefined;
  before(async () => {
    schema = await createTestSchema('e2e_handoff');
  });
  after(async () => {
    await server?.stop();
    await schema?.drop();
  });

  it('digests every accepted event without reading its payload back from the spool (counted), and stores it as sent', async () => {
    server = await startServe(schema);
    const project = await firstProject(schema);
    const sent: string[] = [];
    const send = async (i: number) => {
      const eventId = `${String(i).padStart(2, '0')}${'ab'.repeat(15)}`;
      const event = { event_id: eventId, level: 'error', message: `hand-off ${i}`, platform: 'node', extra: { n: i } };
      const body = `${JSON.stringify({ event_id: eventId })}\n${JSON.stringify({ type: 'event' })}\n${JSON.stringify(event)}\n`;
      const res = await fetch(`${server!.url}/api/${project.id}/envelope/?sentry_key=${project.publicKey}`, { method: 'POST', body });
      assert.equal(res.status, 200);
      return eventId;
    };
    const digested = (n: number) => waitUntil(async () => Number((await query<{ n: string }>(schema, 'SELECT COUNT(*) AS n FROM events'))[0]!.n) === n, `${n} events digested`);
    for (let i = 0; i < 20; i++) {
      sent.push(await send(i));
      await digested(i + 1); // one at a time, each digested before the next
    }
    // Then requests that overlap: flushes commit while the digest claims, so claims land between a
    // commit and its hand-off (the digest leaves those rows for its next batch: held-rows.ts).
    for (let round = 0; round < 4; round++) {
      sent.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => send(20 + round * 10 + j)))));
    }
    await digested(sent.length);
    sent.sort();
    const stored = await query<{ event_id: string; message: string }>(schema, 'SELECT event_id, message FROM events WHERE project_id = $1 ORDER BY event_id', [project.id]);
    assert.deepEqual(stored.map((r) => r.event_id), sent);
    assert.deepEqual(stored.map((r) => r.message), sent.map((id) => `hand-off ${Number(id.slice(0, 2))}`), 'each with its own payload');
    assert.equal(await payloadsRead(server), 0, 'no payload read back');
  });
});
