import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseEnvelope } from '@botpulse/protocol';
import { mutatedEvents } from '../test-support/event-mutations.js';
import { normalizePayload } from './shape.js';

const FIXTURES = fileURLToPath(new URL('../../../../../shared/fixtures/sentry-envelopes/', import.meta.url));
const haveFixtures = existsSync(FIXTURES);

/** The `_meta` entry at a path, as Sentry writes it: `{"": {err, val}}`. */
function metaAt(payload: { _meta?: unknown }, ...path: string[]): { err: unknown[]; val: unknown } | undefined {
  let node: unknown = payload._meta;
  for (const key of [...path, '']) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  return node as { err: unknown[]; val: unknown } | undefined;
}

const frame = (over: Record<string, unknown>) => ({ exception: { values: [{ type: 'E', value: 'v', stacktrace: { frames: [over] } }] } });

describe('normalizePayload: exceptions and frames', () => {
  it('removes frames of the wrong kind and keeps them as sent in _meta', () => {
    for (const frames of [5, true, { a: 1 }, 'frames']) {
      const payload = normalizePayload({ exception: { values: [{ type: 'E', stacktrace: { frames } }] } });
      assert.deepEqual(payload.exception?.values[0]?.stacktrace, {}, JSON.stringify(frames));
      assert.deepEqual(metaAt(payload, 'exception', 'values', '0', 'stacktrace', 'frames')?.val, frames);
    }
  });

  it('drops null and non-object frames from the list and keeps the list as sent', () => {
    const frames = [null, { function: 'handle' }, 7];
    const payload = normalizePayload({ exception: [{ type: 'E', stacktrace: { frames } }] });
    assert.deepEqual(payload.exception?.values[0]?.stacktrace?.frames, [{ function: 'handle' }]);
    assert.deepEqual(metaAt(payload, 'exception', 'values', '0', 'stacktrace', 'frames')?.val, frames);
  });

  it('gives each frame field its type: text, numbers, lines, flags', () => {
    const payload = normalizePayload(
      frame({ function: { name: 'f' }, filename: ['a.py'], module: 42, context_line: { toString: 1 }, pre_context: { a: 1 }, post_context: ['ok', null, 3, { x: 1 }], lineno: '12', colno: 'x', in_app: 'yes', vars: [1] }),
    );
    const f = payload.exception!.values[0]!.stacktrace!.frames![0]!;
    assert.deepEqual(f, { module: '42', post_context: ['ok', '', '3', ''], lineno: 12 });
    const at = (key: string) => metaAt(payload, 'exception', 'values', '0', 'stacktrace', 'frames', '0', key)?.val;
    assert.deepEqual(at('function'), { name: 'f' });
    assert.deepEqual(at('context_line'), { toString: 1 });
    assert.deepEqual(at('post_context'), ['ok', null, 3, { x: 1 }]);
    assert.equal(at('in_app'), 'yes');
    assert.equal(at('colno'), 'x');
  });

  it('turns a numeric type into text and keeps an object value as its JSON text', () => {
    const payload = normalizePayload({ exception: { values: [{ type: 404, value: { detail: 'gone' } }] } });
    assert.deepEqual(payload.exception?.values[0], { type: '404', value: '{"detail":"gone"}' });
    const objectType = normalizePayload({ exception: { values: [{ type: { toString: 1 }, value: 'v' }] } });
    assert.deepEqual(objectType.exception?.values[0], { value: 'v' });
    assert.deepEqual(metaAt(objectType, 'exception', 'values', '0', 'type')?.val, { toString: 1 });
  });

  it('removes a mechanism that is no object, and flags that are not booleans', () => {
    const payload = normalizePayload({ exception: [{ type: 'E', mechanism: 'onerror' }, { type: 'F', mechanism: { type: 3, handled: 'no' } }] });
    assert.equal(payload.exception?.values[0]?.mechanism, undefined);
    assert.deepEqual(payload.exception?.values[1]?.mechanism, { type: '3' });
  });

  it('removes an exception field that is neither a list nor {values}', () => {
    const payload = normalizePayload({ exception: 'boom', message: 'hi' });
    assert.equal(payload.exception, undefined);
    assert.equal(metaAt(payload, 'exception')?.val, 'boom');
  });
});

