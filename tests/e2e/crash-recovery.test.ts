import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { SqliteStore } from '../../packages/server/src/store/sqlite/index.js';
import { freePort } from '../../packages/server/src/test-support/server.js';
import { reapOnExit } from './support/children.js';

const CLI = fileURLToPath(new URL('../../packages/server/dist/cli/main.js', import.meta.url));

/** Answers a round waits for before it kills the server (at least this many are then checked). */
const KILL_AFTER_ANSWERS = 60;

/** Polls a condition every 20 ms; the deadline only keeps a broken run from hanging. */
async function waitUntilAsync(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const waitUntil = (condition: () => boolean, timeoutMs: number, what: string) => waitUntilAsync(async () => condition(), timeoutMs, what);

/** The real `botpulse serve` in its own process, so it can be killed with SIGKILL. */
async function startServe(dataDir: string, port: number, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = reapOnExit(spawn(process.execPath, [CLI, 'serve'], {
    env: { ...process.env, BOTPULSE_DATA_DIR: dataDir, BOTPULSE_PORT: String(port), BOTPULSE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  }));
  await waitUntilAsync(async () => {
    if (child.exitCode !== null) throw new Error(`botpulse serve exited with ${child.exitCode}`);
    try {
      return (await fetch(`http://127.0.0.1:${port}/health`)).ok;
    } catch {
      return false; // not listening yet
    }
  }, 60_000, 'botpulse serve to start');
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));

describe('crash safety', { skip: !existsSync(CLI) && 'run `npm run build` first (npm test does)' }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-crash-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('digests every answered event exactly once after kill -9 during a load', async (t) => {
    const port = await freePort();
    // One row per digest batch: the digest usually falls behind the load, so the kill leaves a
    // backlog. Usually, not always (a quiet moment lets it keep up): a round that left nothing to
    // recover is repeated, on the same data, up to 5 times. Every answered event of every round
    // must be stored exactly once at the end.
    const answered = new Set<string>();
    let sent = 0;
    let backlogAtKill = 0;
    let server!: ChildProcess;
    let rounds = 0;
    let project: Awaited<ReturnType<SqliteStore['listProjects']>>[number] | undefined;
    while (backlogAtKill === 0 && rounds < 5) {
      rounds += 1;
      server = await startServe(dataDir, port, { BOTPULSE_DIGEST_BATCH: '1' });
      const bootstrap = await SqliteStore.open(join(dataDir, 'botpulse.db'));
      [project] = await bootstrap.listProjects();
      await bootstrap.close();
      const url = `http://127.0.0.1:${port}/api/${project!.id}/envelope/?sentry_key=${project!.publicKey}`;
      const running = server;
      const sendOne = async (i: number) => {
        const eventId = crypto.randomUUID().replace(/-/g, '');
        const body = serializeEnvelope({
          headers: { event_id: eventId },
          items: [jsonItem('event', { message: `crash test ${i % 7}`, exception: { values: [{ type: `E${i % 7}`, value: 'boom' }] } })],
        });
        sent += 1;
        try {
          const res = await fetch(url, { method: 'POST', body });
          if (res.status === 200) answered.add(eventId);
        } catch {
          /* the server died mid-request: not answered, so not promised */
        }
      };
      // 8 concurrent senders; the server is killed while they are busy, once this round has had
      // KILL_AFTER_ANSWERS answers (a count, not a time: a slow machine just takes longer).
      const answeredBefore = answered.size;
      const senders = Array.from({ length: 8 }, async (_, s) => {
        for (let i = 0; running.exitCode === null && !running.killed; i++) await sendOne(rounds * 10_000_000 + s * 100_000 + i);
      });
      await waitUntil(() => answered.size - answeredBefore >= KILL_AFTER_ANSWERS || running.exitCode !== null, 120_000, 'answers before the kill');
      running.kill('SIGKILL');
      await Promise.all(senders);
      await exited(running);
      const left = await SqliteStore.open(join(dataDir, 'botpulse.db'));
      backlogAtKill = await left.spoolBacklog();
      await left.close();
    }
    assert.ok(answered.size >= KILL_AFTER_ANSWERS, `only ${answered.size} events were answered before the kill`);
    t.diagnostic(`rounds ${rounds}, sent ${sent}, answered ${answered.size}, left in the spool by the last kill: ${backlogAtKill}`);
    assert.ok(backlogAtKill > 0, `no kill of ${rounds} left undigested events for recovery to digest`);

    server = await startServe(dataDir, port);
    const backlog = async () => ((await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { backlog: number }).backlog;
    await waitUntilAsync(async () => (await backlog()) === 0, 120_000, 'the recovered backlog to be digested');
    server.kill('SIGTERM');
    await exited(server);

    const store = await SqliteStore.open(join(dataDir, 'botpulse.db'));
    try {
      const missing = [];
      for (const id of answered) if (!(await store.getEvent(project!.id, id))) missing.push(id);
      assert.deepEqual(missing, [], `${missing.length} answered events are missing`);
      const stored = Number(store.db.prepare('SELECT COUNT(*) FROM events').pluck().get());
      const counted = Number(store.db.prepare('SELECT SUM(event_count) FROM issues').pluck().get());
      assert.equal(counted, stored, 'issue counts equal the stored events: nothing digested twice');
      assert.ok(stored >= answered.size && stored <= sent, `stored ${stored}, answered ${answered.size}, sent ${sent}`);
      assert.equal(await store.spoolBacklog(), 0);
    } finally {
      await store.close();
    }
  });
});
