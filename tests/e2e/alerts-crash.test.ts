// Alert decisions survive kill -9: every issue the digest created gets exactly one alert decision
// (its noise-control state, one outbox row, one "enqueued" log entry), none missing, none doubled,
// however the kill falls between the digest, the engine and the outbox. The real `botpulse serve`
// in its own process with the fake Telegram; each event is a new issue.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { FakeTelegram } from '../../packages/fake-telegram/src/index.js';
import { SqliteStore } from '../../packages/server/src/store/sqlite/index.js';
import { freePort } from '../../packages/server/src/test-support/server.js';
import { reapOnExit } from './support/children.js';

const CLI = fileURLToPath(new URL('../../packages/server/dist/cli/main.js', import.meta.url));
const ALERT_CHAT = -1005550001;

async function startServe(dataDir: string, port: number, env: Record<string, string>): Promise<ChildProcess> {
  const child = reapOnExit(spawn(process.execPath, [CLI, 'serve'], {
    env: { ...process.env, BOTPULSE_DATA_DIR: dataDir, BOTPULSE_PORT: String(port), BOTPULSE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  }));
  // A deadline only against a hang: a loaded machine starts a process slowly.
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    if (child.exitCode !== null) throw new Error(`botpulse serve exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('botpulse serve did not start');
}

/** Answers a round waits for before the kill (about 3 s of load on an idle machine). */
const KILL_AFTER_ANSWERS = 150;

const exited = (child: ChildProcess) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));

/** Per issue: its state row, its outbox rows and its "enqueued" log entries (all its alert decisions). */
function decisions(store: SqliteStore): { issue: number; state: number; outbox: number; log: number }[] {
  return store.db
    .prepare(
      `SELECT i.id AS issue,
         (SELECT COUNT(*) FROM alert_state s WHERE s.fingerprint = 'issue:' || i.id) AS state,
         (SELECT COUNT(*) FROM alert_outbox o WHERE o.issue_id = i.id) AS outbox,
         (SELECT COUNT(*) FROM alert_log l WHERE l.issue_id = i.id AND l.outcome = 'enqueued') AS log
       FROM issues i ORDER BY i.id`,
    )
    .all() as { issue: number; state: number; outbox: number; log: number }[];
}

describe('alert decisions across kill -9', { skip: !existsSync(CLI) && 'run `npm run build` first (npm test does)' }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-alerts-crash-'));
  let tg: FakeTelegram;
  after(async () => {
    await tg?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('gives every digested issue exactly one alert decision after the server is killed during a load', async (t) => {
    tg = await FakeTelegram.start();
    const { token } = tg.createBot({ username: 'botpulse_alerts_bot' });
    tg.createChat({ type: 'supergroup', id: ALERT_CHAT, title: 'On-call' });
    const env = {
      BOTPULSE_TELEGRAM_TOKEN: token,
      BOTPULSE_TELEGRAM_API_ROOT: tg.apiRoot,
      BOTPULSE_TELEGRAM_UPDATES: 'off',
      ERROR_ALERT_CHAT_ID: String(ALERT_CHAT),
    };
    const port = await freePort();
    const file = join(dataDir, 'botpulse.db');
    // A kill only tests recovery if it left issues without a decision (digested, not yet evaluated):
    // a round whose kill fell on a quiet moment is repeated, on the same data, up to 5 times.
    let undecidedAtKill = 0;
    let rounds = 0;
    let answered = 0;
    while (undecidedAtKill === 0 && rounds < 5) {
      rounds += 1;
      const server = await startServe(dataDir, port, env);
      const bootstrap = await SqliteStore.open(file, { migrate: false });
      const [project] = await bootstrap.listProjects();
      await bootstrap.close();
      const url = `http://127.0.0.1:${port}/api/${project!.id}/envelope/?sentry_key=${project!.publicKey}`;
      const answeredBefore = answered;
      const senders = Array.from({ length: 8 }, async (_, s) => {
        for (let i = 0; server.exitCode === null && !server.killed; i++) {
          const name = `crash-${rounds}-${s}-${i}`;
          const body = serializeEnvelope({
            headers: { event_id: crypto.randomUUID().replace(/-/g, '') },
            items: [jsonItem('event', { level: 'error', fingerprint: [name], exception: { values: [{ type: 'Error', value: `${name}: failed` }] } })],
          });
          try {
            if ((await fetch(url, { method: 'POST', body })).status === 200) answered += 1;
          } catch {
            /* the server died mid-request */
          }
        }
      });
      // Killed after a count of answers this round, not after a time: a slow machine just takes longer.
      for (const deadline = Date.now() + 120_000; answered - answeredBefore < KILL_AFTER_ANSWERS && server.exitCode === null; ) {
        if (Date.now() > deadline) throw new Error(`only ${answered - answeredBefore} answers in 120 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
      server.kill('SIGKILL');
      await Promise.all(senders);
      await exited(server);
      const left = await SqliteStore.open(file, { migrate: false });
      undecidedAtKill = decisions(left).filter((d) => d.state === 0).length;
      await left.close();
      t.diagnostic(`round ${rounds}: ${undecidedAtKill} issues had no decision yet at the kill`);
    }
    assert.ok(answered > 20, `only ${answered} events were answered`);
    assert.ok(undecidedAtKill > 0, `no kill of ${rounds} left an issue undecided`);

    const server = await startServe(dataDir, port, env);
    const store = await SqliteStore.open(file, { migrate: false });
    try {
      // Recovery: the spool is digested and every change evaluated; wait for that, within reason.
      const deadline = Date.now() + 120_000;
      let rows = decisions(store);
      while (rows.some((d) => d.state === 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        rows = decisions(store);
      }
      server.kill('SIGTERM');
      await exited(server);
      rows = decisions(store);
      t.diagnostic(`rounds ${rounds}, ${answered} events answered, ${rows.length} issues`);
      assert.ok(rows.length > 20, `${rows.length} issues`);
      const missing = rows.filter((d) => d.state === 0 || d.outbox === 0 || d.log === 0);
      const doubled = rows.filter((d) => d.outbox > 1 || d.log > 1);
      assert.deepEqual(missing.map((d) => d.issue), [], `${missing.length} of ${rows.length} issues never got an alert decision`);
      assert.deepEqual(doubled.map((d) => d.issue), [], `${doubled.length} issues were decided twice`);
    } finally {
      await store.close();
    }
  });
});
