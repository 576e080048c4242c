import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseEnvelope, type SentryEventPayload } from '@botpulse/protocol';
import { MAX_TAGS, MAX_TAG_LENGTH, MAX_TITLE_LENGTH, flattenTags, isLibraryFrame, normalizeEvent, normalizeEventId, normalizeLevel, normalizeTimestamp } from './normalize.js';

const FIXTURES = fileURLToPath(new URL('../../../../../shared/fixtures/sentry-envelopes/', import.meta.url));
const haveFixtures = existsSync(FIXTURES);
if (!haveFixtures) console.warn(`normalize.test: ${FIXTURES} not found, skipping the real-payload tests`);

/** The event payload of a fixture envelope and the envelope's own event_id. */
function fixture(name: string): { event: SentryEventPayload; headerId: string | undefined } {
  const envelope = parseEnvelope(readFileSync(FIXTURES + name));
  const item = envelope.items.find((i) => i.headers.type === 'event' || i.headers.type === 'transaction');
  assert.ok(item, `${name} has an event`);
  return { event: JSON.parse(item.payload.toString('utf8')) as SentryEventPayload, headerId: envelope.headers.event_id };
}

const NOW = Date.UTC(2025, 9, 10, 17, 11, 30);
const DAY = 24 * 3600 * 1000;
const normalize = (event: SentryEventPayload, eventId?: string) => normalizeEvent(event, { receivedAt: NOW, eventId });

describe('normalizeEvent on real SDK payloads', { skip: !haveFixtures && 'fixtures not found' }, () => {
  it('reads a Node SDK error event', () => {
    const { event, headerId } = fixture('envelope_with_text.txt');
    const result = normalizeEvent(event, { eventId: headerId, receivedAt: NOW });
    assert.equal(result.eventId, '7f88639e68f0491ebf2f78c4f474bc7f');
    assert.equal(result.timestamp, 1760116281953);
    assert.equal(result.level, 'error');
    assert.equal(result.platform, 'node');
    assert.equal(result.environment, 'development');
    assert.equal(result.title, 'Error: Test attachment: attachment.txt');
    assert.equal(result.culprit, 'attachment.ts in <anonymous>');
    assert.equal(result.exceptionType, 'Error');
    assert.equal(result.exceptionValue, 'Test attachment: attachment.txt');
    assert.equal(result.message, null);
    assert.equal(result.request, null);
    assert.equal(result.telegram, null);
    assert.deepEqual(result.tags, {});
  });

  it('titles a PHP error by the first line of a multi-line value and blames the crashing function', () => {
    const { event } = fixture('envelope_php_error.txt');
    const result = normalize(event);
    assert.equal(result.title, 'Exception: This will be captured by Sentry');
    assert.equal(result.culprit, '/index.php in functionFailsForSure');
    assert.equal(result.level, 'error'); // PHP sent no level
    assert.equal(result.timestamp, NOW); // 2023 is more than 30 days before NOW
  });

  it('reads a browser event with request, user and tags', () => {
    const { event } = fixture('envelope_javascript.txt');
    const result = normalizeEvent(event, { receivedAt: 1700660724334 + 5000 });
    assert.equal(result.title, 'SyntaxError: Unexpected end of JSON input');
    assert.equal(result.timestamp, 1700660724334);
    assert.equal(result.userKey, 'id:1');
    assert.equal(result.tags.transaction, '/organizations/:orgId/issues/:groupId/');
    assert.deepEqual(result.request, {
      method: null,
      url: 'http://127.0.0.1:8000/organizations/sentry/issues/16/?project=3&query=is%3Aunresolved&referrer=issue-stream&stream_index=0',
      urlPattern: '/organizations/sentry/issues/<int>/',
      statusCode: null,
      ip: '127.0.0.1',
      userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36',
    });
  });

  it('reads a Django request with method, REMOTE_ADDR and the response status', () => {
    const { event } = fixture('envelope_python.txt');
    const result = normalize(event);
    assert.equal(result.request?.method, 'GET');
    assert.equal(result.request?.statusCode, 200);
    assert.equal(result.request?.ip, '127.0.0.1');
    assert.equal(result.request?.urlPattern, '/api/<int>/organizations/sentry/');
    assert.equal(result.tags['spans_over_limit'], 'false');
    assert.equal(result.tags['organization'], '1');
    assert.equal(result.userKey, 'id:1');
  });

  it('reads a Java log message with an ISO timestamp and info level', () => {
    const { event } = fixture('envelope_java_formatted_message.txt');
    const result = normalizeEvent(event, { receivedAt: Date.parse('2024-02-12T09:34:00Z') });
    assert.equal(result.title, 'Started SentryDemoApplication in 2.652 seconds (process running for 2.796)');
    assert.equal(result.message, result.title);
    assert.equal(result.level, 'info');
    assert.equal(result.timestamp, Date.parse('2024-02-12T09:33:41.547Z'));
    assert.equal(result.userKey, null); // `{{auto}}` is not an address
  });

  it('maps an Android crash: fatal level, culprit in the lambda, user id', () => {
    const { event } = fixture('application_x_sentry_envelope-1706290053204.txt');
    const result = normalizeEvent(event, { receivedAt: Date.parse('2024-01-26T17:28:00Z') });
    assert.equal(result.level, 'fatal');
    assert.equal(result.title, 'RuntimeException: Uncaught Exception from Java.');
    assert.equal(result.culprit, 'io.sentry.samples.android.MainActivity in lambda$onCreate$0');
    assert.equal(result.userKey, 'id:5c2cba76-f178-435e-bdec-061af7ac27af');
    assert.equal(result.release, event.release);
  });

  it('gives every fixture event a title and a valid id without throwing', () => {
    for (const name of ['Capture.Message.txt', 'envelope_astro_ssr_node.txt', 'envelope_with_json.txt']) {
      const result = normalize(fixture(name).event);
      assert.match(result.eventId, /^[0-9a-f]{32}$/);
      assert.ok(result.title.length > 0);
    }
  });
});

