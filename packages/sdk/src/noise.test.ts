import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Bot, BotError, GrammyError, HttpError, type Context } from 'grammy';
import { Telegraf, TelegramError } from 'telegraf';
import { instrumentGrammy } from './grammy/index.js';
import { classifyApiFailure, classifyError, DEFAULT_NOISE_KINDS, NoiseFilter, telegramErrorInfo, type NoiseKind } from './noise.js';
import { instrumentTelegraf } from './telegraf/index.js';
import { apiError, memoryClient } from './test-support/memory.js';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';

/** A grammY error exactly as grammY builds it from a Bot API answer. */
function grammyError(method: string, code: number, description: string, parameters: Record<string, number> = {}): GrammyError {
  return new GrammyError(`Call to '${method}' failed!`, { ok: false, error_code: code, description, parameters }, method, { chat_id: 5 });
}

/** A Telegraf error exactly as Telegraf builds it from a Bot API answer. */
function telegrafError(method: string, code: number, description: string, parameters: Record<string, number> = {}): TelegramError {
  return new TelegramError({ error_code: code, description, parameters }, { method, payload: { chat_id: 5 } });
}

/** What `promise` rejects with (it must reject). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

class PaymentHttpError extends Error {
  override name = 'HttpError'; // an application's own HttpError class: a common name, not grammY's
  constructor(readonly status: number, readonly error: unknown) {
    super(`Payment provider answered ${status}`);
  }
}

describe('Telegram noise: by origin, never by words', () => {
  // A port nobody listens on (connection refused at once) and one that accepts and never answers.
  let closedPort = 0;
  let silent: Server;
  let silentPort = 0;
  const sockets = new Set<Socket>();
  before(async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as { port: number }).port;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  /** A real grammY bot, instrumented, whose Bot API is unreachable or never answers. */
  function unreachableGrammy(port: number, timeoutSeconds = 500): Bot {
    const bot = new Bot(TOKEN, { client: { apiRoot: `http://127.0.0.1:${port}`, timeoutSeconds } });
    instrumentGrammy(bot, { client: memoryClient().client });
    return bot;
  }

  /** A real Telegraf bot, instrumented (or not), whose Bot API is unreachable. */
  function unreachableTelegraf(instrumented: boolean): Telegraf {
    const bot = new Telegraf(TOKEN, { telegram: { apiRoot: `http://127.0.0.1:${closedPort}` } });
    if (instrumented) instrumentTelegraf(bot, { client: memoryClient().client });
    return bot;
  }

  // [what it is, how to make it, the built-in kind (undefined: an issue)]
  const table: [string, () => unknown | Promise<unknown>, NoiseKind | undefined][] = [
    // Bot API answers through grammY
    ['grammY 429 Too Many Requests, retry_after', () => grammyError('sendMessage', 429, 'Too Many Requests: retry after 17', { retry_after: 17 }), 'rate_limited'],
    ['grammY 403 bot was blocked by the user', () => grammyError('sendMessage', 403, 'Forbidden: bot was blocked by the user'), 'bot_blocked'],
    ['grammY 403 user is deactivated', () => grammyError('sendMessage', 403, 'Forbidden: user is deactivated'), 'user_deactivated'],
    ['grammY 403 bot was kicked from the supergroup', () => grammyError('sendMessage', 403, 'Forbidden: bot was kicked from the supergroup chat'), 'bot_blocked'],
    ['grammY 400 chat not found', () => grammyError('sendMessage', 400, 'Bad Request: chat not found'), 'chat_not_found'],
    ['grammY 400 message is not modified', () => grammyError('editMessageText', 400, 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same'), 'message_not_modified'],
    ['grammY 400 query is too old', () => grammyError('answerCallbackQuery', 400, 'Bad Request: query is too old and response timeout expired or query ID is invalid'), 'query_too_old'],
    ['grammY 502 Bad Gateway', () => grammyError('sendMessage', 502, 'Bad Gateway'), 'network'],
    ['grammY 403 inside grammY\'s BotError', () => new BotError(grammyError('sendMessage', 403, 'Forbidden: bot was blocked by the user'), {} as Context), 'bot_blocked'],
    ['grammY 409 terminated by other getUpdates (deploy overlap)', () => grammyError('getUpdates', 409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'), 'polling_conflict'],
    ['grammY 400 message to edit not found (kind off by default)', () => grammyError('editMessageText', 400, 'Bad Request: message to edit not found'), 'message_gone'],
    // Bot API answers that mean the bot itself is broken
    ['grammY 401 Unauthorized from getMe: bad token', () => grammyError('getMe', 401, 'Unauthorized'), undefined],
    ['grammY 404 Not Found from getMe: bad token', () => grammyError('getMe', 404, 'Not Found'), undefined],
    ['grammY 409 getUpdates while a webhook is set', () => grammyError('getUpdates', 409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"), undefined],
    ['grammY 400 can\'t parse entities: a bug', () => grammyError('sendMessage', 400, "Bad Request: can't parse entities: Unsupported start tag \"b\" at byte offset 0"), undefined],
    // Bot API calls without an answer, through grammY
    ['grammY HttpError: connection refused', () => rejection(unreachableGrammy(closedPort).api.sendMessage(5, 'x')), 'network'],
    ['grammY HttpError: the Bot API never answered (timeout)', () => rejection(unreachableGrammy(silentPort, 0.3).api.getMe()), 'network'],
    // Bot API answers through Telegraf
    ['Telegraf 429 retry after', () => telegrafError('sendMessage', 429, 'Too Many Requests: retry after 5', { retry_after: 5 }), 'rate_limited'],
    ['Telegraf 403 bot was blocked by the user', () => telegrafError('sendMessage', 403, 'Forbidden: bot was blocked by the user'), 'bot_blocked'],
    ['Telegraf 403 user is deactivated', () => telegrafError('sendMessage', 403, 'Forbidden: user is deactivated'), 'user_deactivated'],
    ['Telegraf 400 message is not modified', () => telegrafError('editMessageText', 400, 'Bad Request: message is not modified'), 'message_not_modified'],
    ['Telegraf 400 query is too old', () => telegrafError('answerCbQuery', 400, 'Bad Request: query is too old and response timeout expired or query ID is invalid'), 'query_too_old'],
    ['Telegraf 401 Unauthorized: bad token', () => telegrafError('getMe', 401, 'Unauthorized'), undefined],
    ['Telegraf 404 Not Found from getMe: bad token', () => telegrafError('getMe', 404, 'Not Found'), undefined],
    ['Telegraf 409 terminated by other getUpdates', () => telegrafError('getUpdates', 409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'), 'polling_conflict'],
    // A Bot API call without an answer, through Telegraf: the API hook saw it fail
    ['Telegraf network failure under the API hook (node-fetch FetchError)', () => rejection(unreachableTelegraf(true).telegram.sendMessage(5, 'x')), 'network'],
    // Application errors, whatever words they contain
    ['app: Payment provider timeout after 3000 ms', () => new Error('Payment provider timeout after 3000 ms'), undefined],
    ['app: request timed out', () => new Error('CRM request timed out'), undefined],
    ['app: network error', () => new Error('network error while loading the user profile'), undefined],
    ['app: blocked', () => new Error('User 42 is blocked by the moderators'), undefined],
    ['app: not found', () => new Error('Order 17 not found'), undefined],
    ['app: chat not found', () => new Error('chat not found in the CRM'), undefined],
    ['app: retry after', () => new Error('Rate limiter: retry after 5 s'), undefined],
    ['app: a Telegram description rethrown as plain text', () => new Error('Forbidden: bot was blocked by the user'), undefined],
    ['app: database socket reset (code ECONNRESET)', () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }), undefined],
    ['app: ETIMEDOUT from a driver', () => Object.assign(new Error('connect ETIMEDOUT 10.0.0.5:5432'), { code: 'ETIMEDOUT' }), undefined],
    ['app: socket hang up', () => new Error('socket hang up'), undefined],
    ['app: its own fetch failed (real undici TypeError "fetch failed")', () => rejection(fetch(`http://127.0.0.1:${closedPort}/pay`)), undefined],
    ['app: its own fetch timed out (real TimeoutError)', () => rejection(fetch(`http://127.0.0.1:${silentPort}/pay`, { signal: AbortSignal.timeout(200) })), undefined],
    ['app: its own class named HttpError', () => new PaymentHttpError(503, new Error('Service Unavailable')), undefined],
    ['app: inside grammY\'s BotError', () => new BotError(new Error('Payment provider timeout after 3000 ms'), {} as Context), undefined],
    ['Telegraf call WITHOUT the SDK\'s hook: origin unknown, so reported', () => rejection(unreachableTelegraf(false).telegram.sendMessage(5, 'x')), undefined],
  ];

  it(`has at least 25 rows (${table.length}), Bot API errors and application errors`, () => {
    assert.ok(table.length >= 25);
    assert.ok(table.filter(([, , kind]) => kind !== undefined).length >= 12);
    assert.ok(table.filter(([label]) => label.startsWith('app:')).length >= 10);
  });

  for (const [label, make, kind] of table) {
    const isNoise = kind !== undefined && DEFAULT_NOISE_KINDS.includes(kind);
    it(`${label} → ${isNoise ? `noise (${kind})` : 'an issue'}`, async () => {
      const error = await make();
      assert.equal(classifyError(error), kind, 'built-in kind');
      // The decision a bot gets with default options: an event, or a breadcrumb and a counter.
      const { client, transport } = memoryClient();
      const id = client.captureException(error);
      if (isNoise) {
        assert.equal(id, undefined);
        assert.equal(transport.payloads('event').length, 0);
        assert.equal(client.counters().noise[kind!], 1);
        assert.equal(client.globalScope.breadcrumbs.at(-1)?.category, 'telegram.noise');
      } else {
        assert.ok(id, 'reported');
        assert.equal(transport.payloads('event').length, 1);
        assert.deepEqual(client.counters().noise, {});
      }
    });
  }
});

describe('Telegram noise: details', () => {
  it('classifies Bot API answers by code, lowercased description and parameters', () => {
    const cases: [number, string, string | undefined][] = [
      [429, 'Too Many Requests: retry after 17', 'rate_limited'],
      [403, 'Forbidden: bot was kicked from the supergroup chat', 'bot_blocked'],
      [400, 'Bad Request: PEER_ID_INVALID', 'chat_not_found'],
      [400, 'Bad Request: message to edit not found', 'message_gone'],
      [502, 'Bad Gateway', 'network'],
      [401, 'Unauthorized', undefined],
      [404, 'Not Found', undefined],
      [409, 'Conflict: terminated by other getUpdates request', 'polling_conflict'],
      [409, "Conflict: can't use getUpdates method while webhook is active", undefined],
    ];
    for (const [code, description, kind] of cases) assert.equal(classifyApiFailure(code, description), kind, description);
  });

  it('reads method, code and retry_after from grammY, Telegraf and grammY-shaped errors', () => {
    const telegraf = new TelegramError({ error_code: 403, description: 'Forbidden: user is deactivated' }, { method: 'sendMessage', payload: {} });
    assert.deepEqual(telegramErrorInfo(telegraf), { errorCode: 403, description: 'Forbidden: user is deactivated', network: false, method: 'sendMessage' });
    const wrapped = new BotError(apiError(429, 'Too Many Requests: retry after 3', { parameters: { retry_after: 3 } }), {} as Context);
    assert.equal(telegramErrorInfo(wrapped)?.retryAfter, 3);
    const http = new HttpError("Network request for 'getUpdates' failed!", new TypeError('fetch failed'));
    assert.deepEqual(telegramErrorInfo(http), { method: 'getUpdates', description: "Network request for 'getUpdates' failed!", network: true });
    assert.equal(telegramErrorInfo(new Error('Cannot read properties of undefined')), undefined);
    assert.equal(telegramErrorInfo('a string'), undefined);
  });

  it('is configurable: kinds, patterns and a predicate with the final say', () => {
    const blocked = apiError(403, 'Forbidden: bot was blocked by the user');
    assert.equal(new NoiseFilter().classify(blocked), 'bot_blocked');
    assert.equal(new NoiseFilter({ kinds: [] }).classify(blocked), undefined);
    assert.equal(new NoiseFilter({ kinds: [...DEFAULT_NOISE_KINDS, 'message_gone'] }).classify(apiError(400, 'Bad Request: message to edit not found')), 'message_gone');
    // The user's own patterns are the one place words decide: they are the user's words.
    assert.equal(new NoiseFilter({ patterns: ['insufficient balance'] }).classify(new Error('Insufficient balance for user 5')), 'custom');
    assert.equal(new NoiseFilter({ patterns: [/model \S+ not found/i] }).classify(new Error('Model gpt-x not found')), 'custom');
    const predicate = new NoiseFilter({ isNoise: (_e, kind) => (kind === 'bot_blocked' ? false : undefined) });
    assert.equal(predicate.classify(blocked), undefined);
    assert.equal(new NoiseFilter({ isNoise: () => true }).classify(new Error('anything')), 'custom');
  });
});
