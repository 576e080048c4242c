// One measurement in a fresh process: a grammY bot (bare or with @botpulse/sdk) handles
// `updates` updates through bot.handleUpdate, `concurrency` at a time. A fresh process per
// measurement matters: AsyncLocalStorage (which the SDK uses for per-update scopes) installs
// promise hooks for the whole process, so a bare bot sharing a process with the SDK would pay
// part of the SDK's cost and flatter it.
// variant "sentry": the same bot with the real @sentry/node instead (see instrumentWithSentry).
// Prints one JSON line: updates/s, CPU µs per update, RSS, SDK counters.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BotpulseClient, instrumentGrammy } from '../../../packages/sdk/dist/index.js';

const config = JSON.parse(process.argv[2]);
const { variant, api, apiRoot, token, dsn, throws, updates, warmup, concurrency, stormRate, stormSeconds, errorStorm } = config;
// Sentry.init must run before grammY (and its HTTP client) is loaded, as Sentry's docs require,
// or its HTTP integration would not see the Bot API calls.
const sentry = variant === 'sentry' ? await initSentry(config) : undefined;
const { Bot } = await import('grammy');
const BOT_INFO = { id: Number(token.split(':')[0]), is_bot: true, first_name: 'Bench', username: 'bench_bot', can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false };

const bot = new Bot(token, { botInfo: BOT_INFO, client: apiRoot ? { apiRoot } : {} });
if (api === 'stub') bot.api.config.use(async (_prev, _method, payload) => ({ ok: true, result: { message_id: 1, date: 0, chat: { id: payload.chat_id, type: 'private' }, text: payload.text } }));
let client;
// A disk queue of this process only (as at a bot's first start): otherwise every measurement
// against the same sink would send what earlier ones spilled, and pay for it.
const diskQueueDir = variant === 'sdk' ? mkdtempSync(join(tmpdir(), 'botpulse-bench-')) : undefined;
process.on('exit', () => diskQueueDir && rmSync(diskQueueDir, { recursive: true, force: true }));
if (variant === 'sdk') {
  client = new BotpulseClient({ dsn, environment: 'production', release: 'bench', env: {}, diskQueue: { dir: diskQueueDir }, ...(errorStorm === false ? { errorStorm: false } : {}), ...(config.tracesSampleRate !== undefined ? { tracesSampleRate: config.tracesSampleRate } : {}) });
  instrumentGrammy(bot, { client });
}
if (sentry) instrumentWithSentry(bot, sentry);
if (variant === 'als') {
  const { AsyncLocalStorage } = await import('node:async_hooks');
  const als = new AsyncLocalStorage();
  bot.use((ctx, next) => als.run({}, next));
}
bot.on('message:text', async (ctx) => {
  await ctx.reply('ok');
  if (throws) throw new Error(`handler failed for chat ${ctx.chat.id}`);
});

let nextId = 1;
function update(i) {
  const chat = { id: 1000 + (i % 50), type: 'private', first_name: 'U' };
  return { update_id: nextId++, message: { message_id: i, date: 0, chat, from: { id: chat.id, is_bot: false, first_name: 'U', username: `u${chat.id}`, language_code: 'en' }, text: `hello ${i}` } };
}

async function handle(i) {
  try {
    await bot.handleUpdate(update(i));
  } catch {
    // rethrown by grammY (and the SDK middleware); a real bot's bot.catch would take it
  }
}

async function feed(count) {
  let i = 0;
  const lane = async () => {
    while (i < count) {
      await handle(i++);
      // With the stub API nothing ever waits for I/O; a real bot does between updates. Yield
      // now and then so timers and sockets (the SDK's transport among them) get their turn.
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

if (stormRate) {
  // Error storm: stormRate updates per second (all throwing) for stormSeconds.
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const perTick = stormRate / 100;
  const started = performance.now();
  let handled = 0;
  for (let tick = 0; tick < stormSeconds * 100; tick++) {
    await feed(perTick);
    handled += perTick;
    const wait = started + (tick + 1) * 10 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const counters = client.counters();
  const stats = client.transport.stats();
  await client.close(500);
  process.stdout.write(`${JSON.stringify({ handled, seconds, rssBefore: before, rssPeak: peak, counters, queue: { items: stats.queuedItems, bytes: stats.queuedBytes } })}\n`);
  process.exit(0);
}

await feed(warmup);
await client?.flush(5000);
await sentry?.Sentry.flush(5000);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await feed(updates);
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const counters = client?.counters();
const rss = process.memoryUsage().rss;
await client?.close(5000);
await sentry?.Sentry.close(5000);
process.stdout.write(`${JSON.stringify({ rate: updates / elapsed, cpuUsPerUpdate: (cpu.user + cpu.system) / updates, rss, counters, sentry: sentry && { events: sentry.events, dropped: sentry.dropped } })}\n`);
process.exit(0);

/**
 * @sentry/node with its default integrations (no tracing unless config.sentryTracesSampleRate is
 * set). `events` counts the error events that reached beforeSend (after Sentry's own filters),
 * `dropped` the error events Sentry dropped, by its reason.
 */
async function initSentry({ sentryPackage, sentryTracesSampleRate }) {
  const Sentry = await import(sentryPackage);
  const state = { Sentry, traced: sentryTracesSampleRate !== undefined, events: 0, dropped: {} };
  Sentry.init({
    dsn,
    environment: 'production',
    release: 'bench',
    ...(state.traced ? { tracesSampleRate: sentryTracesSampleRate } : {}),
    beforeSend: (event) => ((state.events += 1), event),
  });
  // Sentry drops error events it has no room for (queue_overflow) before beforeSend; it records
  // each one for its client reports, so count them there.
  const client = Sentry.getClient();
  const record = client.recordDroppedEvent.bind(client);
  client.recordDroppedEvent = (reason, category, count = 1) => {
    if (category === 'error') state.dropped[reason] = (state.dropped[reason] ?? 0) + count;
    return record(reason, category, count);
  };
  return state;
}

/**
 * What a grammY bot does with @sentry/node (it has no grammY integration): one isolation scope per
 * update carrying the Telegram context and user, the error captured and rethrown, and with
 * tracing one transaction per update. The same work instrumentGrammy does for Botpulse.
 */
function instrumentWithSentry(bot, { Sentry, traced }) {
  bot.use((ctx, next) =>
    Sentry.withIsolationScope((scope) => {
      scope.setContext('telegram', { update_id: ctx.update.update_id, chat_id: ctx.chat?.id, chat_type: ctx.chat?.type });
      if (ctx.from) scope.setUser({ id: String(ctx.from.id), username: ctx.from.username });
      const handle = async () => {
        try {
          await next();
        } catch (err) {
          Sentry.captureException(err);
          throw err;
        }
      };
      return traced ? Sentry.startSpan({ name: 'message', op: 'telegram.update', forceTransaction: true }, handle) : handle();
    }),
  );
}