describe('normalizePayload: breadcrumbs', () => {
  it('reads epoch milliseconds as seconds and removes times no Date can hold', () => {
    const crumbs = [{ timestamp: 1e13 }, { timestamp: 1.7e12 }, { timestamp: 'never' }, { timestamp: '1700000000.5' }, { timestamp: '2025-10-10T17:11:21Z' }, { timestamp: 1e300 }, { timestamp: {} }];
    const payload = normalizePayload({ breadcrumbs: crumbs });
    assert.deepEqual(
      payload.breadcrumbs?.values.map((c) => c.timestamp),
      [1e10, 1.7e9, undefined, 1700000000.5, '2025-10-10T17:11:21Z', undefined, undefined],
    );
    assert.equal(metaAt(payload, 'breadcrumbs', 'values', '0', 'timestamp')?.val, 1e13);
    assert.equal(metaAt(payload, 'breadcrumbs', 'values', '2', 'timestamp')?.val, 'never');
  });

  it('gives category, message and level text or removes them, and data an object', () => {
    const payload = normalizePayload({ breadcrumbs: { values: [{ category: { a: 1 }, message: 7, level: ['x'], data: 5, type: true }, 'junk'] } });
    assert.deepEqual(payload.breadcrumbs?.values, [{ message: '7', type: 'true' }]);
    assert.deepEqual(metaAt(payload, 'breadcrumbs', 'values')?.val, [{ category: { a: 1 }, message: 7, level: ['x'], data: 5, type: true }, 'junk']);
  });
});

describe('normalizePayload: request, user, tags, contexts, fingerprint', () => {
  it('makes request headers an object of texts from pairs, joining repeats, dropping non-pairs', () => {
    const payload = normalizePayload({ request: { url: 'https://x', headers: [1, 'a', [1, 2, 3], null, ['Accept', 'a'], ['Accept', 'b'], ['X-N', 5], ['X-O', { a: 1 }], ['X-L', ['p', 'q']]] } });
    assert.deepEqual(payload.request?.headers, { Accept: 'a, b', 'X-N': '5', 'X-L': 'p, q' });
    assert.ok(Array.isArray(metaAt(payload, 'request', 'headers')?.val));
    const fromObject = normalizePayload({ request: { headers: { 'User-Agent': 'bot', n: 3, o: { x: 1 } } } });
    assert.deepEqual(fromObject.request?.headers, { 'User-Agent': 'bot', n: '3' });
    assert.equal(normalizePayload({ request: { headers: 'Accept: */*' } }).request?.headers, undefined);
  });

  it('gives user fields text and removes a user that is no object', () => {
    assert.deepEqual(normalizePayload({ user: { id: 42, email: ['a'], username: { n: 1 }, data: { plan: 'pro' } } }).user, { id: '42', data: { plan: 'pro' } });
    assert.equal(normalizePayload({ user: 'ann' }).user, undefined);
  });

  it('makes tags an object of texts', () => {
    assert.deepEqual(normalizePayload({ tags: [['a', 1], ['b', true], ['c', { k: 1 }], ['d', null], ['a', 'again'], 'junk'] }).tags, { a: '1', b: 'true', c: '{"k":1}' });
    assert.deepEqual(normalizePayload({ tags: { x: 'y', n: 5 } }).tags, { x: 'y', n: '5' });
    assert.equal(normalizePayload({ tags: 'a,b' }).tags, undefined);
  });

  it('keeps only object contexts, even one named __proto__', () => {
    const payload = normalizePayload(JSON.parse('{"contexts":{"telegram":{"chat_id":1},"os":"linux","__proto__":{"a":1}}}'));
    assert.deepEqual(Object.keys(payload.contexts!), ['telegram', '__proto__']);
    assert.equal(Object.getPrototypeOf(payload.contexts), Object.prototype);
    assert.equal(metaAt(payload, 'contexts', 'os')?.val, 'linux');
  });

  it('keeps fingerprint texts, numbers and booleans as text, and drops objects (Relay)', () => {
    const payload = normalizePayload({ fingerprint: ['{{ default }}', 3, false, null, { toString: 1 }, [1]] });
    assert.deepEqual(payload.fingerprint, ['{{ default }}', '3', 'false']);
    assert.equal(normalizePayload({ fingerprint: [{ toString: 1 }] }).fingerprint, undefined);
    assert.equal(normalizePayload({ fingerprint: 'one' }).fingerprint, undefined);
  });

  it('reads a logentry given as text and a message given as an object', () => {
    const payload = normalizePayload({ logentry: 'Disk full', message: { message: 'User %s', formatted: { a: 1 }, params: 'x' } });
    assert.deepEqual(payload.logentry, { formatted: 'Disk full' });
    assert.deepEqual(payload.message, { message: 'User %s', formatted: '{"a":1}' });
  });
});