describe('normalizeEvent: event id', () => {
  it('prefers the envelope header id over the payload id', () => {
    assert.equal(normalize({ event_id: 'a'.repeat(32) }, 'B'.repeat(32)).eventId, 'b'.repeat(32));
  });

  it('accepts dashed UUIDs and falls back to the payload when the header id is invalid', () => {
    assert.equal(normalizeEventId('550E8400-E29B-41D4-A716-446655440000'), '550e8400e29b41d4a716446655440000');
    assert.equal(normalize({ event_id: 'c'.repeat(32) }, 'nope').eventId, 'c'.repeat(32));
  });

  it('invents a fresh random id when none is valid', () => {
    const a = normalize({ event_id: 'not-an-id' }).eventId;
    const b = normalize({}).eventId;
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.notEqual(a, b);
  });
});

describe('normalizeTimestamp', () => {
  it('reads RFC 3339 strings and epoch seconds', () => {
    assert.equal(normalizeTimestamp('2025-10-10T17:11:21.953Z', NOW), Date.parse('2025-10-10T17:11:21.953Z'));
    assert.equal(normalizeTimestamp((NOW - 2000) / 1000, NOW), NOW - 2000);
    assert.equal(normalizeTimestamp(String((NOW - 2000) / 1000), NOW), NOW - 2000);
  });

  it('reads epoch milliseconds from clients that send them', () => {
    assert.equal(normalizeTimestamp(NOW - 5000, NOW), NOW - 5000);
  });

  it('uses the receipt time for missing, invalid, future and ancient timestamps', () => {
    for (const value of [undefined, null, '', 'yesterday', NaN, Infinity, {}, (NOW + 2 * 60_000) / 1000, (NOW - 31 * DAY) / 1000, 0]) {
      assert.equal(normalizeTimestamp(value, NOW), NOW, String(value));
    }
  });

  it('accepts small clock skew and events up to 30 days old', () => {
    assert.equal(normalizeTimestamp((NOW + 30_000) / 1000, NOW), NOW + 30_000);
    assert.equal(normalizeTimestamp((NOW - 29 * DAY) / 1000, NOW), NOW - 29 * DAY);
  });
});

