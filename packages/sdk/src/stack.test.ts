import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exceptionsFromError, isInApp, parseStack } from './stack.js';

const here = fileURLToPath(import.meta.url);

describe('parseStack', () => {
  it('parses V8 lines into frames, oldest first, with module, in_app and context lines', () => {
    const stack = [
      'Error: boom',
      `    at Object.charge (${here}:10:5)`,
      '    at async handle (/app/node_modules/grammy/out/composer.js:100:20)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      '    at <anonymous>',
    ].join('\n');
    const frames = parseStack(stack, { moduleBase: '/app' });
    assert.equal(frames.length, 4);
    const [anon, internal, grammy, app] = frames;
    assert.equal(anon?.function, '?');
    assert.equal(internal?.filename, 'node:internal/process/task_queues');
    assert.equal(internal?.in_app, false);
    assert.equal(grammy?.module, 'grammy.out:composer');
    assert.equal(grammy?.in_app, false);
    assert.equal(grammy?.function, 'handle');
    assert.equal(app?.function, 'Object.charge');
    assert.equal(app?.filename, here);
    assert.equal(app?.abs_path, here);
    assert.equal(app?.lineno, 10);
    assert.equal(app?.colno, 5);
    assert.equal(app?.in_app, true);
    assert.equal(app?.pre_context?.length, 5);
    assert.equal(app?.post_context?.length, 5);
    assert.equal(typeof app?.context_line, 'string');
  });

  it('turns file:// URLs (ESM) into paths and reads the real source line', () => {
    const error = new Error('marker line for the context test');
    const frames = parseStack(error.stack ?? '');
    const top = frames.at(-1);
    assert.equal(top?.filename, here);
    assert.match(top?.context_line ?? '', /marker line for the context test/);
  });

  it('marks node_modules and node: internals as not in app', () => {
    assert.equal(isInApp('/srv/bot/src/index.js'), true);
    assert.equal(isInApp('/srv/bot/node_modules/telegraf/lib/telegraf.js'), false);
    assert.equal(isInApp('node:internal/timers'), false);
    assert.equal(isInApp('native', true), false);
    assert.equal(isInApp(undefined), false);
  });
});

describe('exceptionsFromError', () => {
  it('follows cause, oldest first, thrown last, with the mechanism on the thrown one', () => {
    const root = new TypeError('socket closed');
    const error = new Error('payment failed', { cause: root });
    const values = exceptionsFromError(error, { type: 'generic', handled: true }, { contextLines: 0 });
    assert.deepEqual(values.map((v) => [v.type, v.value]), [['TypeError', 'socket closed'], ['Error', 'payment failed']]);
    assert.deepEqual(values[1]?.mechanism, { type: 'generic', handled: true });
    assert.equal(values[0]?.mechanism?.type, 'chained');
    assert.ok((values[1]?.stacktrace?.frames?.length ?? 0) > 0);
  });

  it('survives cause cycles and non-Error values', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    assert.equal(exceptionsFromError(a, { type: 't', handled: false }, { contextLines: 0 }).length, 2);
    const [value] = exceptionsFromError({ code: 42 }, { type: 't', handled: false });
    assert.equal(value?.value, 'Non-Error thrown: {"code":42}');
    assert.equal(value?.mechanism?.synthetic, true);
    assert.equal(exceptionsFromError('plain string', { type: 't', handled: true })[0]?.value, 'plain string');
  });

  it('names custom error classes by name or constructor', () => {
    class PaymentError extends Error {}
    const [value] = exceptionsFromError(new PaymentError('declined'), { type: 't', handled: true }, { contextLines: 0 });
    assert.equal(value?.type, 'PaymentError');
  });
});