describe('normalizePayload: the pass itself', () => {
  it('changes nothing in a well-formed event and adds no _meta', { skip: !haveFixtures && 'fixtures not found' }, () => {
    for (const name of readdirSync(FIXTURES).filter((f) => f.endsWith('.txt'))) {
      for (const item of parseEnvelope(readFileSync(FIXTURES + name)).items.filter((i) => i.headers.type === 'event')) {
        const event = JSON.parse(item.payload.toString('utf8'));
        const payload = normalizePayload(event);
        assert.equal(payload._meta, event._meta, name);
        assert.deepEqual(payload.exception, event.exception, name);
        assert.deepEqual(payload.request?.headers, event.request?.headers, name);
      }
    }
  });

  it('is idempotent and keeps the client _meta, adding its own entries', () => {
    const event = { _meta: { request: { data: { '': { rem: [['!raw', 'x']] } } } }, exception: { values: [{ type: 'E', stacktrace: { frames: 5 } }] } };
    const once = normalizePayload(event);
    assert.deepEqual(normalizePayload(once), once);
    assert.deepEqual(once._meta!.request, event._meta.request);
    assert.equal(metaAt(once, 'exception', 'values', '0', 'stacktrace', 'frames')?.val, 5);
    assert.equal((event.exception.values[0]!.stacktrace as { frames: unknown }).frames, 5, 'the input is not modified');
  });

  it('reads only own properties: a missing field never finds Object.prototype', () => {
    const payload = normalizePayload(JSON.parse('{"exception":{"values":[{"stacktrace":{"frames":[{"__proto__":{"function":"x"}}]}}]}}'));
    assert.equal(payload.exception?.values[0]?.stacktrace?.frames?.[0]?.function, undefined);
    assert.deepEqual(normalizePayload('not an event'), {});
  });

  it('never throws, and gives every read field its type, over 2,000 seeded mutations', () => {
    for (const { event, description } of mutatedEvents({ seed: 11, count: 2000 })) {
      const payload = normalizePayload(event);
      const where = description;
      for (const exception of payload.exception?.values ?? []) {
        for (const key of ['type', 'value', 'module'] as const) assert.ok(exception[key] === undefined || typeof exception[key] === 'string', where);
        for (const f of exception.stacktrace?.frames ?? []) {
          for (const key of ['function', 'filename', 'abs_path', 'module', 'context_line'] as const) assert.ok(f[key] === undefined || typeof f[key] === 'string', where);
          for (const key of ['pre_context', 'post_context'] as const) assert.ok(f[key] === undefined || f[key]!.every((l) => typeof l === 'string'), where);
        }
      }
      for (const crumb of payload.breadcrumbs?.values ?? []) {
        assert.ok(crumb.timestamp === undefined || (typeof crumb.timestamp === 'number' ? Math.abs(crumb.timestamp) <= 8.64e12 : Number.isFinite(Date.parse(crumb.timestamp))), where);
        for (const key of ['category', 'message', 'level', 'type'] as const) assert.ok(crumb[key] === undefined || typeof crumb[key] === 'string', where);
      }
      for (const value of Object.values(payload.request?.headers ?? {})) assert.equal(typeof value, 'string', where);
      for (const value of Object.values(payload.tags ?? {})) assert.equal(typeof value, 'string', where);
      assert.ok(payload.fingerprint === undefined || payload.fingerprint.every((p) => typeof p === 'string'), where);
      assert.deepEqual(normalizePayload(payload), payload, `idempotent: ${where}`);
    }
  });
});
