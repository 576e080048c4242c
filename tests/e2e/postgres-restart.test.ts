// PostgreSQL restarted (`pg_ctl stop -m fast`, then start) under a steady load of real Sentry
// envelopes sent to `botpulse serve`: while the database is away ingestion answers 503 with
// Retry-After, never 500; the process never exits; afterwards every event answered 200 is stored
// exactly once, the spool and the alert feed drain, the monitor evaluator ticks again and /health
// answers. The cluster is the test's own (test-support/private-postgres.ts), never the machine's.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { privatePostgresUnavailable, startPrivatePostgres, type PrivatePostgres } from '../../packages/server/src/test-support/private-postgres.js';
import { freePort } from '../../packages/server/src/test-support/server.js';
import { reapOnExit } from './support/children.js';

const CLI = fileURLToPath(new URL('../../packages/server/dist/cli/main.js', import.meta.url));
const skip = !existsSync(CLI) ? 'run `npm run build` first (npm test does)' : await privatePostgresUnavailable();

/** Answers the load must have had before the database stops, and again after it is back. */
const ANSWERS_PER_PHASE = 40;
/** 503s the server must have answered while the database was away. */
const UNAVAILABLE_ANSWERS = 5;
const SENDERS = 4;

/** Polls a condition every 50 ms; the deadline only keeps a broken run from hanging. */
async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what()} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One query on a connection of its own (the cluster restarts under the test: no pool to go stale). */
async function query<T>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/** What the load saw: answers by status, the ids answered 200, and anything that breaks a promise. */
class Load {
  readonly byStatus = new Map<number, number>();
  readonly answered = new Set<string>();
  readonly problems: string[] = [];
  private running = true;
  private senders: Promise<void>[] = [];

  constructor(
    private readonly url: string,
    private readonly pingUrl: string,
    private readonly label: () => string,
  ) {}

  count(status: number): number {
    return this.byStatus.get(status) ?? 0;
  }

  start(): void {
    this.senders = Array.from({ length: SENDERS }, async (_, s) => {
      for (let i = 0; this.running; i++) await this.sendOne(s, i);
    });
    // A bot's heartbeat too: plain pings (answered from the monitors' tables, not the spool).
    this.senders.push(
      (async () => {
        while (this.running) {
          await this.request(this.pingUrl, { method: 'POST' });
          await new Promise((r) => setTimeout(r, 20));
        }
      })(),
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.senders);
  }

  summary(): string {
    return [...this.byStatus].map(([status, n]) => `${status}: ${n}`).join(', ');
  }

  private async sendOne(sender: number, i: number): Promise<void> {
    const eventId = crypto.randomUUID().replace(/-/g, '');
    // A few issues per phase: issues first seen after the restart feed the alert engine too.
    const message = `restart test ${this.label()} ${(sender + i) % 3}`;
    const event = jsonItem('event', { event_id: eventId, message, level: 'error', exception: { values: [{ type: 'RestartError', value: message }] } });
    // Every few envelopes carry a cron check-in as well, as an SDK's would.
    const checkIn = jsonItem('check_in', { check_in_id: crypto.randomUUID().replace(/-/g, ''), monitor_slug: 'restart-cron', status: 'ok' });
    const body = serializeEnvelope({ headers: { event_id: eventId }, items: i % 4 === 0 ? [event, checkIn] : [event] });
    // As an SDK does, an envelope answered 503 is sent again (same event id) until it is taken.
    for (let status = 0; this.running && status !== 200; ) {
      status = await this.request(this.url, { method: 'POST', body });
      if (status === 200) this.answered.add(eventId);
      else if (status !== 503) return;
    }
  }

  /** Sends one request and records its answer; resolves to its status (0: no answer). */
  private async request(url: string, init: RequestInit): Promise<number> {
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (error) {
      this.problems.push(`request failed: ${(error as Error).message}`); // the server must stay up
      await new Promise((r) => setTimeout(r, 100));
      return 0;
    }
    const text = await res.text();
    this.byStatus.set(res.status, this.count(res.status) + 1);
    if (res.status === 503) {
      if (!res.headers.get('retry-after')) this.problems.push(`a 503 without Retry-After from ${new URL(url).pathname}`);
      await new Promise((r) => setTimeout(r, 50)); // a client backs off; keeps the log small
    } else if (res.status !== 200 && this.problems.length < 20) this.problems.push(`${new URL(url).pathname} answered ${res.status}: ${text.slice(0, 300)}`);
    return res.status;
  }
}

