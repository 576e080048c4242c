// What the multi-process alert tests on PostgreSQL share: posting an event to one process, counting
// sends per issue name, and waiting until the alert outbox has settled.
import { randomUUID } from 'node:crypto';
import type { FakeTelegram } from '../../../packages/fake-telegram/src/index.js';
import type { TestSchema } from '../../../packages/server/src/test-support/postgres.js';
import { query, type ServeProcess } from './processes.js';

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
