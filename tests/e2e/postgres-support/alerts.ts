// What the multi-process alert tests on PostgreSQL share: posting an event to one process, counting
// sends per issue name, and waiting until the alert outbox has settled.
import { randomUUID } from 'node:crypto';
import type { FakeTelegram } from '../../../packages/fake-telegram/src/index.js';
import { createTestSchema, type TestSchema } from '../../../packages/server/src/test-support/postgres.js';
import { alertEnv, startFakeTelegram } from '../alerts-support/harness.js';
import { firstProject, query, startServe, type ServeProcess } from './processes.js';

export async function post(server: ServeProcess, project: { id: number; publicKey: string }, event: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${server.url}/api/${project.id}/store/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${project.publicKey}` },
    body: JSON.stringify({ event_id: randomUUID().replace(/-/g, ''), timestamp: Date.now() / 1000, ...event }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** sendMessage calls Telegram accepted, per issue name (a grouped message names several). */
export function sendsPerName(tg: FakeTelegram, token: string, names: string[]): Map<string, number> {
  const texts = tg.calls({ token, method: 'sendMessage', ok: true }).map((c) => String(c.params['text'] ?? ''));
  return new Map(names.map((name) => [name, texts.filter((t) => t.includes(`${name}:`)).length]));
}

export async function outboxSettled(schema: TestSchema, issues: number): Promise<boolean> {
  const [row] = await query<{ sent: string; open: string }>(
    schema,
    `SELECT (SELECT COUNT(*) FROM alert_outbox WHERE status = 'sent' AND issue_id IS NOT NULL) AS sent,
            (SELECT COUNT(*) FROM alert_outbox WHERE status = 'pending') AS open`,
  );
  return Number(row!.sent) >= issues && Number(row!.open) === 0;
}

/** Two `botpulse serve` processes on a fresh schema, alerting into a fake Telegram. */
export interface AlertProcesses {
  schema: TestSchema;
  tg: FakeTelegram;
  token: string;
  processes: ServeProcess[];
  project: { id: number; publicKey: string };
  close(): Promise<void>;
}

export async function startAlertProcesses(schemaName: string): Promise<AlertProcesses> {
  const schema = await createTestSchema(schemaName);
  const { tg, token } = await startFakeTelegram();
  const env = alertEnv(tg, token, { BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0.3' }) as Record<string, string>;
  const processes = [await startServe(schema, env), await startServe(schema, env)];
  const project = await firstProject(schema);
  const close = async () => {
    for (const p of processes) await p.stop();
    await tg.stop();
    await schema.drop();
  };
  return { schema, tg, token, processes, project, close };
}