describe('normalizeLevel', () => {
  it('maps Sentry levels, synonyms and Python logging names', () => {
    const cases: [unknown, string][] = [
      ['fatal', 'fatal'], ['critical', 'fatal'], ['CRITICAL', 'fatal'], ['error', 'error'], ['err', 'error'],
      ['warn', 'warning'], ['WARNING', 'warning'], ['info', 'info'], ['log', 'info'], ['debug', 'debug'],
      ['NOTSET', 'debug'], [50, 'fatal'], [40, 'error'], ['30', 'warning'], [20, 'info'], [10, 'debug'],
    ];
    for (const [input, level] of cases) assert.equal(normalizeLevel(input), level, String(input));
  });

  it('treats unknown and missing levels as error', () => {
    for (const input of ['sample', '', 'constructor', '__proto__', undefined, null, {}]) assert.equal(normalizeLevel(input), 'error');
  });
});

describe('normalizeEvent: title, message and culprit', () => {
  it('titles by the thrown (last) exception of a chain', () => {
    const result = normalize({
      exception: { values: [{ type: 'KeyError', value: "'user'" }, { type: 'RuntimeError', value: 'handler failed\ndetails' }] },
    });
    assert.equal(result.title, 'RuntimeError: handler failed');
    assert.equal(result.exceptionType, 'RuntimeError');
    assert.equal(result.exceptionValue, 'handler failed\ndetails');
  });

  it('accepts a bare exception list and rewrites it as {values} in the payload', () => {
    const result = normalize({ exception: [{ type: 'TypeError', value: 'x is undefined' }] });
    assert.equal(result.title, 'TypeError: x is undefined');
    assert.deepEqual(result.payload.exception, { values: [{ type: 'TypeError', value: 'x is undefined' }] });
  });

  it('titles by the message when there is no exception', () => {
    assert.equal(normalize({ message: '\n  first line \nsecond' }).title, 'first line');
    assert.equal(normalize({ message: { formatted: 'User ann not found', message: 'User %s not found' } }).title, 'User ann not found');
    assert.equal(normalize({ logentry: { message: 'Disk %s full', params: ['/'] } }).message, 'Disk %s full');
  });

  it('falls back to <unlabeled event>', () => {
    assert.equal(normalize({}).title, '<unlabeled event>');
  });

  it('caps a huge title at 200 characters', () => {
    const result = normalize({ exception: [{ type: 'Error', value: 'x'.repeat(100_000) }] });
    assert.equal(result.title.length, MAX_TITLE_LENGTH);
    assert.ok((result.exceptionValue ?? '').length < 10_000);
  });

  it('blames the transaction when no frame is in-app', () => {
    const result = normalize({
      transaction: 'bot.on(message:text)',
      exception: [{ type: 'GrammyError', stacktrace: { frames: [{ module: 'grammy', function: 'callApi', in_app: false }] } }],
    });
    assert.equal(result.culprit, 'bot.on(message:text)');
  });
});

/**
 * sentry-python 2.x marks a frame in-app only under its project root (the working directory):
 * a bot started by systemd from `/` gets no in-app frame at all. Its frames then carry no
 * `in_app`, except site-packages ones (`in_app: false`).
 */
