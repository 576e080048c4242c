// Realistic Sentry events as @sentry/node 10 sends them from a Telegram bot (grammY-style), wrapped
// in envelopes. Deterministic for a given seed. Everything here runs BEFORE a measurement starts.
//
// ~200 call sites: each has its own fixed chain of in-app frames (module/function/context line),
// so Botpulse's grouping v1 puts each call site into its own issue. Per event, everything else
// varies: ids (update/chat/user/message), numbers in the exception value, breadcrumbs, timestamps.

import { randomUUID } from 'node:crypto';

export const SIZE_CLASSES = {
  '5k': { label: '5KB', targetBytes: 5 * 1024, libFrames: [7, 9], contextLines: [1, 1], libContext: false, maxBreadcrumbs: 40, modules: false, update: false },
  '50k': { label: '50KB', targetBytes: 50 * 1024, libFrames: [14, 22], contextLines: [7, 3], libContext: true, maxBreadcrumbs: 100, modules: true, update: true },
};

// ---- deterministic randomness -----------------------------------------------------------------

export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    hex: (n) => {
      let s = '';
      while (s.length < n) s += Math.floor(next() * 0x100000000).toString(16).padStart(8, '0');
      return s.slice(0, n);
    },
    chance: (p) => next() < p,
  };
}

// ---- the bot's code base (in-app) -------------------------------------------------------------

const APP_ROOT = '/srv/shopbot/dist';

/** 25 files × 8 entry points = 200 call sites. */
const APP_FILES = [
  ['handlers/start', ['Start', 'Referral', 'DeepLink', 'Welcome', 'Language', 'Consent', 'Tutorial', 'Restart']],
  ['handlers/help', ['Help', 'Faq', 'Contact', 'Commands', 'Privacy', 'Terms', 'Feedback', 'About']],
  ['handlers/settings', ['Settings', 'Timezone', 'Notifications', 'Currency', 'Theme', 'Digest', 'Locale', 'Mute']],
  ['handlers/payments', ['Invoice', 'PreCheckout', 'SuccessfulPayment', 'Refund', 'Receipt', 'Coupon', 'StarsPayment', 'Payout']],
  ['handlers/subscriptions', ['Subscribe', 'Unsubscribe', 'Renewal', 'Trial', 'PlanChange', 'GracePeriod', 'Upgrade', 'Downgrade']],
  ['handlers/inline', ['InlineQuery', 'ChosenResult', 'InlineSearch', 'InlineShare', 'InlinePreview', 'InlineCache', 'InlinePage', 'InlineSticker']],
  ['handlers/callback', ['CallbackQuery', 'Pagination', 'Confirm', 'Cancel', 'Vote', 'Rate', 'MenuBack', 'ToggleOption']],
  ['handlers/admin', ['Broadcast', 'Ban', 'Unban', 'Stats', 'Export', 'Maintenance', 'Promote', 'AuditLog']],
  ['handlers/media', ['Photo', 'Video', 'Voice', 'Document', 'Sticker', 'Animation', 'VideoNote', 'Album']],
  ['handlers/group', ['NewMember', 'LeftMember', 'GroupMigrate', 'PinnedMessage', 'Captcha', 'AntiSpam', 'TopicCreated', 'ChatJoinRequest']],
  ['handlers/orders', ['Cart', 'AddToCart', 'Checkout', 'OrderStatus', 'CancelOrder', 'Shipping', 'Address', 'Reorder']],
  ['handlers/catalog', ['Catalog', 'Category', 'Product', 'Search', 'Filters', 'Favorites', 'Reviews', 'Recommendations']],
  ['services/db', ['UserRow', 'OrderRow', 'Migration', 'Transaction', 'Pool', 'Upsert', 'Counter', 'Snapshot']],
  ['services/users', ['Profile', 'Balance', 'Referrals', 'Blocked', 'LastSeen', 'Roles', 'Phone', 'Merge']],
  ['services/billing', ['Charge', 'Capture', 'Webhook', 'Ledger', 'Tax', 'Invoices', 'Dispute', 'Reconcile']],
  ['services/cache', ['CacheEntry', 'SessionKey', 'RateBucket', 'Lock', 'Warmup', 'Eviction', 'Pubsub', 'Stream']],
  ['services/i18n', ['Translation', 'Plural', 'Fallback', 'Bundle', 'DateFormat', 'NumberFormat', 'Glossary', 'Detect']],
  ['services/scheduler', ['Reminder', 'Job', 'Cron', 'Retry', 'Queue', 'Lease', 'Backoff', 'Heartbeat']],
  ['services/llm', ['Completion', 'Embedding', 'Moderation', 'Summary', 'ToolCall', 'Transcription', 'Prompt', 'Tokens']],
  ['services/storage', ['Upload', 'Download', 'Thumbnail', 'SignedUrl', 'Multipart', 'Cleanup', 'Quota', 'Checksum']],
  ['middleware/auth', ['Session', 'AdminGuard', 'Whitelist', 'Token', 'InitData', 'Captcha', 'Ban', 'Owner']],
  ['middleware/rate-limit', ['Throttle', 'FloodWait', 'Bucket', 'Penalty', 'Burst', 'Window', 'Quota', 'Cooldown']],
  ['utils/format', ['Markdown', 'Html', 'Price', 'Duration', 'Username', 'Escape', 'Truncate', 'Table']],
  ['scenes/onboarding', ['StepName', 'StepPhone', 'StepCity', 'StepAge', 'StepGoal', 'StepPlan', 'StepConfirm', 'StepDone']],
  ['scenes/checkout', ['StepCart', 'StepDelivery', 'StepPayment', 'StepPromo', 'StepReview', 'StepPaid', 'StepFailed', 'StepTimeout']],
];

