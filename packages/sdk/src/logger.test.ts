import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from './logger.js';
import { runInExecution, Scope } from './scope.js';
import { memoryClient } from './test-support/memory.js';

function sink() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) }, records: () => lines.map((l) => JSON.parse(l)) };
}

describe('structured logger', () => {
  it('accepts pino call shapes and writes JSON lines with pino levels', () => {
    const out = sink();
    const log = createLogger({ name: 'bot', level: 'debug', destination: out.destination, base: { service: 'support' } });
    log.info('plain %s', 'text');
    log.warn({ operation: 'payment', amount: 10 }, 'slow provider');
    log.debug({ msg: 'from object' });
    log.trace('below the level');
    log.child({ module: 'billing' }).error(new TypeError('bad card'));
    const [plain, warn, debug, error] = out.records();
    assert.equal(out.lines.length, 4);
    assert.equal(plain.msg, 'plain text');
    assert.equal(plain.level, 30);
    assert.equal(plain.name, 'bot');
    assert.equal(plain.service, 'support');
    assert.equal(warn.level, 40);
    assert.equal(warn.operation, 'payment');
    assert.equal(debug.msg, 'from object');
    assert.equal(error.module, 'billing');
    assert.equal(error.error_type, 'TypeError');
    assert.equal(error.err.message, 'bad card');
    assert.ok(out.lines.every((l) => l.endsWith('\n')));
  });

  it('adds user_id, update_id, operation and duration_ms inside an update; never a token', () => {
    const out = sink();
    const log = createLogger({ destination: out.destination });
    const { client } = memoryClient();
    const scope = new Scope();
    scope.telegram = { update_id: 77, update_type: 'message', user_id: 5 };
    const update = client.startTransaction('telegram.update', 'update message');
    runInExecution({ scope, span: update, update: { id: 77, startedAt: Date.now() } }, () => {
      log.info('update received');
      client.trace('generation', () => log.info({ err: new RangeError('quota') }, 'token 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1 used'));
    });
    const [received, inner] = out.records();
    assert.equal(received.user_id, 5);
    assert.equal(received.update_id, 77);
    assert.equal(received.operation, 'update.message');
    assert.equal(typeof received.duration_ms, 'number');
    assert.equal(inner.operation, 'generation');
    assert.equal(inner.error_type, 'RangeError');
    assert.equal(inner.msg, 'token [bot-token] used');
  });

  it('ships records as Sentry log items in batches', async () => {
    const out = sink();
    const { client, transport } = memoryClient();
    const log = createLogger({ destination: out.destination, client, ship: { level: 'warn', maxBatch: 2 } });
    log.info('not shipped');
    log.warn({ user_id: 1, ratio: 0.5, ok: true, nested: { a: 1 } }, 'first');
    log.error('second');
    log.error('third');
    assert.equal(transport.items.length, 1, 'a full batch went out at once');
    await client.flush(100);
    assert.equal(transport.items.length, 2, 'flush pushed the partial batch');
    const [item] = transport.items;
    assert.equal(item?.type, 'log');
    assert.deepEqual(item?.headers, { item_count: 2, content_type: 'application/vnd.sentry.items.log+json' });
    const [first, second] = transport.payloads('log')[0].items;
    assert.equal(first.level, 'warn');
    assert.equal(first.body, 'first');
    assert.equal(typeof first.timestamp, 'number');
    assert.deepEqual(first.attributes.user_id, { value: 1, type: 'integer' });
    assert.deepEqual(first.attributes.ratio, { value: 0.5, type: 'double' });
    assert.deepEqual(first.attributes.ok, { value: true, type: 'boolean' });
    assert.deepEqual(first.attributes.nested, { value: '{"a":1}', type: 'string' });
    assert.equal(second.level, 'error');
  });
});