const python2Frames = [
  { filename: 'runpy.py', abs_path: '/usr/lib/python3.11/runpy.py', module: 'runpy', function: '_run_module_as_main', lineno: 198 },
  { filename: 'bot/main.py', abs_path: '/opt/bot/bot/main.py', module: 'bot.main', function: 'run', lineno: 40 },
  { filename: 'telegram/ext/_application.py', abs_path: '/opt/bot/.venv/lib/python3.11/site-packages/telegram/ext/_application.py', module: 'telegram.ext._application', function: 'process_update', lineno: 1100, in_app: false },
  { filename: 'bot/handlers.py', abs_path: '/opt/bot/bot/handlers.py', module: 'bot.handlers', function: 'handle_update', lineno: 12 },
  { filename: 'json/__init__.py', abs_path: '/usr/lib/python3.11/json/__init__.py', module: 'json', function: 'loads', lineno: 346 },
  { filename: 'json/decoder.py', abs_path: '/usr/lib/python3.11/json/decoder.py', module: 'json.decoder', function: 'raw_decode', lineno: 353 },
];

describe('normalizeEvent: culprit without in-app frames (issue 11, item 17)', () => {
  it('blames the first frame from the crash site outward that is neither the standard library nor a package', () => {
    const result = normalize({ platform: 'python', exception: { values: [{ type: 'JSONDecodeError', value: 'Expecting value', stacktrace: { frames: python2Frames } }] } });
    assert.equal(result.culprit, 'bot.handlers in handle_update');
  });

  it('still prefers the frames the SDK marked in-app', () => {
    const frames = python2Frames.map((f) => (f.function === 'run' ? { ...f, in_app: true } : f));
    const result = normalize({ exception: { values: [{ type: 'E', stacktrace: { frames } }] } });
    assert.equal(result.culprit, 'bot.main in run');
  });

  it('skips frames the SDK marked not in-app, and falls back to the transaction when every frame is library code', () => {
    const frames = python2Frames.map((f) => (f.function === 'handle_update' ? { ...f, in_app: false } : f));
    assert.equal(normalize({ exception: [{ type: 'E', stacktrace: { frames } }] }).culprit, 'bot.main in run');
    const library = python2Frames.filter((f) => f.abs_path.startsWith('/usr/lib') || f.in_app === false);
    assert.equal(normalize({ transaction: 'update 901', exception: [{ type: 'E', stacktrace: { frames: library } }] }).culprit, 'update 901');
  });

  it('reads the stack of the last exception that has one, as Sentry does', () => {
    const result = normalize({ exception: { values: [{ type: 'KeyError', stacktrace: { frames: python2Frames } }, { type: 'RuntimeError', value: 'handler failed' }] } });
    assert.equal(result.culprit, 'bot.handlers in handle_update');
  });

  it('knows library code by its path on Linux, macOS, Windows and Node', () => {
    const library = [
      '/usr/lib/python3.11/json/decoder.py', '/usr/local/lib/python3.12/asyncio/base_events.py', '/usr/lib/python3/dist-packages/requests/api.py',
      '/root/.pyenv/versions/3.11.7/lib/python3.11/ssl.py', '/opt/venv/lib/python3.11/site-packages/aiogram/dispatcher.py',
      '/Library/Frameworks/Python.framework/Versions/3.12/lib/python3.12/json/decoder.py',
      'C:\\Users\\ann\\AppData\\Local\\Programs\\Python\\Python311\\Lib\\asyncio\\base_events.py', 'C:\\bot\\.venv\\Lib\\site-packages\\aiogram\\x.py',
      '<frozen importlib._bootstrap>', '/app/node_modules/grammy/out/bot.js', 'node:internal/process/task_queues',
    ];
    for (const abs_path of library) assert.equal(isLibraryFrame({ abs_path }), true, abs_path);
    for (const abs_path of ['/opt/bot/bot/handlers.py', '/home/ann/pylib/bot.py', 'C:\\bot\\handlers.py', '/app/src/bot.ts', 'bot/main.py']) {
      assert.equal(isLibraryFrame({ abs_path }), false, abs_path);
    }
  });
});