const VERBS = ['handle', 'load', 'save', 'render', 'validate', 'apply', 'resolve', 'process'];
const PROPS = ['id', 'from', 'chat', 'message_id', 'text', 'data', 'price', 'currency', 'items', 'length', 'user', 'lang', 'plan', 'status', 'file_id', 'username'];
const LOCALS = ['user', 'order', 'session', 'invoice', 'item', 'plan', 'payload', 'result', 'row', 'state', 'reply', 'media'];
const CALLS = [
  (l, p) => `const ${l} = await ctx.api.sendMessage(ctx.chat.id, t('${p}.text'), { parse_mode: 'HTML' });`,
  (l, p) => `const ${l} = await db.${p}.findUnique({ where: { id: ctx.from.id } });`,
  (l, p) => `const total = ${l}.items.reduce((sum, it) => sum + it.${p} * it.qty, 0);`,
  (l, p) => `await ctx.editMessageText(render${cap(l)}(${l}.${p}), { reply_markup: keyboard });`,
  (l, p) => `if (!${l}.${p}.startsWith(prefix)) throw new ValidationError(\`bad ${p}: \${${l}.${p}}\`);`,
  (l, p) => `const ${l} = JSON.parse(await redis.get(\`${p}:\${ctx.from.id}\`));`,
  (l, p) => `await billing.charge(${l}.customerId, ${l}.${p}, { idempotencyKey: ${l}.id });`,
  (l, p) => `return ctx.answerCallbackQuery({ text: i18n.t(ctx.lang, '${p}.done'), show_alert: false });`,
  (l, p) => `const ${l} = await openai.chat.completions.create({ model, messages: history.slice(-${p.length}) });`,
  (l, p) => `await ctx.replyWithPhoto(${l}.${p}, { caption: formatCaption(${l}), reply_markup: kb });`,
  (l, p) => `const [${l}] = await sql\`select * from ${p}s where chat_id = \${ctx.chat.id} limit 1\`;`,
  (l, p) => `scheduler.enqueue('${p}', { chatId: ctx.chat.id, at: Date.now() + ${l}.delayMs });`,
];
const FILLER = [
  (l) => `  const ${l} = ctx.session.${l} ?? {};`,
  () => `  if (!ctx.from) return next();`,
  () => `  const t = i18n.fixed(ctx.lang);`,
  (l) => `  log.debug({ chatId: ctx.chat?.id, ${l} }, 'step');`,
  () => `  const keyboard = new InlineKeyboard().text('OK', 'ok');`,
  () => `  try {`,
  () => `  } catch (err) {`,
  () => `    await metrics.increment('errors');`,
  () => `    throw err;`,
  () => `  }`,
  (l) => `  ctx.session.${l} = undefined;`,
  () => `  await next();`,
  () => `}`,
  () => ``,
  (l) => `export async function ${l}Step(ctx, next) {`,
  () => `  const started = performance.now();`,
];

