import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { EnvelopeParseError } from './errors.js';
import { jsonItem, parseEnvelope, serializeEnvelope } from './envelope.js';

const FIXTURES = new URL('../../../../shared/fixtures/sentry-envelopes/', import.meta.url);

describe('parseEnvelope', () => {
  it('reads items with and without length, keeping newlines inside length-delimited payloads', () => {
    const body = Buffer.from('{"event_id":"abc"}\n{"type":"attachment","length":5}\na\nb\nc\n{"type":"event"}\n{"x":1}\n');
    const env = parseEnvelope(body);
    assert.equal(env.headers.event_id, 'abc');
    assert.equal(env.items.length, 2);
    assert.equal(env.items[0]!.payload.toString(), 'a\nb\nc');
    assert.deepEqual(JSON.parse(env.items[1]!.payload.toString()), { x: 1 });
  });

  it('accepts a payload ending at EOF without a final newline', () => {
    const env = parseEnvelope(Buffer.from('{}\n{"type":"session"}\n{"started":"x"}'));
    assert.equal(env.items[0]!.payload.toString(), '{"started":"x"}');
  });

  it('accepts a headers-only envelope', () => {
    assert.deepEqual(parseEnvelope(Buffer.from('{}')).items, []);
  });

  it('keeps a carriage return as part of the payload', () => {
    const env = parseEnvelope(Buffer.from('{}\n{"type":"attachment"}\nab\r\n'));
    assert.equal(env.items[0]!.payload.toString(), 'ab\r');
  });

  it('rejects a truncated length-delimited item with a message naming the item', () => {
    assert.throws(
      () => parseEnvelope(Buffer.from('{}\n{"type":"event","length":100}\n{"a":1}\n')),
      (err: Error) => err instanceof EnvelopeParseError && /item 1 declares length 100/.test(err.message),
    );
  });

  it('rejects a wrong length that does not land on a newline', () => {
    assert.throws(() => parseEnvelope(Buffer.from('{}\n{"type":"event","length":3}\n{"a":1}\n')), /expected a newline/);
  });

  it('rejects invalid JSON headers, a missing type and an empty body', () => {
    assert.throws(() => parseEnvelope(Buffer.from('{nope\n')), /envelope headers are not valid JSON/);
    assert.throws(() => parseEnvelope(Buffer.from('{}\n{"length":1}\nx\n')), /no "type"/);
    assert.throws(() => parseEnvelope(Buffer.alloc(0)), /envelope is empty/);
    assert.throws(() => parseEnvelope(Buffer.from('[1]\n')), /must be a JSON object/);
  });

  it('round-trips through serializeEnvelope', () => {
    const original = { headers: { event_id: 'e1' }, items: [jsonItem('event', { message: 'a\nb' }), { headers: { type: 'attachment', filename: 'x.txt' }, payload: Buffer.from('1\n2') }] };
    const parsed = parseEnvelope(serializeEnvelope(original));
    assert.equal(parsed.items.length, 2);
    assert.deepEqual(JSON.parse(parsed.items[0]!.payload.toString()), { message: 'a\nb' });
    assert.equal(parsed.items[1]!.payload.toString(), '1\n2');
    assert.equal(parsed.items[1]!.headers.filename, 'x.txt');
  });
});

describe('parseEnvelope on envelopes captured from real SDKs', { skip: !existsSync(FIXTURES) && 'shared/fixtures is not beside the checkout' }, () => {
  const files = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((f) => f.endsWith('.txt')) : [];
  for (const file of files) {
    it(`parses ${file}`, () => {
      const env = parseEnvelope(readFileSync(new URL(file, FIXTURES)));
      assert.equal(typeof env.headers, 'object');
      for (const item of env.items) assert.equal(typeof item.headers.type, 'string');
    });
  }
  it('finds the expected item types in the fixtures', () => {
    const types = (f: string) => parseEnvelope(readFileSync(new URL(f, FIXTURES))).items.map((i) => i.headers.type);
    assert.deepEqual(types('envelope_empty_payload.txt'), ['attachment', 'attachment']);
    assert.ok(types('envelope_python.txt').includes('transaction') || types('envelope_python.txt').includes('event'));
    assert.ok(types('log_envelope.txt').includes('log'));
    assert.ok(types('envelope_javascript.txt').includes('event'));
  });
});