describe('normalizeEvent: an exception with neither type nor value (issue 11, item 17)', () => {
  const nameless = (extra: Record<string, unknown> = {}) => ({ stacktrace: { frames: python2Frames }, ...extra });

  it('is titled by the message when the event has one', () => {
    assert.equal(normalize({ message: 'Update 901 failed', exception: { values: [nameless()] } }).title, 'Update 901 failed');
  });

  it('is titled by the function of its crash frame, as Sentry titles an exception whose type says nothing', () => {
    assert.equal(normalize({ exception: { values: [nameless()] } }).title, 'handle_update');
    const inApp = python2Frames.map((f) => ({ ...f, in_app: f.function === 'run' }));
    assert.equal(normalize({ exception: { values: [{ stacktrace: { frames: inApp } }] } }).title, 'run');
  });

  it('is titled by the nearest exception of its chain that is labelled', () => {
    const result = normalize({ message: 'ignored', exception: { values: [{ type: 'KeyError', value: "'message'" }, nameless()] } });
    assert.equal(result.title, "KeyError: 'message'");
  });

  it('is titled by a library frame\'s function when every frame is library code', () => {
    const library = [{ module: 'grammy.client', function: 'callApi', in_app: false }, { module: 'grammy.client', function: '<anonymous>', in_app: false }];
    assert.equal(normalize({ exception: { values: [{ stacktrace: { frames: library } }] } }).title, 'callApi');
  });

  it('is titled Error when there is nothing else to go on, never <unlabeled event>', () => {
    assert.equal(normalize({ exception: { values: [{}] } }).title, 'Error');
    assert.equal(normalize({ exception: { values: [{ stacktrace: { frames: [{ function: '<anonymous>' }] } }] } }).title, 'Error');
  });

  it('counts a type or value of the wrong kind as missing, and a numeric one as text', () => {
    assert.equal(normalize({ message: 'from the log', exception: { values: [{ type: { a: 1 }, value: null }] } }).title, 'from the log');
    assert.equal(normalize({ exception: { values: [{ type: 42, value: 7 }] } }).title, '42: 7');
  });
});

describe('normalizeEvent: fields of the wrong shape never throw', () => {
  it('reads an event whose every read field is of the wrong kind', () => {
    const hostile = { toString: 1 };
    const result = normalize({
      exception: { values: [{ type: hostile, value: hostile, stacktrace: { frames: [null, { function: hostile, filename: hostile, context_line: hostile, pre_context: hostile, in_app: true }] } }] },
      breadcrumbs: [{ timestamp: 1e13, category: hostile, message: hostile }], request: { headers: [1, 'a', [1, 2, 3]], url: hostile },
      user: { id: hostile }, tags: { a: hostile }, fingerprint: [hostile], level: hostile, message: hostile, contexts: { telegram: hostile },
    } as unknown as SentryEventPayload);
    assert.equal(result.title, '{"toString":1}'); // the value, kept as its JSON text (Relay's lenient string)
    assert.equal(result.culprit, null);
    assert.deepEqual(result.payload.request, { headers: {} });
    assert.equal(result.level, 'error');
  });
});

