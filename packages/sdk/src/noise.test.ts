import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyApiFailure, classifyError, NoiseFilter, telegramErrorInfo } from './noise.js';
import { apiError } from './test-support/memory.js';

describe('Telegram noise', () => {
  it('classifies the Bot API wordings, by lowercased text and parameters', () => {
    const cases: [number, string, string | undefined][] = [
      [429, 'Too Many Requests: retry after 17', 'rate_limited'],
      [403, 'Forbidden: bot was blocked by the user', 'bot_blocked'],
      [403, 'Forbidden: bot was kicked from the supergroup chat', 'bot_blocked'],
      [403, 'Forbidden: user is deactivated', 'user_deactivated'],
      [400, 'Bad Request: chat not found', 'chat_not_found'],
      [400, 'Bad Request: PEER_ID_INVALID', 'chat_not_found'],
      [400, 'Bad Request: message is not modified: specified new message content ...', 'message_not_modified'],
      [400, 'Bad Request: query is too old and response timeout expired or query ID is invalid', 'query_too_old'],
      [400, 'Bad Request: message to edit not found', 'message_gone'],
      [502, 'Bad Gateway', 'network'],
      [400, "Bad Request: can't parse entities: Unsupported start tag", undefined],
    ];
    for (const [code, description, kind] of cases) assert.equal(classifyApiFailure(code, description), kind, description);
  });

  it('reads grammY, Telegraf and network errors', () => {
    assert.equal(classifyError(apiError(403, 'Forbidden: bot was blocked by the user')), 'bot_blocked');
    const telegraf = Object.assign(new Error('403: Forbidden: user is deactivated'), {
      name: 'TelegramError',
      response: { error_code: 403, description: 'Forbidden: user is deactivated' },
      on: { method: 'sendMessage', payload: {} },
    });
    assert.equal(classifyError(telegraf), 'user_deactivated');
    assert.equal(telegramErrorInfo(telegraf)?.method, 'sendMessage');
    const http = Object.assign(new Error("Network request for 'getUpdates' failed!"), { name: 'HttpError' });
    assert.equal(classifyError(http), 'network');
    assert.equal(classifyError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), 'network');
    const botError = Object.assign(new Error('wrapped'), { name: 'BotError', error: apiError(429, 'Too Many Requests: retry after 3', { parameters: { retry_after: 3 } }), ctx: {} });
    assert.equal(classifyError(botError), 'rate_limited');
    assert.equal(telegramErrorInfo(botError)?.retryAfter, 3);
    assert.equal(classifyError(new Error('Cannot read properties of undefined')), undefined);
  });

  it('is configurable: kinds, patterns and a predicate with the final say', () => {
    const blocked = apiError(403, 'Forbidden: bot was blocked by the user');
    assert.equal(new NoiseFilter().classify(blocked), 'bot_blocked');
    assert.equal(new NoiseFilter({ kinds: [] }).classify(blocked), undefined);
    assert.equal(new NoiseFilter({ patterns: ['insufficient balance'] }).classify(new Error('Insufficient balance for user 5')), 'custom');
    assert.equal(new NoiseFilter({ patterns: [/model \S+ not found/i] }).classify(new Error('Model gpt-x not found')), 'custom');
    const predicate = new NoiseFilter({ isNoise: (_e, kind) => (kind === 'bot_blocked' ? false : undefined) });
    assert.equal(predicate.classify(blocked), undefined);
    assert.equal(new NoiseFilter({ isNoise: () => true }).classify(new Error('anything')), 'custom');
  });
});
