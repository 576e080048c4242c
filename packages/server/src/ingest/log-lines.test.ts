// parseNdjson / recordToLine as units (the endpoint's tests: http/logs-ingest.test.ts): the line
// walk and the field cap, read without a list of lines or a set of used keys per line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createScrubber } from '../digest/scrub.js';
import { LOG_LIMITS } from '../store/logs.js';
import { parseNdjson, recordToLine, sentryLogItem, type LogContext } from './log-lines.js';

const ctx: LogContext = { projectId: 7, receivedAt: Date.UTC(2026, 11, 6), source: 'ndjson', scrubber: createScrubber() };
const parse = (text: string) => parseNdjson(Buffer.from(text), ctx);

describe('parseNdjson', () => {
  it('skips blank and white-space-only lines, numbering every line of the body (CRLF bodies too)', () => {
    const out = parse(['{"msg":"one"}\r', ' \t\r', '', 'nope', '{"msg":"two"}', '\u00a0', '{"x":1}', ''].join('\n'));
    assert.deepEqual(out.lines.map((l) => l.message), ['one', 'two']);
    assert.deepEqual(out.rejected.map((r) => r.line), [4, 7]);
    assert.match(out.rejected[0]!.reason, /^not JSON: /);
  });

  it('takes a JSON array of records, numbering them from 1', () => {
    const out = parse('  [{"msg":"a"}, 3, {"message":"b"}]');
    assert.deepEqual(out.lines.map((l) => l.message), ['a', 'b']);
    assert.deepEqual(out.rejected, [{ line: 2, reason: 'not a JSON object' }]);
  });

  it('reads lines of any script from the bytes (each line decoded alone), and an array after Unicode white space', () => {
    const out = parse(['{"msg":"Привет, мир 👋"}', '{"msg":"日本語\u2028ok","k":"é"}'].join('\n'));
    assert.deepEqual(out.lines.map((l) => l.message), ['Привет, мир 👋', '日本語\u2028ok']);
    assert.deepEqual(out.lines[1]!.fields, { k: 'é' });
    for (const lead of ['', ' \r\n\t']) {
      const arr = parse(`${lead}[{"msg":"a"},{"msg":"b"}]`);
      assert.deepEqual(arr.lines.map((l) => l.message), ['a', 'b'], JSON.stringify(lead));
    }
    // JSON itself allows no BOM or other Unicode white space: such a body is no array and no NDJSON.
    for (const lead of ['\ufeff', '\u00a0\u2003']) assert.throws(() => parse(`${lead}[{"msg":"a"}]`), /not NDJSON/, JSON.stringify(lead));
    assert.deepEqual(parse('{"msg":"a"}\n\u00a0[{"msg":"b"}]').rejected.map((r) => r.line), [2]);
  });

  it('answers 400 for a body of which no line is JSON, and nothing for a blank one', () => {
    assert.throws(() => parse('a\nb'), /not NDJSON/);
    assert.deepEqual(parse('\n \n'), { lines: [], rejected: [] });
  });
});

describe('recordToLine', () => {
  it('counts a key once when two keys cut to the same name: the cap is on the fields kept', () => {
    const long = 'k'.repeat(LOG_LIMITS.keyChars + 5);
    const record: Record<string, unknown> = { msg: 'm', [`${long}a`]: 1, [`${long}b`]: 2 };
    for (let i = 0; i < LOG_LIMITS.fields - 1; i++) record[`f${i}`] = i;
    const line = recordToLine(record, ctx);
    assert.ok(typeof line !== 'string');
    assert.equal(Object.keys(line.fields).length, LOG_LIMITS.fields, 'all kept: the two long keys are one field');
    assert.equal(line.fields['botpulse.fields_dropped'], undefined);
    record['one_more'] = 'x';
    const capped = recordToLine(record, ctx);
    assert.ok(typeof capped !== 'string');
    assert.equal(capped.fields['botpulse.fields_dropped'], '1');
    assert.equal(capped.fields['one_more'], undefined);
  });

  it('keeps a column key whose value is null as a field, and levelno only when it was not read with a level', () => {
    const line = recordToLine({ msg: 'm', logger: null, name: 'bot', levelno: 40, 'botpulse.line_id': 'id-1' }, ctx);
    assert.ok(typeof line !== 'string');
    assert.equal(line.logger, 'bot');
    assert.equal(line.level, 'error');
    assert.equal(line.lineId, 'id-1');
    assert.deepEqual(line.fields, { logger: 'null', levelno: '40' });
    const named = recordToLine({ msg: 'm', levelname: 'WARNING', levelno: 30, level_name: 'x' }, ctx);
    assert.ok(typeof named !== 'string');
    assert.equal(named.level, 'warning');
    assert.deepEqual(named.fields, { level_name: 'x' });
  });

  it("reads a level named like an object's inherited member (constructor, toString) as unknown, not as a function", () => {
    for (const level of ['constructor', 'toString', '__proto__']) {
      const line = recordToLine({ level, msg: 'm' }, ctx);
      assert.ok(typeof line !== 'string');
      assert.equal(line.level, 'info', level);
      assert.equal(line.fields['level'], level);
    }
  });

  it('keeps fields named __proto__ or constructor as fields (a plain assignment to __proto__ drops it)', () => {
    const line = recordToLine(JSON.parse('{"msg":"m","__proto__":"x","constructor":"y"}'), ctx);
    assert.ok(typeof line !== 'string');
    assert.deepEqual(Object.entries(line.fields), [['__proto__', 'x'], ['constructor', 'y']]);
  });

  it("keeps a Sentry attribute's own name, also when it is an inherited member's (constructor, __proto__)", () => {
    const payload = JSON.parse('{"items":[{"body":"m","level":"error","attributes":{"constructor":{"value":"c","type":"string"},"__proto__":{"value":"p","type":"string"},"logger.name":{"value":"bot","type":"string"}}}]}');
    const { lines, rejected } = sentryLogItem(payload, ctx);
    assert.deepEqual(rejected, []);
    assert.equal(lines[0]!.logger, 'bot');
    assert.equal(lines[0]!.level, 'error');
    assert.deepEqual(Object.entries(lines[0]!.fields), [['constructor', 'c'], ['__proto__', 'p']]);
  });

  it('keeps the levels it knows', () => {
    const line = recordToLine({ level: 'WARN', msg: 'm' }, ctx);
    assert.ok(typeof line !== 'string');
    assert.equal(line.level, 'warning');
  });

  it('keeps an unreadable level and time as fields ahead of the rest', () => {
    const line = recordToLine({ a: 1, level: 'loud', msg: 'm', time: 'yesterday' }, ctx);
    assert.ok(typeof line !== 'string');
    assert.equal(line.level, 'info');
    assert.equal(line.time, ctx.receivedAt);
    assert.deepEqual(Object.entries(line.fields), [['level', 'loud'], ['time', 'yesterday'], ['a', '1']]);
  });
});
