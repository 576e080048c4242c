// Shared set-up for the alert end-to-end tests: a fake Telegram with Botpulse's alert bot and a
// supergroup for alerts, a real Botpulse server pointed at it, and helpers that post events the
// way an SDK does (through /api/<id>/store/).
import { randomUUID } from 'node:crypto';
import { FakeTelegram } from '../../../packages/fake-telegram/src/index.js';
import type { ConfigInput } from '../../../packages/server/src/config/schema.js';
import type { CreateOptions } from '../../../packages/server/src/main.js';
import { startTestServer, type TestServer } from '../../../packages/server/src/test-support/server.js';
import type { Issue } from '../../../packages/server/src/store/model.js';

export const ALERT_CHAT = -1001234567890;
export const ADMIN = { id: 7001, first_name: 'Ada', username: 'ada_oncall' };
export const STRANGER = { id: 7002, first_name: 'Mallory', username: 'mallory' };

export type Env = Partial<Record<keyof ConfigInput, string>>;

export interface AlertHarness {
  tg: FakeTelegram;
  token: string;
  server: TestServer;
  /** Posts one event (defaults: an error with a fixed fingerprint); resolves after the 200. */
  post(event?: Record<string, unknown>): Promise<void>;
  /** Posts `count` copies of an event, `concurrency` at a time. */
  postMany(count: number, event: Record<string, unknown>, concurrency?: number): Promise<void>;
  /** Bot messages in the alert chat so far. */
  messages(): ReturnType<FakeTelegram['chat']>['messages'];
  waitForMessages(count: number, timeoutMs?: number): Promise<unknown>;
  issueByFingerprint(fingerprint: string): Promise<Issue>;
  close(): Promise<void>;
}

/** The settings every alert test shares; tests override timing keys. */
export function alertEnv(tg: FakeTelegram, token: string, env: Env = {}): Env {
  return {
    BOTPULSE_TELEGRAM_TOKEN: token,
    BOTPULSE_TELEGRAM_API_ROOT: tg.apiRoot,
    BOTPULSE_TELEGRAM_ADMINS: String(ADMIN.id),
    ERROR_ALERT_CHAT_ID: String(ALERT_CHAT),
    BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0',
    BOTPULSE_ALERT_RETRY_MAX_SECONDS: '1',
    ...env,
  };
}

export async function startFakeTelegram(): Promise<{ tg: FakeTelegram; token: string }> {
  const tg = await FakeTelegram.start();
  const { token } = tg.createBot({ username: 'botpulse_alerts_bot' });
  tg.createChat({ type: 'supergroup', id: ALERT_CHAT, title: 'On-call' });
  tg.createUser(ADMIN);
  tg.createUser(STRANGER);
  return { tg, token };
}

/** `create`: options of the server itself, e.g. `{ alerting: { now } }` for an injected clock. */
export async function startAlertHarness(env: Env = {}, create: Omit<CreateOptions, 'logger'> = {}): Promise<AlertHarness> {
  const { tg, token } = await startFakeTelegram();
  const server = await startTestServer(alertEnv(tg, token, env), { create });
  return harnessFor(tg, token, server);
}

export function harnessFor(tg: FakeTelegram, token: string, server: TestServer): AlertHarness {
  const post = (event: Record<string, unknown> = {}) => postEvent(server, event);
  return {
    tg,
    token,
    server,
    post,
    async postMany(count, event, concurrency = 50) {
      let next = 0;
      const worker = async () => {
        while (next < count) {
          next++;
          await post(event);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    },
    messages: () => tg.chat(token, ALERT_CHAT).messages,
    waitForMessages: (count, timeoutMs = 30_000) => tg.waitForMessages(token, ALERT_CHAT, count, { timeoutMs }),
    async issueByFingerprint(fingerprint) {
      await server.digested();
      const { issues } = await server.botpulse.store.listIssues({ projectId: server.project.id, limit: 500 });
      const issue = issues.find((i) => i.title.includes(fingerprint));
      if (!issue) throw new Error(`no issue titled with ${fingerprint}`);
      return issue;
    },
    async close() {
      await server.close();
      await tg.stop();
    },
  };
}

/** A handler error as @sentry/node sends it; `name` goes into the title and the fingerprint. */
export function errorEvent(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    level: 'error',
    platform: 'node',
    release: 'pay-bot@1.4.2',
    environment: 'production',
    fingerprint: [name],
    user: { id: '4242' },
    contexts: { telegram: { update_id: 9001, update_type: 'message', chat_id: 4242, chat_type: 'private', user_id: 4242, username: 'alice' } },
    exception: {
      values: [
        {
          type: 'TypeError',
          value: `${name}: cannot read properties of undefined (reading 'balance')`,
          stacktrace: {
            frames: [
              { filename: 'node_modules/grammy/out/composer.js', function: 'Composer.handle', lineno: 51, in_app: false },
              { filename: '/app/src/payments.js', function: 'chargeUser', lineno: 41, in_app: true, context_line: '  if (account.wallet.balance < amount) {' },
            ],
          },
        },
      ],
    },
    ...extra,
  };
}

export async function postEvent(server: TestServer, event: Record<string, unknown>): Promise<void> {
  const body = { event_id: randomUUID().replace(/-/g, ''), timestamp: Date.now() / 1000, ...event };
  const response = await fetch(`${server.url}/api/${server.project.id}/store/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${server.project.publicKey}` },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