describe('normalizeEvent: Telegram and users', () => {
  const telegram = { update_id: 901, update_type: 'message', chat_id: -1001234567890, chat_type: 'supergroup', user_id: 42, username: 'ann', language_code: 'de', role: 'admin', extra: 'dropped' };

  it('takes the Telegram context from contexts.telegram and calls the origin handler', () => {
    const result = normalize({ contexts: { telegram } });
    const { extra: _dropped, ...known } = telegram;
    assert.deepEqual(result.telegram, known);
    assert.equal(result.origin, 'handler');
    assert.equal(result.userKey, 'tg:42');
  });

  it('derives the Telegram context from tags of other SDKs', () => {
    const result = normalize({ tags: [['chat_id', '-1001234567890'], ['user_id', '42'], ['update_id', '901'], ['origin', 'webhook']] });
    assert.deepEqual(result.telegram, { update_id: 901, chat_id: -1001234567890, user_id: 42 });
    assert.equal(result.origin, 'webhook');
    assert.equal(result.userKey, 'tg:42');
  });

  it('reads the origin from contexts.botpulse', () => {
    assert.equal(normalize({ contexts: { botpulse: { origin: 'scheduler' }, telegram } }).origin, 'scheduler');
  });

  it('keys users by id, then username, email, ip', () => {
    assert.equal(normalize({ user: { id: 7, email: 'a@b.c' } }).userKey, 'id:7');
    assert.equal(normalize({ user: { username: 'ann', email: 'a@b.c' } }).userKey, 'username:ann');
    assert.equal(normalize({ user: { email: 'a@b.c' } }).userKey, 'email:a@b.c');
    assert.equal(normalize({ user: { ip_address: '10.0.0.1' } }).userKey, 'ip:10.0.0.1');
    assert.equal(normalize({}).userKey, null);
  });
});

describe('normalizeEvent: request', () => {
  it('reads method, headers as pairs, status from tags and a route pattern', () => {
    const result = normalize({
      request: { method: 'post', url: 'https://bot.example/webhook/12345?x=1', headers: [['user-agent', 'TelegramBot'], ['Accept', '*/*']] },
      tags: { 'http.status_code': '502' },
      user: { ip_address: '149.154.167.220' },
    });
    assert.deepEqual(result.request, {
      method: 'POST',
      url: 'https://bot.example/webhook/12345?x=1',
      urlPattern: '/webhook/<int>',
      statusCode: 502,
      ip: '149.154.167.220',
      userAgent: 'TelegramBot',
    });
  });

  it('prefers contexts.response.status_code and ignores impossible codes', () => {
    assert.equal(normalize({ request: { url: '/a' }, contexts: { response: { status_code: 404 } }, tags: { status_code: '500' } }).request?.statusCode, 404);
    assert.equal(normalize({ request: { url: '/a' }, tags: { status_code: '999' } }).request?.statusCode, null);
  });
});

describe('flattenTags', () => {
  it('flattens objects and [key, value] lists into strings', () => {
    assert.deepEqual(flattenTags({ a: 'x', n: 5, b: true, o: { k: 1 }, nothing: null }), { a: 'x', n: '5', b: 'true', o: '{"k":1}' });
    assert.deepEqual(flattenTags([['a', 'x'], ['n', 5], ['broken'], 'junk']), { a: 'x', n: '5' });
  });

  it('caps keys, values and the number of tags', () => {
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v']));
    assert.equal(Object.keys(flattenTags(many)).length, MAX_TAGS);
    const [[key, value]] = Object.entries(flattenTags({ ['k'.repeat(1000)]: 'v'.repeat(1000) })) as [[string, string]];
    assert.equal(key.length, MAX_TAG_LENGTH);
    assert.equal(value.length, MAX_TAG_LENGTH);
  });

  it('keeps a __proto__ tag as a plain entry', () => {
    const tags = flattenTags([['__proto__', 'x']]);
    assert.equal(Object.getPrototypeOf(tags), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(tags, '__proto__')?.value, 'x');
  });
});

describe('normalizeEvent: payload', () => {
  it('rewrites a breadcrumb list as {values} and does not touch the caller object', () => {
    const event: SentryEventPayload = { breadcrumbs: [{ message: 'a' }], event_id: 'd'.repeat(32) };
    const result = normalize(event);
    assert.deepEqual(result.payload.breadcrumbs, { values: [{ message: 'a' }] });
    assert.ok(Array.isArray(event.breadcrumbs));
  });

  it('stores the normalised event id in the payload', () => {
    assert.equal(normalize({}, 'E'.repeat(32)).payload.event_id, 'e'.repeat(32));
  });
});