function cap(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Exceptions a Telegram bot actually raises; `value(r)` varies per event. */
const ERROR_KINDS = [
  { type: 'TypeError', value: (r, cs) => `Cannot read properties of undefined (reading '${cs.prop}')`, lib: 'grammy' },
  { type: 'TypeError', value: (r, cs) => `${cs.local}.${cs.prop}.map is not a function`, lib: 'grammy' },
  {
    type: 'GrammyError',
    // One Bot API failure per call site (grouping v1 keeps the parameterised description of Bot API
    // errors, so two descriptions at one call site are two issues); numbers vary per event.
    value: (r, cs) => [
      () => `Call to 'sendMessage' failed! (403: Forbidden: bot was blocked by the user)`,
      () => `Call to 'editMessageText' failed! (400: Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message)`,
      () => `Call to 'sendMessage' failed! (429: Too Many Requests: retry after ${r.int(1, 60)})`,
      () => `Call to 'answerCallbackQuery' failed! (400: Bad Request: query is too old and response timeout expired or query ID is invalid)`,
      () => `Call to 'sendPhoto' failed! (400: Bad Request: wrong file identifier/HTTP URL specified)`,
    ][cs.id % 5](),
    lib: 'grammy-api',
  },
  { type: 'HttpError', value: () => `Network request for 'getUpdates' failed!`, lib: 'grammy-api' },
  { type: 'SqliteError', value: (r) => r.pick(['database is locked', 'UNIQUE constraint failed: orders.idempotency_key', 'FOREIGN KEY constraint failed']), lib: 'sqlite' },
  { type: 'PostgresError', value: (r) => `duplicate key value violates unique constraint "users_pkey" (id=${r.int(10000000, 7999999999)})`, lib: 'pg' },
  { type: 'Error', value: (r) => `User ${r.int(10000000, 7999999999)} has no active subscription (plan=${r.pick(['basic', 'pro', 'team'])})`, lib: 'grammy' },
  { type: 'RangeError', value: () => 'Invalid time value', lib: 'grammy' },
  { type: 'ValidationError', value: (r, cs) => `Invalid ${cs.prop}: expected a positive integer, got ${-r.int(1, 99999)}`, lib: 'grammy' },
  { type: 'AbortError', value: () => 'This operation was aborted', lib: 'undici' },
  { type: 'Error', value: (r) => `connect ETIMEDOUT 149.154.167.${r.int(200, 230)}:443`, lib: 'undici' },
  { type: 'APIError', value: (r) => `429 Rate limit reached for gpt-4o-mini in organization org-${r.hex(24)} on tokens per min (TPM): Limit 200000, Used ${r.int(190000, 199999)}, Requested ${r.int(500, 4000)}.`, lib: 'undici' },
  { type: 'ReplyError', value: (r) => `WRONGTYPE Operation against a key holding the wrong kind of value`, lib: 'ioredis' },
  { type: 'SyntaxError', value: (r) => `Unexpected token '${r.pick(['<', 'u', 'N'])}', "${r.pick(['<!DOCTYPE', 'undefined', 'NaN'])}"... is not valid JSON`, lib: 'grammy' },
];

// ---- library / runtime frames (in_app: false) -------------------------------------------------

const NM = '/srv/shopbot/node_modules';
const LIB_STACKS = {
  grammy: [
    [`${NM}/grammy/out/composer.js`, 'grammy.out:composer', 'Composer.handler', 'return mw(ctx, next);'],
    [`${NM}/grammy/out/composer.js`, 'grammy.out:composer', 'run', 'await middleware(ctx, async () => {'],
    [`${NM}/grammy/out/composer.js`, 'grammy.out:composer', 'Composer.filter', 'return predicate(ctx) ? middleware(ctx, next) : next();'],
    [`${NM}/@grammyjs/conversations/out/conversation.js`, '@grammyjs.conversations.out:conversation', 'ConversationHandle.wait', 'const ctx = await this.waitUntil(pred);'],
    [`${NM}/grammy/out/bot.js`, 'grammy.out:bot', 'Bot.handleUpdate', 'await this.middleware()(ctx, () => Promise.resolve());'],
    [`${NM}/@grammyjs/runner/out/runner.js`, '@grammyjs.runner.out:runner', 'Object.sink', 'await bot.handleUpdate(update);'],
    [`${NM}/@grammyjs/runner/out/sink.js`, '@grammyjs.runner.out:sink', 'Object.handle', 'void consume(update).finally(() => this.done(update));'],
  ],
  'grammy-api': [
    [`${NM}/grammy/out/core/client.js`, 'grammy.out.core:client', 'ApiClient.call', 'throw toGrammyError(data, method, payload);'],
    [`${NM}/grammy/out/core/client.js`, 'grammy.out.core:client', 'ApiClient.callApi', 'const data = await this.call(method, payload, signal);'],
    [`${NM}/grammy/out/core/api.js`, 'grammy.out.core:api', 'Api.sendMessage', 'return this.raw.sendMessage({ chat_id, text, ...other }, signal);'],
    [`${NM}/grammy/out/context.js`, 'grammy.out:context', 'Context.reply', 'return this.api.sendMessage(orThrow(this.chatId, "sendMessage"), text, other, signal);'],
    [`${NM}/grammy/out/composer.js`, 'grammy.out:composer', 'Composer.handler', 'return mw(ctx, next);'],
    [`${NM}/grammy/out/bot.js`, 'grammy.out:bot', 'Bot.handleUpdate', 'await this.middleware()(ctx, () => Promise.resolve());'],
  ],
  sqlite: [
    [`${NM}/better-sqlite3/lib/methods/wrappers.js`, 'better-sqlite3.lib.methods:wrappers', 'Statement.run', 'return this.run(...params);'],
    [`${NM}/drizzle-orm/better-sqlite3/session.js`, 'drizzle-orm.better-sqlite3:session', 'PreparedQuery.run', 'return stmt.run(...params);'],
    [`${NM}/drizzle-orm/sqlite-core/query-builders/insert.js`, 'drizzle-orm.sqlite-core.query-builders:insert', 'SQLiteInsertBase.run', 'return this._prepare().run(placeholderValues);'],
  ],
  pg: [
    [`${NM}/pg/lib/client.js`, 'pg.lib:client', 'Client._handleErrorMessage', 'this.activeQuery.handleError(msg, this.connection);'],
    [`${NM}/pg-protocol/dist/parser.js`, 'pg-protocol.dist:parser', 'Parser.handlePacket', 'callback(message);'],
    [`${NM}/pg-pool/index.js`, 'pg-pool:index', 'Pool.query', 'client.query(text, values, (err, res) => {'],
  ],
  undici: [
    [`node:internal/deps/undici/undici`, 'undici', 'fetch', null],
    [`node:internal/deps/undici/undici`, 'undici', 'Object.onError', null],
    [`${NM}/openai/core.js`, 'openai:core', 'OpenAI.makeRequest', 'const response = await this.fetchWithTimeout(url, req, timeout, controller);'],
    [`${NM}/openai/core.js`, 'openai:core', 'APIPromise.parseResponse', 'return this.responsePromise.then(parse);'],
  ],
  ioredis: [
    [`${NM}/ioredis/built/Redis.js`, 'ioredis.built:Redis', 'Redis.sendCommand', 'this.stream.write(command.toWritable(this.stream));'],
    [`${NM}/ioredis/built/DataHandler.js`, 'ioredis.built:DataHandler', 'DataHandler.returnError', 'this.redis.handleReconnection(err, item);'],
    [`${NM}/redis-parser/lib/parser.js`, 'redis-parser.lib:parser', 'JavascriptRedisParser.execute', 'this.returnError(err);'],
  ],
};
const NODE_FRAMES = [
  ['node:internal/process/task_queues', 'task_queues', 'process.processTicksAndRejections', 105, 5],
  ['node:internal/process/task_queues', 'task_queues', 'runMicrotasks', 96, 7],
  ['node:internal/timers', 'timers', 'listOnTimeout', 581, 17],
  ['node:internal/timers', 'timers', 'process.processTimers', 519, 7],
  ['node:events', 'events', 'EventEmitter.emit', 519, 28],
  ['node:net', 'net', 'Socket._onTimeout', 609, 8],
];
const LIB_CONTEXT = [
  'const ctx = new Context(update, this.api, this.me);',
  'if (this.errorHandler === undefined) throw err;',
  'return await this.handler(ctx, next);',
  'const result = await fn(...args);',
  'this.emit("error", err);',
  '}',
  'function noop() {}',
  'exports.default = Composer;',
  'return Promise.resolve(value).then(resolve, reject);',
  'const timeout = setTimeout(() => controller.abort(), ms);',
  '"use strict";',
];

// ---- call sites --------------------------------------------------------------------------------

/** 200 call sites, each with a fixed in-app frame chain (what grouping sees) and fixed line numbers. */
export function buildCallSites(count = 200) {
  const r = rng(0xb07);
  const sites = [];
  for (let i = 0; i < count; i++) {
    const [file, nouns] = APP_FILES[i % APP_FILES.length];
    const k = Math.floor(i / APP_FILES.length) % nouns.length;
    const noun = nouns[k];
    const verb = VERBS[(i * 7 + k) % VERBS.length];
    const kind = ERROR_KINDS[(i * 5 + k) % ERROR_KINDS.length];
    const prop = PROPS[(i * 3 + k) % PROPS.length];
    const local = LOCALS[(i + k) % LOCALS.length];
    const top = makeAppFrame(r, file, `${verb}${noun}`, CALLS[(i + k * 3) % CALLS.length](local, prop), local);
    // Callers: a few frames from other files (middleware, the router), fixed per site.
    const depth = r.int(1, 4);
    const callers = [];
    for (let d = 0; d < depth; d++) {
      const [cf, cn] = APP_FILES[(i * 11 + d * 7 + 3) % APP_FILES.length];
      const cnoun = cn[(k + d + 1) % cn.length];
      callers.push(makeAppFrame(r, cf, `${VERBS[(d + k) % VERBS.length]}${cnoun}`, CALLS[(i + d + 5) % CALLS.length](LOCALS[(d + i) % LOCALS.length], PROPS[(d + k) % PROPS.length]), LOCALS[d % LOCALS.length]));
    }
    const router = makeAppFrame(r, 'bot', 'Object.<anonymous>', `bot.on('${r.pick(['message', 'callback_query', 'inline_query', 'pre_checkout_query', 'my_chat_member'])}', ${verb}${noun});`, 'ctx');
    sites.push({
      id: i,
      handler: `${file.split('/').pop()}.${verb}${noun}`,
      kind,
      prop,
      local,
      updateType: r.pick(['message', 'callback_query', 'inline_query', 'pre_checkout_query', 'edited_message', 'my_chat_member']),
      appFrames: [router, ...callers.reverse(), top], // oldest first, as Sentry orders frames
      lib: kind.lib,
    });
  }
  return sites;
}

function makeAppFrame(r, file, fn, contextLine, local) {
  const lineno = r.int(12, 480);
  const pre = [];
  for (let j = 0; j < 7; j++) pre.push(r.pick(FILLER)(local));
  const post = [];
  for (let j = 0; j < 3; j++) post.push(r.pick(FILLER)(local));
  return {
    filename: `${APP_ROOT}/${file}.js`,
    module: file.replace(/\//g, ':'),
    function: fn,
    lineno,
    colno: r.int(5, 60),
    context_line: '  ' + contextLine,
    pre_context: pre,
    post_context: post,
    in_app: true,
  };
}

// ---- events ------------------------------------------------------------------------------------

const SDK = {
  integrations: ['InboundFilters', 'FunctionToString', 'LinkedErrors', 'RequestData', 'NodeSystemError', 'Console', 'OnUncaughtException', 'OnUnhandledRejection', 'ContextLines', 'LocalVariablesAsync', 'Context', 'ChildProcess', 'ProcessSession', 'Modules', 'Http', 'NodeFetch', 'Redis', 'Postgres'],
  name: 'sentry.javascript.node',
  version: '10.18.0',
  packages: [{ name: 'npm:@sentry/node', version: '10.18.0' }],
};
const MODULES = {
  grammy: '1.38.2', '@grammyjs/runner': '2.0.3', '@grammyjs/conversations': '2.1.0', '@grammyjs/i18n': '1.1.2', '@grammyjs/menu': '1.3.1', '@grammyjs/ratelimiter': '1.2.1', '@grammyjs/hydrate': '1.4.1', '@grammyjs/parse-mode': '1.11.1', '@grammyjs/storage-redis': '2.4.2', '@sentry/node': '10.18.0', '@sentry/core': '10.18.0', '@sentry/opentelemetry': '10.18.0', '@opentelemetry/api': '1.9.0', '@opentelemetry/core': '2.0.1', '@opentelemetry/instrumentation': '0.203.0', '@opentelemetry/instrumentation-http': '0.203.0', '@opentelemetry/sdk-trace-base': '2.0.1', 'better-sqlite3': '12.4.1', 'drizzle-orm': '0.44.5', pg: '8.16.3', 'pg-pool': '3.10.1', 'pg-protocol': '1.10.3', ioredis: '5.8.0', 'redis-parser': '3.0.0', openai: '5.23.1', undici: '7.16.0', zod: '3.25.76', pino: '9.11.0', 'pino-pretty': '13.1.1', dotenv: '17.2.2', dayjs: '1.11.18', 'date-fns': '4.1.0', lodash: '4.17.21', nanoid: '5.1.6', 'p-queue': '8.1.1', 'p-retry': '7.0.0', sharp: '0.34.4', 'fluent-ffmpeg': '2.1.3', 'node-cron': '4.2.1', stripe: '18.5.0', 'yookassa-ts': '0.0.12', 'i18next': '25.5.2', 'abort-controller': '3.0.0', debug: '4.4.3', ms: '2.1.3', 'cross-fetch': '4.1.0', 'node-fetch': '2.7.0', 'whatwg-url': '14.2.0', tr46: '5.1.1', 'webidl-conversions': '7.0.0', 'import-in-the-middle': '1.14.2', 'require-in-the-middle': '7.5.2', semver: '7.7.2', 'module-details-from-path': '1.0.4', 'cjs-module-lexer': '1.4.3', 'forwarded-parse': '2.1.2', 'shimmer': '1.2.1', 'tslib': '2.8.1', 'uuid': '13.0.0', 'ws': '8.18.3', 'safe-buffer': '5.2.1', 'iconv-lite': '0.7.0', 'mime-types': '3.0.1', 'mime-db': '1.54.0', 'form-data': '4.0.4', 'asynckit': '0.4.0', 'combined-stream': '1.0.8', 'delayed-stream': '1.0.0', 'es-set-tostringtag': '2.1.0', 'hasown': '2.0.2', 'function-bind': '1.1.2', 'get-intrinsic': '1.3.0', 'node-addon-api': '8.5.0', 'bindings': '1.5.0', 'file-uri-to-path': '2.0.0', 'prebuild-install': '7.1.3',
};
const FIRST_NAMES = ['Anna', 'Иван', 'Mehmet', 'Olga', 'José', 'Priya', 'Дарья', 'Chen', 'Fatima', 'Lukas', 'Aigerim', 'Tom'];
const TEXTS = ['/start', '/help', '/buy', '/settings', 'Привет! Где мой заказ?', 'how much is the pro plan?', '👍', 'Оплатил, но подписка не активна', 'cancel', '/start ref_', 'Show me the catalog 🛒', 'Merhaba, sipariş durumu?', 'stop', '/lang ru'];
const BOT_METHODS = ['sendMessage', 'editMessageText', 'answerCallbackQuery', 'sendPhoto', 'getChatMember', 'sendChatAction', 'deleteMessage', 'sendInvoice', 'answerPreCheckoutQuery', 'getFile'];
const SQL = ['SELECT * FROM users WHERE id = ?', 'UPDATE sessions SET data = ?, updated_at = ? WHERE key = ?', 'INSERT INTO orders (user_id, total, currency, status) VALUES (?, ?, ?, ?)', 'SELECT p.*, c.name FROM products p JOIN categories c ON c.id = p.category_id WHERE c.slug = ? LIMIT 20', 'SELECT count(*) FROM subscriptions WHERE user_id = ? AND expires_at > ?'];
// A realistic mistake: the SDK's http breadcrumbs carry the bot token in the URL (Botpulse scrubs it).
const BOT_TOKEN = '7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw8';

function breadcrumb(r, ts, ctx) {
  switch (r.int(0, 6)) {
    case 0:
    case 1: {
      const method = r.pick(BOT_METHODS);
      return { timestamp: ts, type: 'http', category: 'http', data: { 'http.method': 'POST', url: `https://api.telegram.org/bot${BOT_TOKEN}/${method}`, status_code: r.chance(0.95) ? 200 : r.pick([400, 403, 429]), 'http.response_content_length': r.int(80, 4000) } };
    }
    case 2: return { timestamp: ts, category: 'console', level: 'log', message: `[${r.pick(['session', 'router', 'billing', 'i18n'])}] ${r.pick(['loaded', 'saved', 'skipped', 'resolved'])} chat=${ctx.chatId} user=${ctx.userId} in ${r.int(1, 900)}ms`, data: { logger: 'console', arguments: [`[${r.pick(['session', 'router'])}]`, { chatId: ctx.chatId, userId: ctx.userId, ms: r.int(1, 900) }] } };
    case 3: return { timestamp: ts, category: 'telegram.update', message: `${ctx.updateType} from ${ctx.userId}`, data: { update_id: ctx.updateId - r.int(1, 400), chat_id: ctx.chatId, text: r.pick(TEXTS) } };
    case 4: return { timestamp: ts, category: 'query', type: 'query', message: r.pick(SQL), data: { 'db.system': r.pick(['sqlite', 'postgresql']), duration_ms: Math.round(r.next() * 40000) / 1000, rows: r.int(0, 50) } };
    case 5: return { timestamp: ts, category: 'redis', message: `${r.pick(['GET', 'SET', 'EXPIRE', 'INCR'])} session:${ctx.chatId}`, data: { 'db.system': 'redis', duration_ms: Math.round(r.next() * 3000) / 1000 } };
    default: return { timestamp: ts, category: 'console', level: r.pick(['warning', 'info', 'debug']), message: `${r.pick(['slow update', 'retrying', 'cache miss', 'flood wait'])} (${r.int(1, 30)}s) for ${ctx.updateType} ${ctx.updateId}`, data: { logger: 'console' } };
  }
}

function libFrames(r, site, cls) {
  const stack = LIB_STACKS[site.lib] ?? LIB_STACKS.grammy;
  const n = r.int(cls.libFrames[0], cls.libFrames[1]);
  const frames = [];
  // node internals at the bottom (oldest), then library frames interleaved with the app chain.
  frames.push(nodeFrame(NODE_FRAMES[0]));
  while (frames.length < n) {
    const [filename, module, fn, line] = stack[frames.length % stack.length];
    const frame = { filename, module, function: fn, lineno: 40 + ((frames.length * 37) % 400), colno: 9 + (frames.length % 20), in_app: false };
    if (line !== null && cls.libContext && !filename.startsWith('node:')) {
      frame.context_line = '        ' + line;
      frame.pre_context = Array.from({ length: cls.contextLines[0] }, (_, j) => '        ' + LIB_CONTEXT[(frames.length + j) % LIB_CONTEXT.length]);
      frame.post_context = Array.from({ length: cls.contextLines[1] }, (_, j) => '        ' + LIB_CONTEXT[(frames.length + j + 5) % LIB_CONTEXT.length]);
    }
    frames.push(frame);
    if (r.chance(0.15)) frames.push(nodeFrame(r.pick(NODE_FRAMES)));
  }
  return frames;
}

function nodeFrame([filename, module, fn, lineno, colno]) {
  return { filename, module, function: fn, lineno, colno, in_app: false };
}

function appFrame(f, cls) {
  return { ...f, pre_context: f.pre_context.slice(-cls.contextLines[0]), post_context: f.post_context.slice(0, cls.contextLines[1]) };
}

/** One event object for a call site. `nowSec` is the wall clock in seconds. */
export function makeEvent(r, site, cls, nowSec, eventId) {
  const updateId = r.int(100000000, 999999999);
  const userId = r.int(10000, 7999999999);
  const chatType = r.pick(['private', 'private', 'private', 'group', 'supergroup']);
  const chatId = chatType === 'private' ? userId : -(1000000000000 + r.int(0, 999999999));
  const ctx = { updateId, userId, chatId, updateType: site.updateType };
  const traceId = r.hex(32);
  const timestamp = Math.round((nowSec - r.next() * 5) * 1000) / 1000;

  // Library frames below and between the app frames; the app chain stays in order on top.
  const lib = libFrames(r, site, cls);
  const app = site.appFrames.map((f) => appFrame(f, cls));
  const split = Math.max(1, Math.floor(lib.length * 0.7));
  const frames = [...lib.slice(0, split), app[0], ...lib.slice(split), ...app.slice(1)];
  // grammy-api errors are thrown inside the API client, above the app frame that called it.
  if (site.lib === 'grammy-api') {
    for (const [filename, module, fn] of LIB_STACKS['grammy-api'].slice(0, 2).reverse()) {
      frames.push({ filename, module, function: fn, lineno: 73, colno: 23, in_app: false });
    }
  }

  const event = {
    exception: {
      values: [
        {
          type: site.kind.type,
          value: site.kind.value(r, site),
          stacktrace: { frames },
          mechanism: { type: r.chance(0.8) ? 'generic' : 'auto.node.onunhandledrejection', handled: r.chance(0.8) },
        },
      ],
    },
    event_id: eventId,
    level: 'error',
    platform: 'node',
    contexts: {
      trace: { trace_id: traceId, span_id: r.hex(16) },
      runtime: { name: 'node', version: 'v20.19.5' },
      app: { app_start_time: new Date((nowSec - r.int(60, 864000)) * 1000).toISOString(), app_memory: r.int(60, 400) * 1048576, free_memory: r.int(200, 3000) * 1048576 },
      os: { kernel_version: '6.8.0-64-generic', name: 'Ubuntu', version: '24.04', build: '' },
      device: { boot_time: '2025-10-01T09:12:44.000Z', arch: 'x64', memory_size: 4105961472, free_memory: r.int(200, 3000) * 1048576, processor_count: 2, cpu_description: 'AMD EPYC-Milan Processor', processor_frequency: 2445 },
      culture: { locale: 'en-US', timezone: 'Europe/Moscow' },
      cloud_resource: {},
      telegram: { update_id: updateId, update_type: site.updateType, chat_id: chatId, chat_type: chatType, user_id: userId, message_id: r.int(1, 900000), bot_username: 'shop_helper_bot', language_code: r.pick(['en', 'ru', 'tr', 'uk', 'es', 'kk']) },
    },
    server_name: `bot-${r.int(1, 3)}`,
    timestamp,
    environment: 'production',
    release: 'shopbot@2.14.3+9f1c2ab',
    tags: { handler: site.handler, update_type: site.updateType, chat_type: chatType, bot: 'shop_helper_bot', locale: r.pick(['en', 'ru', 'tr', 'uk']) },
    user: { id: String(userId), username: r.chance(0.7) ? `${r.pick(FIRST_NAMES).toLowerCase().replace(/[^a-z]/g, '') || 'user'}_${r.int(1, 9999)}` : undefined, first_name: r.pick(FIRST_NAMES) },
    request: {
      method: 'POST',
      url: 'https://bot.example.com/telegram/webhook',
      headers: { 'content-type': 'application/json', 'user-agent': 'TelegramBot (like TwitterBot)', 'x-forwarded-for': '91.108.6.' + r.int(1, 250), 'x-telegram-bot-api-secret-token': 'wh-sec-' + r.hex(16) },
    },
    sdk: SDK,
    breadcrumbs: [],
    extra: {
      update: {
        update_id: updateId,
        message: { message_id: ctx.updateId % 100000, from: { id: userId, is_bot: false, first_name: r.pick(FIRST_NAMES), language_code: 'ru' }, chat: { id: chatId, type: chatType }, date: Math.floor(nowSec), text: r.pick(TEXTS) },
      },
    },
  };
  if (cls.modules) event.modules = MODULES;
  if (!cls.update) delete event.extra.update;
  if (event.user.username === undefined) delete event.user.username;

  // Pad with breadcrumbs (newest last) to about the target size. Measured as JSON.
  const budget = cls.targetBytes - 260; // the envelope headers and item header
  let size = Buffer.byteLength(JSON.stringify(event));
  let ts = timestamp - cls.maxBreadcrumbs * 2;
  while (event.breadcrumbs.length < cls.maxBreadcrumbs) {
    ts += r.next() * 2;
    const b = breadcrumb(r, Math.round(ts * 1000) / 1000, ctx);
    const add = Buffer.byteLength(JSON.stringify(b)) + 1;
    if (size + add > budget) break;
    event.breadcrumbs.push(b);
    size += add;
  }
  // Still short (the SDK keeps at most 100 breadcrumbs): session state in `extra`, as bots attach.
  if (size < budget - 200) {
    const session = {};
    let i = 0;
    while (size < budget - 120) {
      const entry = { sku: `SKU-${r.int(10000, 99999)}`, title: r.pick(['Wireless earbuds', 'Чехол для телефона', 'USB-C cable 2m', 'Gift card', 'Coffee beans 1kg']), qty: r.int(1, 5), price: r.int(100, 99900), currency: r.pick(['RUB', 'USD', 'TRY', 'XTR']) };
      const line = `"cart_${i}":${JSON.stringify(entry)},`;
      session[`cart_${i++}`] = entry;
      size += Buffer.byteLength(line);
    }
    event.extra.session = session;
  }
  return event;
}

/**
 * Serialises one envelope like the SDK does (length given) and returns the buffer plus the byte
 * offsets of the two event ids, so a sender can stamp a fresh id in place before each send.
 */
export function makeEnvelope(event, nowSec) {
  const id = event.event_id;
  const payload = Buffer.from(JSON.stringify(event));
  const headers = JSON.stringify({
    event_id: id,
    sent_at: new Date(nowSec * 1000).toISOString(),
    sdk: { name: SDK.name, version: SDK.version },
    trace: { environment: event.environment, release: event.release, public_key: 'placeholder', trace_id: event.contexts.trace.trace_id, sample_rate: '1', sampled: 'false' },
  });
  const buf = Buffer.concat([Buffer.from(headers + '\n' + JSON.stringify({ type: 'event', length: payload.length }) + '\n'), payload, Buffer.from('\n')]);
  const needle = Buffer.from(id);
  const first = buf.indexOf(needle);
  const second = buf.indexOf(needle, first + 32);
  if (first < 0 || second < 0 || buf.indexOf(needle, second + 32) >= 0) throw new Error('event id offsets not unique');
  return { buf, idOffsets: [first, second] };
}

/**
 * A pool of envelopes for one size class. The first 200 cover every call site once; the rest
 * follow a Zipf-like law (a few issues are hot, most are rare), shuffled.
 */
export function buildPool({ sizeKey, count, seed = 1, sites = buildCallSites() }) {
  const cls = SIZE_CLASSES[sizeKey];
  if (!cls) throw new Error(`unknown size ${sizeKey}; expected one of ${Object.keys(SIZE_CLASSES).join(', ')}`);
  const r = rng(seed * 7919 + cls.targetBytes);
  const nowSec = Date.now() / 1000;
  const weights = sites.map((_, i) => 1 / (i + 1) ** 0.8);
  const total = weights.reduce((a, b) => a + b, 0);
  const pickSite = () => {
    let x = r.next() * total;
    for (let i = 0; i < sites.length; i++) if ((x -= weights[i]) <= 0) return sites[i];
    return sites[sites.length - 1];
  };
  const order = [];
  for (let i = 0; i < count; i++) order.push(i < sites.length ? sites[i] : pickSite());
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const frameCounts = [];
  const breadcrumbCounts = [];
  const pool = order.map((site) => {
    const event = makeEvent(r, site, cls, nowSec, randomUUID().replace(/-/g, ''));
    frameCounts.push(event.exception.values[0].stacktrace.frames.length);
    breadcrumbCounts.push(event.breadcrumbs.length);
    return makeEnvelope(event, nowSec);
  });
  const sizes = pool.map((p) => p.buf.length);
  return {
    pool,
    stats: {
      size: sizeKey,
      label: cls.label,
      count: pool.length,
      callSites: new Set(order.map((s) => s.id)).size,
      frames: [Math.min(...frameCounts), Math.max(...frameCounts)],
      breadcrumbs: [Math.min(...breadcrumbCounts), Math.max(...breadcrumbCounts)],
      meanBytes: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length),
      minBytes: Math.min(...sizes),
      maxBytes: Math.max(...sizes),
    },
  };
}
