import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRecord, normalizeLevel, normalizeTime } from './parse.js';
import { RecordJoiner, stripComposePrefix, TextLineSplitter, type LogRecord } from './records.js';
import { logsUrl, maskedDsn } from './tail.js';
import { parseDsn } from '@botpulse/protocol';

function join(lines: string[], maxBytes = 1024): LogRecord[] {
  const out: LogRecord[] = [];
  const joiner = new RecordJoiner((r) => out.push(r), maxBytes);
  let offset = 0;
  for (const text of lines) {
    const end = offset + Buffer.byteLength(text) + 1;
    joiner.push({ text, sourceId: 's', start: offset, end });
    offset = end;
  }
  joiner.flush();
  return out;
}

describe('RecordJoiner', () => {
  it('joins a traceback (indented lines and the exception line) under its log line, with the offsets of both ends', () => {
    const records = join([
      '2024-01-01 12:00:00,123 - bot - ERROR - Error handling request',
      'Traceback (most recent call last):',
      '  File "bot.py", line 3, in handle',
      'KeyError: \'user\'',
      '2024-01-01 12:00:01,000 - bot - INFO - next',
    ]);
    assert.equal(records.length, 2);
    assert.equal(records[0]!.text.split('\n').length, 4);
    assert.equal(records[0]!.start, 0);
    assert.equal(records[1]!.start, records[0]!.end);
  });

  it('keeps one record per line in a source without timestamps, but still takes indented lines', () => {
    const records = join(['hello', 'world', '  more of world']);
    assert.deepEqual(records.map((r) => r.text), ['hello', 'world\n  more of world']);
  });

  it('bounds a record: lines past the limit are consumed (their end counts) but not kept', () => {
    const many = ['2024-01-01 12:00:00,123 - bot - ERROR - boom', ...Array.from({ length: 100 }, (_, i) => `  frame ${i} ${'x'.repeat(20)}`)];
    const [record] = join(many, 200);
    assert.ok(Buffer.byteLength(record!.text) <= 200, String(Buffer.byteLength(record!.text)));
    assert.equal(record!.truncated, true);
    assert.equal(record!.end, many.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0));
  });

  it('never joins lines of two interleaved compose containers', () => {
    const out: LogRecord[] = [];
    const joiner = new RecordJoiner((r) => out.push(r), 1024);
    const push = (text: string, container: string, start: number) => joiner.push({ text, sourceId: 's', start, end: start + 1, fields: { service: container.slice(0, -2), container } });
    push('2024-01-01 12:00:00,123 - bot - ERROR - boom', 'bot-1', 0);
    push('Traceback (most recent call last):', 'bot-1', 1);
    push('worker says hi', 'worker-1', 2);
    push('ValueError: bad', 'bot-1', 3);
    joiner.flush();
    assert.deepEqual(out.map((r) => [r.fields!.container, r.text.split('\n').length]), [['bot-1', 2], ['worker-1', 1], ['bot-1', 1]]);
  });

  it('never joins lines to a JSON record, and drops blank lines', () => {
    const records = join(['{"msg":"a"}', '', 'not json', '{"msg":"b"}']);
    assert.deepEqual(records.map((r) => r.text), ['{"msg":"a"}', 'not json', '{"msg":"b"}']);
  });
});

describe('TextLineSplitter', () => {
  it('splits chunks into lines with byte offsets, bounds an endless line and keeps counting its bytes', () => {
    const out: [string, number, number, boolean][] = [];
    const splitter = new TextLineSplitter((...line) => out.push(line), 5);
    splitter.push('ab\nпри');
    splitter.push('вет\n0123456789');
    splitter.push('abc\ntail');
    splitter.end();
    assert.deepEqual(out, [
      ['ab', 0, 3, false],
      ['приве', 3, 16, true],
      ['01234', 16, 30, true],
      ['tail', 30, 34, false],
    ]);
  });
});

describe('stripComposePrefix', () => {
  it('strips compose v2, v1 and coloured prefixes and names the service', () => {
    assert.deepEqual(stripComposePrefix('bot-1  | hello | world'), { text: 'hello | world', service: 'bot', container: 'bot-1' });
    assert.deepEqual(stripComposePrefix('my-bot_2 | x'), { text: 'x', service: 'my-bot', container: 'my-bot-2' });
    assert.deepEqual(stripComposePrefix('\x1b[36mbot-1  |\x1b[0m coloured'), { text: 'coloured', service: 'bot', container: 'bot-1' });
    assert.deepEqual(stripComposePrefix('a | b'), { text: 'a | b' });
  });
});

describe('parseRecord', () => {
  it("parses seed 002's format", () => {
    const line = parseRecord('2024-01-01 12:00:00,123 - bot.payments - CRITICAL - Database connection lost', 0);
    assert.deepEqual(line, { time: new Date(2024, 0, 1, 12, 0, 0, 123).getTime(), level: 'critical', logger: 'bot.payments', message: 'Database connection lost' });
  });

  it('normalises pino, structlog and python-json-logger objects and passes other keys through', () => {
    assert.deepEqual(parseRecord('{"level":30,"time":1704110400000,"pid":1,"hostname":"h","msg":"hi","user_id":5}', 0), {
      pid: 1, hostname: 'h', user_id: 5, time: 1704110400000, level: 'info', message: 'hi',
    });
    assert.deepEqual(parseRecord('{"event":"Queue full","level":"error","timestamp":"2024-01-01T12:00:00Z","logger":"q"}', 0), {
      time: Date.parse('2024-01-01T12:00:00Z'), level: 'error', logger: 'q', message: 'Queue full',
    });
    const py = parseRecord('{"asctime":"2024-01-01 12:00:00,500","name":"bot","levelname":"WARNING","message":"Insufficient balance","operation":"generation","duration_ms":45}', 0);
    assert.deepEqual(py, { operation: 'generation', duration_ms: 45, time: new Date(2024, 0, 1, 12, 0, 0, 500).getTime(), level: 'warning', logger: 'bot', message: 'Insufficient balance' });
  });

  it('sends anything else as a message-only line at the time it was read', () => {
    assert.deepEqual(parseRecord('Killed', 42), { time: 42, message: 'Killed' });
    assert.deepEqual(parseRecord('{"no": "message"', 42), { time: 42, message: '{"no": "message"' });
  });

  it('levels and times', () => {
    assert.equal(normalizeLevel(60), 'fatal');
    for (const name of ['constructor', 'toString', '__proto__']) assert.equal(normalizeLevel(name), undefined, `${name} is no level`);
    assert.equal(normalizeLevel('WARN'), 'warning');
    assert.equal(normalizeLevel('loud'), undefined);
    assert.equal(normalizeTime(1704110400), 1704110400000);
    assert.equal(normalizeTime(1704110400.5), 1704110400500);
    assert.equal(normalizeTime('yesterday'), undefined);
  });
});

describe('DSN handling', () => {
  it('posts to /api/<project>/logs/ and never prints the key', () => {
    const dsn = parseDsn('https://0123456789abcdef@example.org/prefix/42');
    assert.equal(logsUrl(dsn), 'https://example.org/prefix/api/42/logs/');
    assert.equal(maskedDsn(dsn), 'https://***@example.org/prefix/42');
  });
});
