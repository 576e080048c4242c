import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiError, memoryClient } from './test-support/memory.js';

// The process handlers themselves run in child processes (tests/e2e/sdk-crash*.test.ts); this is
// the client's side of them: what captureFatal reports.
describe('captureFatal', () => {
  it('reports an error that ended the bot even if it looks like Telegram noise; one the process survives stays noise', () => {
    const blocked = () => apiError(403, 'Forbidden: bot was blocked by the user');
    const { client, transport } = memoryClient();
    assert.equal(client.captureFatal(blocked(), 'onunhandledrejection', { fatal: false }), undefined);
    assert.equal(transport.payloads('event').length, 0);
    assert.equal(client.counters().noise['bot_blocked'], 1);
    assert.ok(client.captureFatal(blocked(), 'onunhandledrejection', { fatal: true }));
    const [event] = transport.payloads('event');
    assert.equal(event.level, 'fatal');
    assert.deepEqual(event.exception.values.at(-1).mechanism, { type: 'onunhandledrejection', handled: false });
  });

  it('an error filtered as noise by the middleware and then fatal is reported once, fatal', () => {
    const { client, transport } = memoryClient();
    const error = apiError(403, 'Forbidden: bot was blocked by the user');
    assert.equal(client.captureException(error, { mechanism: { type: 'grammy.middleware', handled: false } }), undefined);
    client.captureFatal(error, 'onunhandledrejection', { fatal: true });
    client.captureFatal(error, 'onuncaughtexception', { fatal: true });
    assert.equal(transport.payloads('event').length, 1);
    assert.equal(transport.payloads('event')[0].level, 'fatal');
  });

  it('a grammY BotError not seen before is reported with the update it failed on', () => {
    const { client, transport } = memoryClient();
    const inner = new Error('handler failed');
    const botError = Object.assign(new Error('wrapped'), { name: 'BotError', error: inner, ctx: { update: { update_id: 77, message: { chat: { id: 5, type: 'private' }, from: { id: 5, username: 'eve' } } } } });
    client.captureFatal(botError, 'onunhandledrejection', { fatal: true });
    const [event] = transport.payloads('event');
    assert.equal(event.exception.values.at(-1).value, 'handler failed');
    assert.equal(event.contexts.telegram.update_id, 77);
    assert.equal(event.user.username, 'eve');
  });
});