describe('PostgreSQL restarted during a load', { skip }, () => {
  let cluster: PrivatePostgres;
  let dataDir: string;
  const servers: ChildProcess[] = [];

  before(async () => {
    cluster = await startPrivatePostgres('botpulse-restart');
    dataDir = mkdtempSync(join(tmpdir(), 'botpulse-restart-'));
  });
  after(async () => {
    for (const s of servers) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
    await cluster?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  // `fast`: a clean restart (open transactions rolled back, connections closed). `immediate`: the
  // postmaster quits without a checkpoint and the next start recovers from the WAL, as after a crash.
  for (const mode of ['fast', 'immediate'] as const) {
    it(`answers 503 while it is away, never 500, and loses nothing answered 200 (pg_ctl stop -m ${mode})`, async (t) => {
      await restartDuringLoad(mode, t);
    });
  }

  async function restartDuringLoad(mode: 'fast' | 'immediate', t: TestContext): Promise<void> {
    await cluster.start(); // an earlier test that failed may have left it stopped
    let output = '';
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const serve = reapOnExit(spawn(process.execPath, [CLI, 'serve'], {
      env: { ...process.env, BOTPULSE_DATA_DIR: dataDir, BOTPULSE_PORT: String(port), BOTPULSE_LOG_LEVEL: 'warn', BOTPULSE_DATABASE_URL: cluster.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    servers.push(serve);
    let exit: string | null = null;
    serve.on('exit', (code, signal) => (exit = `exited (code ${code}, signal ${signal})`));
    serve.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    serve.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const alive = () => {
      if (exit) throw new Error(`botpulse serve ${exit}:\n${output.slice(-4000)}`);
      return true;
    };
    const health = async () => {
      try {
        const res = await fetch(`${base}/health`);
        return res.ok ? ((await res.json()) as { backlog: number }) : null;
      } catch {
        return null; // not listening yet
      }
    };
    await waitUntil(async () => alive() && (await health()) !== null, 60_000, () => 'botpulse serve to start');

    const [project] = await query<{ id: number; public_key: string }>(cluster.url, 'SELECT id, public_key FROM projects');
    let phase = 'before';
    const load = new Load(
      `${base}/api/${project!.id}/envelope/?sentry_key=${project!.public_key}`,
      `${base}/api/${project!.id}/heartbeat/restart-bot?sentry_key=${project!.public_key}`,
      () => phase,
    );
    load.start();
    try {
      await waitUntil(() => alive() && load.count(200) >= ANSWERS_PER_PHASE, 120_000, () => `${ANSWERS_PER_PHASE} answers before the stop (${load.summary()})`);

      phase = 'during';
      await cluster.stop(mode);
      const unavailableBefore = load.count(503);
      // Away long enough for the background loops to meet it too (a monitor tick fails each second).
      const tickFailures = () => metric(base, 'botpulse_failures_total{site="monitor_tick"}');
      const tickFailuresBefore = await tickFailures();
      await waitUntil(
        async () => alive() && load.count(503) - unavailableBefore >= UNAVAILABLE_ANSWERS && (await tickFailures()) > tickFailuresBefore,
        120_000,
        () => `${UNAVAILABLE_ANSWERS} answers 503 and a failed monitor tick while PostgreSQL is stopped (${load.summary()})`,
      );

      assert.ok((await metric(base, 'botpulse_events_rejected_total{status="503"}')) >= UNAVAILABLE_ANSWERS, 'the 503s are counted, and visible while the database is away');
      await cluster.start();
      phase = 'after';
      const evaluatorBefore = await evaluatorLeaseUntil(cluster.url);
      const answeredAtRestart = load.count(200);
      await waitUntil(
        () => alive() && load.count(200) - answeredAtRestart >= ANSWERS_PER_PHASE,
        120_000,
        () => `${ANSWERS_PER_PHASE} answers 200 after PostgreSQL is back (${load.summary()})`,
      );
      await load.stop();

      // The loops on the database came back by themselves: the spool and the alert feed drain,
      // the monitor evaluator renews its lease, /health answers with nothing left to digest.
      await waitUntil(async () => alive() && (await countRows(cluster.url, 'spool')) === 0, 120_000, () => 'the spool to drain');
      await waitUntil(async () => alive() && (await countRows(cluster.url, 'alert_changes')) === 0, 120_000, () => 'the alert engine to consume every issue change');
      await waitUntil(async () => alive() && (await evaluatorLeaseUntil(cluster.url)) > evaluatorBefore, 120_000, () => 'the monitor evaluator to tick after the restart');
      await waitUntil(async () => alive() && (await health())?.backlog === 0, 60_000, () => '/health to answer with an empty backlog');
      // No query left waiting for a connection of a pool that lost all of its connections.
      await waitUntil(async () => alive() && (await metric(base, 'botpulse_database_pool_waiting_queries')) === 0, 60_000, () => 'no query waiting for a pool connection');
    } finally {
      await load.stop();
    }

    t.diagnostic(`answers: ${load.summary()}; answered 200: ${load.answered.size}`);
    assert.deepEqual(load.problems, [], 'every answer was a 200 or a 503 with Retry-After, and the server always answered');
    assert.ok(load.count(503) >= UNAVAILABLE_ANSWERS);

    const stored = new Map(
      (await query<{ event_id: string; n: string }>(cluster.url, 'SELECT event_id, COUNT(*) AS n FROM events WHERE project_id = $1 GROUP BY event_id', [project!.id])).map((r) => [r.event_id, Number(r.n)]),
    );
    const missing = [...load.answered].filter((id) => !stored.has(id));
    const quarantined = await countRows(cluster.url, 'digest_quarantine');
    assert.deepEqual(missing, [], `${missing.length} events answered 200 are not stored (${quarantined} rows quarantined)`);
    assert.deepEqual([...stored].filter(([, n]) => n !== 1), [], 'each event stored once');
    // Over every test of the file: the events of an earlier restart are not digested again.
    const [counts] = await query<{ events: string; counted: string }>(
      cluster.url,
      'SELECT (SELECT COUNT(*) FROM events) AS events, (SELECT COALESCE(SUM(event_count), 0) FROM issues) AS counted',
    );
    assert.equal(Number(counts!.counted), Number(counts!.events), 'issue counts equal the stored events: nothing digested twice');
    assert.equal(quarantined, 0, 'a database that went away is not the rows\' fault: nothing quarantined');

    alive();
    assert.doesNotMatch(output, /uncaught|unhandled/i, 'no uncaught error in the server log');
    serve.kill('SIGTERM');
    const code = await new Promise((r) => (serve.exitCode !== null ? r(serve.exitCode) : serve.once('exit', r)));
    assert.equal(code, 0, `botpulse serve shut down cleanly after the restart:\n${output.slice(-4000)}`);
  }
});

async function countRows(url: string, table: 'spool' | 'alert_changes' | 'digest_quarantine'): Promise<number> {
  const [row] = await query<{ n: string }>(url, `SELECT COUNT(*) AS n FROM ${table}`);
  return Number(row!.n);
}

/** The monitor evaluator renews its lease on every tick (0 before its first). */
async function evaluatorLeaseUntil(url: string): Promise<number> {
  const [row] = await query<{ until: string }>(url, `SELECT until FROM alert_leases WHERE name = 'monitors:evaluator'`);
  return Number(row?.until ?? 0);
}

/**
 * /metrics (loopback needs no token) must answer while the database is away: that is when an
 * operator needs it. Resolves to the value of one sample, 0 when absent.
 */
async function metric(base: string, sample: string): Promise<number> {
  const res = await fetch(`${base}/metrics`);
  const text = await res.text();
  assert.equal(res.status, 200, `/metrics answered ${res.status}: ${text.slice(0, 300)}`);
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.split(' ').pop()) : 0;
}
