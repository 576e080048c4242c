// Type tests of the public API, compiled by `tsc -p packages/sdk/type-tests` (src/types.test.ts
// runs it). Every `@ts-expect-error` line must fail to compile, or tsc reports it as unused.
import http from 'node:http';
import express from 'express';
import { Bot, webhookCallback, type Context } from 'grammy';
import { run } from '@grammyjs/runner';
import { Telegraf } from 'telegraf';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import {
  addBreadcrumb, BotpulseClient, captureException, captureMessage, createLogger, guardWebhook, init, instrumentGrammy,
  instrumentTelegraf, botpulseMiddleware, botpulseTransformer, pollingLock, registerMetrics, resolveBotToken, setContext,
  setTag, setUser, startPollingWithLock, trace, withScope, flush, close, expressErrorHandler, type CheckIn, type NoiseKind,
  type SentryBreadcrumb, type SentryEvent, type SentryException, type SentryStackFrame,
} from '../src/index.js';

// init: from options or the environment; every option is optional.
const client: BotpulseClient = init();
init({ dsn: 'http://key@127.0.0.1:8000/1', environment: 'production', release: 'bot@1.2.3', tracesSampleRate: 0.1, flushOnExit: true });
init({ noise: { kinds: ['bot_blocked', 'rate_limited'], patterns: ['Insufficient balance', /model .* not found/i], isNoise: (_e, kind) => kind === 'network' } });
init({ beforeSend: (event) => (event.level === 'debug' ? null : event) });
init({ beforeSend: async (event) => event });
// The event's exception and breadcrumbs index without a cast (the union with a bare list that
// the server accepts gave TS7053 here: an array's `values` is its iterator method).
init({
  beforeSend: (event: SentryEvent) => {
    const thrown: SentryException | undefined = event.exception?.values?.[0];
    const type: string | undefined = event.exception?.values?.at(-1)?.type;
    const frames: SentryStackFrame[] | undefined = thrown?.stacktrace?.frames;
    const crumb: SentryBreadcrumb | undefined = event.breadcrumbs?.values?.[0];
    return type === 'RangeError' || frames?.length === 0 || crumb?.category === 'noise' ? null : event;
  },
});
// @ts-expect-error the DSN is a string
init({ dsn: 42 });
// @ts-expect-error not a noise kind
init({ noise: { kinds: ['bot_blocked', 'not_a_kind'] } });
// @ts-expect-error beforeSend must return an event or null
init({ beforeSend: () => 'drop' });
// Crashes, the disk queue and client reports (docs/sdk.md).
init({ captureUncaught: false, shutdownTimeoutMs: 3000, unhandledRejections: 'warn', diskQueue: { dir: '/var/lib/bot/queue', maxBytes: 1 << 20, maxFiles: 100 }, sendClientReports: false });
init({ diskQueue: false });
// @ts-expect-error not an --unhandled-rejections mode
init({ unhandledRejections: 'ignore' });

// Capture functions.
const id: string | undefined = captureException(new Error('x'), { tags: { operation: 'payment' }, level: 'fatal' });
// @ts-expect-error the id is undefined when the error was filtered as noise
const sure: string = captureException(new Error('x'));
captureMessage('slow provider', 'warning');
// @ts-expect-error not a Sentry level
captureMessage('x', 'loud');
addBreadcrumb({ category: 'payment', message: 'invoice sent', data: { amount: 10 } });
setContext('incident', { id: '0042' });
setTag('incident_id', '0042');
setUser({ id: 5, username: 'alice' });
withScope((scope) => scope.setTag('job', 'cleanup'));

// trace keeps the callback's return type, sync or async.
const n: number = trace('db.query', () => 1);
const p: Promise<string> = trace('http.client', async () => 'ok', { name: 'GET /health' });
// @ts-expect-error an async callback gives a Promise
const wrong: number = trace('op', async () => 1);

// grammY: the real Bot and Context types fit.
const bot = new Bot<Context>('token');
const pulse = instrumentGrammy(bot, { heartbeat: { monitorSlug: 'support-bot', intervalMs: 20_000 }, role: (ctx: Context) => (ctx.from?.id === 1 ? 'admin' : undefined) });
pulse.heartbeat?.stop();
bot.use(botpulseMiddleware({ client }));
bot.api.config.use(botpulseTransformer({ client, polling: pulse.polling }));
http.createServer(guardWebhook(webhookCallback(bot, 'http'), { timeoutMs: 5000 }));
// Express 4, as docs/sdk.md shows it (grammY's express adapter declares only the fields it uses).
express().use(express.json()).post('/telegram', guardWebhook(webhookCallback(bot, 'express')));
express().post('/telegram', guardWebhook(webhookCallback(bot, 'express'))).use(expressErrorHandler());
run(bot);
// @ts-expect-error instrumentGrammy needs a bot
instrumentGrammy({});

// Telegraf: the real Telegraf type fits; grammY is not needed for it at run time.
const telegraf = new Telegraf('token');
instrumentTelegraf(telegraf, { swallowNoise: true, heartbeat: true });
// Seed 001's 5 minutes of silence, shortened from the plugin options.
instrumentTelegraf(new Telegraf('1:x'), { heartbeat: { monitorSlug: 'support-bot', downAfterMinutes: 2 } });
// @ts-expect-error downAfterMinutes is a number of minutes
instrumentGrammy(new Bot('1:x'), { heartbeat: { monitorSlug: 'support-bot', downAfterMinutes: '5m' } });
const polling: NoiseKind = 'polling_conflict';

// Polling lock with a real ioredis client.
const redis = new Redis();
pollingLock({ redis, ttl: 60_000, pollTimeoutSec: 30 });
void startPollingWithLock(bot, { redis, ttl: 60_000, onHeld: 'wait' });
// @ts-expect-error onHeld is wait | exit | throw
void startPollingWithLock(bot, { redis, onHeld: 'steal' });

// Metrics on a real prom-client registry; logger with pino's call shapes.
registerMetrics({ registry: new Registry(), prefix: 'staffprobot' });
const log = createLogger({ name: 'bot', ship: { level: 'warn' } });
log.info({ operation: 'payment', duration_ms: 45 }, 'charged');
log.child({ module: 'billing' }).error(new Error('declined'));
log.warn('plain %s', 'message');
// @ts-expect-error a number is neither a message nor fields
log.info(42);

const kind: NoiseKind = 'chat_not_found';
void polling;
const checkIn: Pick<CheckIn, 'status'> = { status: 'ok' };
const paused: Pick<CheckIn, 'status'> = { status: 'paused' };
// @ts-expect-error check-in statuses are ok | in_progress | error | paused
const badCheckIn: Pick<CheckIn, 'status'> = { status: 'fine' };
const token: string = resolveBotToken({ TELEGRAM_BOT_TOKEN_DEV: '1:x' });
void flush(2000).then((ok: boolean) => close(ok ? 1000 : 0));

export { id, sure, n, p, wrong, kind, checkIn, paused, badCheckIn, token };
