import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runInExecution, Scope } from './scope.js';
import { apiError, memoryClient } from './test-support/memory.js';
import { SDK_VERSION } from './version.js';

describe('BotpulseClient', () => {
  it('builds Sentry events like @sentry/node', () => {
    const { client, transport } = memoryClient({ serverName: 'bot-host' });
    const id = client.captureException(new Error('card declined', { cause: new TypeError('bad amount') }));
    const [event] = transport.payloads('event');
    assert.match(id ?? '', /^[0-9a-f]{32}$/);
    assert.equal(event.event_id, id);
    assert.equal(transport.items[0]?.eventId, id);
    assert.equal(event.platform, 'node');
    assert.deepEqual(event.sdk, { name: 'botpulse.javascript.node', version: SDK_VERSION });
    assert.equal(event.server_name, 'bot-host');
    assert.equal(event.environment, 'test');
    assert.equal(event.release, 'r1');
    assert.equal(event.level, 'error');
    assert.equal(typeof event.timestamp, 'number');
    assert.equal(event.contexts.runtime.name, 'node');
    assert.equal(event.contexts.runtime.version, process.version);
    assert.ok(event.contexts.os.name);
    assert.deepEqual(event.exception.values.map((v: any) => v.type), ['TypeError', 'Error']);
    assert.deepEqual(event.exception.values[1].mechanism, { type: 'generic', handled: true });
    assert.ok(event.exception.values[1].stacktrace.frames.at(-1).in_app);
  });

  it('sends a captured error once, however many layers see it', () => {
    const { client, transport } = memoryClient();
    const error = new Error('once');
    const first = client.captureException(error);
    assert.equal(client.captureException(error), first);
    assert.equal(transport.payloads('event').length, 1);
  });

  it('turns Telegram noise into a breadcrumb and a counter; force reports it anyway', () => {
    const { client, transport } = memoryClient();
    assert.equal(client.captureException(apiError(403, 'Forbidden: bot was blocked by the user')), undefined);
    assert.equal(client.counters().noise['bot_blocked'], 1);
    assert.equal(transport.items.length, 0);
    assert.equal(client.globalScope.breadcrumbs.at(-1)?.category, 'telegram.noise');
    assert.ok(client.captureException(apiError(403, 'Forbidden: bot was blocked by the user'), { force: true }));
    const [event] = transport.payloads('event');
    assert.equal(event.contexts.telegram_api.error_code, 403);
    assert.equal(event.contexts.telegram_api.payload.text, '[text omitted]', 'user text stays out by default');
  });

  it('applies beforeSend: edit, drop, async', async () => {
    const edit = memoryClient({ beforeSend: (event) => ({ ...event, tags: { ...(event.tags as object), edited: 'yes' } }) });
    edit.client.captureMessage('hello');
    assert.equal(edit.transport.payloads('event')[0].tags.edited, 'yes');

    const drop = memoryClient({ beforeSend: () => null });
    drop.client.captureMessage('dropped');
    assert.equal(drop.transport.items.length, 0);
    assert.equal(drop.client.counters().eventsDropped['before_send'], 1);

    const later = memoryClient({ beforeSend: async (event) => ({ ...event, level: 'warning' }) });
    later.client.captureMessage('async');
    assert.equal(later.transport.items.length, 0);
    await later.client.flush(1000);
    assert.equal(later.transport.payloads('event')[0].level, 'warning');
  });

  it('scrubs tokens from everything it sends, beforeSend output included', () => {
    const token = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';
    const { client, transport } = memoryClient({ beforeSend: (event) => ({ ...event, extra: { url: `https://api.telegram.org/bot${token}/getMe` } }) });
    client.addBreadcrumb({ message: `GET /bot${token}/getMe` });
    client.captureException(new Error(`failed with ${token}`));
    assert.ok(!JSON.stringify(transport.payloads('event')).includes(token.slice(10)));
  });

  it('merges the global and the current scope; the update scope owns its breadcrumbs', () => {
    const { client, transport } = memoryClient();
    client.setTag('service', 'bot');
    client.addBreadcrumb({ message: 'global crumb' });
    const scope = new Scope();
    scope.telegram = { update_id: 9, update_type: 'callback_query', chat_id: -100, chat_type: 'supergroup', user_id: 5, username: 'u5', duplicate: true };
    runInExecution({ scope }, () => {
      client.setTag('step', 'pay');
      client.addBreadcrumb({ message: 'update crumb' });
      client.captureMessage('inside update', 'warning');
    });
    const [event] = transport.payloads('event');
    assert.equal(event.tags.service, 'bot');
    assert.equal(event.tags.step, 'pay');
    assert.equal(event.tags.update_type, 'callback_query');
    assert.equal(event.tags.chat_type, 'supergroup');
    assert.equal(event.tags.duplicate_update, 'true');
    assert.deepEqual(event.user, { id: '5', username: 'u5' });
    assert.equal(event.contexts.telegram.chat_id, -100);
    assert.deepEqual(event.breadcrumbs.values.map((b: any) => b.message), ['update crumb']);
    assert.equal(client.globalScope.tags['step'], undefined, 'scope changes stayed in the update');
  });

  it('withScope keeps changes inside', () => {
    const { client, transport } = memoryClient();
    client.withScope((scope) => {
      scope.setTag('job', 'digest');
      client.captureMessage('in');
    });
    client.captureMessage('out');
    const [inside, outside] = transport.payloads('event');
    assert.equal(inside.tags.job, 'digest');
    assert.equal(outside.tags.job, undefined);
  });

  it('trace() sends a transaction with child spans; events inside carry the trace context', async () => {
    const { client, transport } = memoryClient();
    const result = await client.trace('bot.command', async () => {
      client.trace('db.query', () => 1, { name: 'load user', data: { table: 'users' } });
      await client.trace('http.client', async () => undefined);
      client.captureMessage('inside');
      return 42;
    }, { name: '/start' });
    assert.equal(result, 42);
    const [transaction] = transport.payloads('transaction');
    assert.equal(transaction.transaction, '/start');
    assert.equal(transaction.contexts.trace.op, 'bot.command');
    assert.deepEqual(transaction.spans.map((s: any) => s.op), ['db.query', 'http.client']);
    assert.equal(transaction.spans[0].description, 'load user');
    assert.deepEqual(transaction.spans[0].data, { table: 'users' });
    assert.equal(transaction.spans[0].parent_span_id, transaction.contexts.trace.span_id);
    assert.equal(transport.payloads('event')[0].contexts.trace.trace_id, transaction.contexts.trace.trace_id);
  });

  it('marks a failed span and rethrows; respects tracesSampleRate 0', () => {
    const { client, transport } = memoryClient();
    assert.throws(() => client.trace('job', () => { throw new Error('x'); }));
    assert.equal(transport.payloads('transaction')[0].contexts.trace.status, 'internal_error');
    const unsampled = memoryClient({ tracesSampleRate: 0 });
    unsampled.client.trace('job', () => 1);
    assert.equal(unsampled.transport.items.length, 0);
  });

  it('reads its configuration from the environment, with per-environment sample rates', () => {
    const { client } = memoryClient({ environment: undefined, release: undefined, tracesSampleRate: undefined, env: { SENTRY_DSN: 'http://k@127.0.0.1:1/2', SENTRY_ENVIRONMENT: 'staging', SENTRY_RELEASE: 'v2' } });
    assert.equal(client.config.dsn, 'http://k@127.0.0.1:1/2');
    assert.equal(client.config.environment, 'staging');
    assert.equal(client.config.release, 'v2');
    assert.equal(client.config.tracesSampleRate, 0.5);
  });

  it('does nothing after close()', async () => {
    const { client, transport } = memoryClient();
    await client.close();
    assert.equal(client.captureMessage('late'), undefined);
    assert.equal(transport.items.length, 0);
  });
});
