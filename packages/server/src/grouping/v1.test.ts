import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseEnvelope, type SentryEventPayload, type SentryException, type SentryStackFrame } from '@botpulse/protocol';
import { currentGrouping, groupings } from './index.js';
import { GROUPING_VERSION, fingerprintV1 } from './v1.js';

const FIXTURES = fileURLToPath(new URL('../../../../../shared/fixtures/sentry-envelopes/', import.meta.url));
const haveFixtures = existsSync(FIXTURES);
if (!haveFixtures) console.warn(`v1.test: ${FIXTURES} not found, skipping the real-payload tests`);

function fixtureEvent(name: string): SentryEventPayload {
  const envelope = parseEnvelope(readFileSync(FIXTURES + name));
  const item = envelope.items.find((i) => i.headers.type === 'event' || i.headers.type === 'transaction');
  assert.ok(item, `${name} has an event`);
  return JSON.parse(item.payload.toString('utf8')) as SentryEventPayload;
}

function exceptionsOf(event: SentryEventPayload): SentryException[] {
  const raw = event.exception;
  return (Array.isArray(raw) ? raw : raw?.values) ?? [];
}

function framesOf(event: SentryEventPayload, index = -1): SentryStackFrame[] {
  return exceptionsOf(event).at(index)?.stacktrace?.frames ?? [];
}

/** What a code edit above the crash does: every line number moves, the code itself stays. */
function shiftLines(event: SentryEventPayload, by: number): SentryEventPayload {
  for (const exception of exceptionsOf(event)) {
    for (const frame of exception.stacktrace?.frames ?? []) {
      if (frame.lineno !== undefined) frame.lineno += by;
      if (frame.colno !== undefined) frame.colno += 1;
      frame.pre_context = ['// a comment added above', ...(frame.pre_context ?? [])];
    }
  }
  return event;
}

/** A real V8 stack turned into Sentry frames the way @sentry/node does (oldest first). */
function eventFromError(error: Error): SentryEventPayload {
  const frames: SentryStackFrame[] = [];
  for (const line of (error.stack ?? '').split('\n').slice(1)) {
    const match = /^\s*at (?:(.+?) \()?(.+?):(\d+):(\d+)\)?$/.exec(line);
    if (!match) continue;
    const [, fn, filename = '', lineno, colno] = match;
    const inApp = !filename.startsWith('node:') && !filename.includes('node_modules');
    frames.push({ function: fn, filename, lineno: Number(lineno), colno: Number(colno), in_app: inApp });
  }
  return {
    platform: 'node',
    exception: { values: [{ type: error.name, value: error.message, stacktrace: { frames: frames.reverse() } }] },
  };
}

/** A GrammyError as it arrives when every frame is inside grammY (no in-app frame). */
function grammyError(description: string, code = 400): SentryEventPayload {
  const libraryFrame = (fn: string, lineno: number): SentryStackFrame => ({
    filename: '/app/node_modules/grammy/out/core/client.js', module: 'grammy.out.core:client', function: fn, lineno, in_app: false,
  });
  return {
    platform: 'node',
    exception: {
      values: [{
        type: 'GrammyError',
        value: `Call to 'sendMessage' failed! (${code}: ${description})`,
        stacktrace: { frames: [libraryFrame('ApiClient.callApi', 90), libraryFrame('toGrammyError', 41)] },
      }],
    },
  };
}

const hashOf = (event: SentryEventPayload): string => fingerprintV1(event).hash;

// Real stacks: the same failing call reached from two lines, and a different function.
function sendWelcome(): Error {
  return new Error('welcome failed');
}
function sendHelp(): Error {
  return new Error('welcome failed');
}
function handleStart(): [Error, Error] {
  const first = sendWelcome();
  const second = sendWelcome();
  return [first, second];
}
function handleStartWithCallbacks(): [Error, Error] {
  const first = [0].map(() => new Error('callback failed'))[0]!;
  const second = [0].map(() => new Error('callback failed'))[0]!;
  return [first, second];
}

describe('fingerprintV1: result', () => {
  it('is an md5 hex hash tagged with version 1 and its basis', () => {
    const result = fingerprintV1({ message: 'hello' });
    assert.match(result.hash, /^[0-9a-f]{32}$/);
    assert.equal(result.version, 1);
    assert.equal(GROUPING_VERSION, 1);
    assert.equal(result.basis, 'message');
    assert.deepEqual(result.components, ['message:hello']);
  });

  it('is registered as the current grouping', () => {
    assert.equal(currentGrouping.version, 1);
    assert.equal(currentGrouping.fingerprint, fingerprintV1);
    assert.equal(groupings.get(1)?.fingerprint, fingerprintV1);
  });
});

describe('fingerprintV1: real V8 stacks', () => {
  it('groups the same error raised from different lines together', () => {
    const [first, second] = handleStart();
    assert.notEqual(first.stack, second.stack);
    assert.equal(fingerprintV1(eventFromError(first)).basis, 'in-app-frames');
    assert.equal(hashOf(eventFromError(first)), hashOf(eventFromError(second)));
  });

  it('separates the same message raised by a different function', () => {
    assert.notEqual(hashOf(eventFromError(sendWelcome())), hashOf(eventFromError(sendHelp())));
  });

  it('is not thrown off by anonymous callbacks on different lines', () => {
    const [first, second] = handleStartWithCallbacks();
    assert.equal(hashOf(eventFromError(first)), hashOf(eventFromError(second)));
  });

  it('never lets line or column numbers into the components', () => {
    const event = eventFromError(sendWelcome());
    const linenos = framesOf(event).map((f) => `:${f.lineno}`);
    for (const component of fingerprintV1(event).components) {
      for (const lineno of linenos) assert.ok(!component.includes(lineno), component);
    }
  });
});

describe('fingerprintV1: real SDK payloads', { skip: !haveFixtures && 'fixtures not found' }, () => {
  const stackFixtures = ['envelope_with_text.txt', 'envelope_php_error.txt', 'envelope_javascript.txt', 'application_x_sentry_envelope-1706290053204.txt'];

  it('gives the same hash when every line number moved', () => {
    for (const name of stackFixtures) {
      assert.equal(hashOf(shiftLines(fixtureEvent(name), 7)), hashOf(fixtureEvent(name)), name);
    }
  });

  it('uses the in-app frames of stacks that have them', () => {
    for (const name of stackFixtures) assert.equal(fingerprintV1(fixtureEvent(name)).basis, 'in-app-frames', name);
  });

  it('describes a PHP frame by file basename, function and context line', () => {
    const { components } = fingerprintV1(fixtureEvent('envelope_php_error.txt'));
    assert.deepEqual(components, [
      'frame:index.php||a();',
      'frame:index.php|a|b($var4);',
      'frame:index.php|b|functionFailsForSure($a);',
      "frame:index.php|functionFailsForSure|throw new \\Exception('This will be captured by Sentry');",
      'type:Exception',
    ]);
  });

  it('separates the same error raised in a different function', () => {
    const renamed = fixtureEvent('envelope_php_error.txt');
    framesOf(renamed).at(-1)!.function = 'functionFailsSometimes';
    assert.notEqual(hashOf(renamed), hashOf(fixtureEvent('envelope_php_error.txt')));
  });

  it('ignores the exception value when in-app frames decide', () => {
    const other = fixtureEvent('envelope_with_text.txt');
    exceptionsOf(other)[0]!.value = 'Test attachment: another.txt';
    assert.equal(hashOf(other), hashOf(fixtureEvent('envelope_with_text.txt')));
  });

  it('strips the JS object prefix and drops anonymous function names', () => {
    const { components } = fingerprintV1(fixtureEvent('envelope_javascript.txt'));
    assert.ok(components.includes('frame:|processEvent|'), components.join('\n'));
    assert.ok(components.includes('frame:|forEach|'));
    assert.ok(!components.some((c) => c.includes('<anonymous>')));
    const renamedObject = fixtureEvent('envelope_javascript.txt');
    framesOf(renamedObject)[3]!.function = 'Module.processEvent';
    assert.equal(hashOf(renamedObject), hashOf(fixtureEvent('envelope_javascript.txt')));
  });

  it('keeps Java lambdas stable when their generated numbers change', () => {
    const renumbered = fixtureEvent('application_x_sentry_envelope-1706290053204.txt');
    for (const frame of framesOf(renumbered)) {
      frame.function = frame.function?.replace('lambda$onCreate$0', 'lambda$onCreate$3');
      frame.module = frame.module?.replace('ExternalSyntheticLambda0', 'ExternalSyntheticLambda5');
    }
    assert.equal(hashOf(renumbered), hashOf(fixtureEvent('application_x_sentry_envelope-1706290053204.txt')));
  });

  it('treats an empty fingerprint array as absent', () => {
    const event = fixtureEvent('application_x_sentry_envelope-1706290053204.txt');
    assert.deepEqual(event.fingerprint, []);
    assert.equal(fingerprintV1(event).basis, 'in-app-frames');
  });

  it('groups a real log message by its text with numbers parameterised, plus the logger', () => {
    const event = fixtureEvent('envelope_java_formatted_message.txt');
    const result = fingerprintV1(event);
    assert.equal(result.basis, 'message');
    assert.deepEqual(result.components, [
      'logger:io.sentry.samples.spring.boot.jakarta.SentryDemoApplication',
      'message:Started SentryDemoApplication in <duration> (process running for <float>)',
    ]);
    const later = fixtureEvent('envelope_java_formatted_message.txt');
    later.message = { formatted: 'Started SentryDemoApplication in 3.1 seconds (process running for 3.52)' };
    assert.equal(hashOf(later), result.hash);
  });

  it('groups a failed request without exception by method, status and route', () => {
    const event = fixtureEvent('envelope_python.txt');
    event.contexts!.response = { status_code: 404 };
    event.request!.url = 'http://127.0.0.1:8000/api/0/users/42/';
    const result = fingerprintV1(event);
    assert.equal(result.basis, 'http');
    assert.deepEqual(result.components, ['method:GET', 'status:404', 'route:/api/<int>/users/<int>/']);
    event.request!.url = 'http://127.0.0.1:8000/api/0/users/7/?detailed=1';
    assert.equal(hashOf(event), result.hash);
  });
});

describe('fingerprintV1: Telegram noise without in-app frames', () => {
  it('groups flood waits of different lengths together', () => {
    const a = fingerprintV1(grammyError('Too Many Requests: retry after 17', 429));
    const b = fingerprintV1(grammyError('Too Many Requests: retry after 3', 429));
    assert.equal(a.basis, 'exception');
    assert.equal(a.hash, b.hash);
    assert.deepEqual(a.components, ['type:GrammyError', "value:Call to 'sendMessage' failed! (<int>: Too Many Requests: retry after <int>)"]);
  });

  it('keeps different Telegram errors apart', () => {
    assert.notEqual(hashOf(grammyError('Bad Request: chat not found')), hashOf(grammyError('Forbidden: bot was blocked by the user', 403)));
  });

  it('groups chat-not-found for different chats together', () => {
    const message = (chat: string): SentryEventPayload => ({ message: `Cannot notify chat ${chat}: Bad Request: chat not found` });
    assert.equal(hashOf(message('-1001234567890')), hashOf(message('-1009876543210')));
    const exception = (chat: number): SentryEventPayload => ({
      exception: [{ type: 'TelegramError', value: `400: Bad Request: chat not found (chat_id=${chat})` }],
    });
    assert.equal(hashOf(exception(12345)), hashOf(exception(67890)));
  });

  it('keeps Bot API errors from the same in-app line apart by their description, and flood waits together', () => {
    const fromReplyLine = (value: string, type = 'GrammyError'): SentryEventPayload => ({
      exception: [
        {
          type,
          value,
          stacktrace: { frames: [{ filename: '/app/src/handlers/start.ts', function: 'onStart', context_line: '  await ctx.reply(text);', lineno: 12, in_app: true }] },
        },
      ],
    });
    const blocked = fromReplyLine("Call to 'sendMessage' failed! (403: Forbidden: bot was blocked by the user)");
    const notFound = fromReplyLine("Call to 'sendMessage' failed! (400: Bad Request: chat not found)");
    assert.equal(fingerprintV1(blocked).basis, 'in-app-frames');
    assert.notEqual(hashOf(blocked), hashOf(notFound));
    assert.equal(
      hashOf(fromReplyLine("Call to 'sendMessage' failed! (429: Too Many Requests: retry after 17)")),
      hashOf(fromReplyLine("Call to 'sendMessage' failed! (429: Too Many Requests: retry after 3)")),
    );
    // Telegraf's errors are recognised by the API error code at the start of the value.
    const telegraf = (value: string) => fromReplyLine(value, 'Error');
    assert.notEqual(hashOf(telegraf('403: Forbidden: bot was blocked by the user')), hashOf(telegraf('400: Bad Request: chat not found')));
  });

  it('uses only the first line of the value', () => {
    const event = (details: string): SentryEventPayload => ({ exception: [{ type: 'HttpError', value: `Network request for 'getUpdates' failed!\n${details}` }] });
    assert.equal(hashOf(event('socket hang up')), hashOf(event('ECONNRESET')));
  });
});

describe('fingerprintV1: exception chains', () => {
  const frame = (fn: string, module = 'bot.handlers'): SentryStackFrame => ({ module, function: fn, context_line: `await ${fn}(ctx)`, in_app: true });
  const chained = (causeFn: string): SentryEventPayload => ({
    platform: 'python',
    exception: {
      values: [
        { type: 'KeyError', value: "'user'", stacktrace: { frames: [frame(causeFn)] } },
        { type: 'RuntimeError', value: 'handler failed', stacktrace: { frames: [frame('on_start'), frame('reply')] } },
      ],
    },
  });

  it('lets every exception of the chain contribute', () => {
    const result = fingerprintV1(chained('load_user'));
    assert.deepEqual(result.components, [
      'frame:bot.handlers|load_user|await load_user(ctx)',
      'type:KeyError',
      'frame:bot.handlers|on_start|await on_start(ctx)',
      'frame:bot.handlers|reply|await reply(ctx)',
      'type:RuntimeError',
    ]);
    assert.notEqual(result.hash, hashOf(chained('load_chat')));
  });

  it('uses the value of a chained exception whose frames are all library frames', () => {
    const event = chained('load_user');
    exceptionsOf(event)[0]!.stacktrace = { frames: [{ module: 'redis.client', function: 'get', in_app: false }] };
    assert.deepEqual(fingerprintV1(event).components.slice(0, 2), ['type:KeyError', "value:'user'"]);
  });

  it('ignores direct recursion', () => {
    const recursive: SentryEventPayload = { exception: [{ type: 'RangeError', stacktrace: { frames: [frame('walk'), frame('walk'), frame('walk')] } }] };
    const once: SentryEventPayload = { exception: [{ type: 'RangeError', stacktrace: { frames: [frame('walk')] } }] };
    assert.equal(hashOf(recursive), hashOf(once));
  });

  it('drops context lines longer than 120 characters (minified code)', () => {
    const minified = frame('x');
    minified.context_line = 'a'.repeat(121);
    const { components } = fingerprintV1({ exception: [{ type: 'TypeError', stacktrace: { frames: [minified] } }] });
    assert.equal(components[0], 'frame:bot.handlers|x|');
  });

  it('uses all frames when the SDK marked none as in-app or not', () => {
    const result = fingerprintV1({ exception: [{ type: 'Error', value: 'x', stacktrace: { frames: [{ filename: '/srv/bot/Main.JS', function: 'run' }] } }] });
    assert.equal(result.basis, 'all-frames');
    assert.deepEqual(result.components, ['frame:main.js|run|', 'type:Error']);
  });

  it('accepts a bare exception list like the {values} form', () => {
    const values = exceptionsOf(chained('load_user'));
    assert.equal(hashOf({ platform: 'python', exception: values }), hashOf(chained('load_user')));
  });
});

describe('fingerprintV1: custom fingerprints', () => {
  const base: SentryEventPayload = {
    level: 'error',
    transaction: '/start',
    logger: 'bot',
    tags: { chat_type: 'group', origin: 'handler' },
    exception: [{ type: 'GrammyError', value: "Call to 'sendMessage' failed! (403: Forbidden: bot was blocked by the user)" }],
  };

  it('makes a fingerprint without {{ default }} the whole key', () => {
    const a = fingerprintV1({ ...base, fingerprint: ['payment-failed'] });
    const b = fingerprintV1({ message: 'totally different', fingerprint: ['payment-failed'] });
    assert.equal(a.basis, 'custom');
    assert.deepEqual(a.components, ['payment-failed']);
    assert.equal(a.hash, b.hash);
  });

  it('combines {{ default }} with the extra parts', () => {
    const result = fingerprintV1({ ...base, fingerprint: ['{{ default }}', '{{ tags.chat_type }}'] });
    assert.equal(result.basis, 'custom');
    assert.deepEqual(result.components, [...fingerprintV1(base).components, 'group']);
    const privateChat = fingerprintV1({ ...base, tags: { chat_type: 'private' }, fingerprint: ['{{ default }}', '{{ tags.chat_type }}'] });
    assert.notEqual(privateChat.hash, result.hash);
  });

  it('treats a lone {{ default }} as no fingerprint at all', () => {
    assert.equal(hashOf({ ...base, fingerprint: ['{{ default }}'] }), hashOf(base));
  });

  it('expands variables case- and space-insensitively', () => {
    const result = fingerprintV1({
      ...base,
      fingerprint: ['{{error.type}}', '{{ Error.Value }}', '{{  TRANSACTION }}', '{{ level }}', '{{ logger }}', '{{ tags.origin }}', '{{ message }}'],
    });
    assert.deepEqual(result.components, [
      'GrammyError',
      "Call to 'sendMessage' failed! (403: Forbidden: bot was blocked by the user)",
      '/start',
      'error',
      'bot',
      'handler',
      '<no-message>',
    ]);
  });

  it('reads tags given as [key, value] pairs and marks missing ones', () => {
    const result = fingerprintV1({ tags: [['chat_type', 'channel']], fingerprint: ['{{ tags.chat_type }}', '{{ tags.missing }}'] });
    assert.deepEqual(result.components, ['channel', '<no-value-for-tag-missing>']);
  });

  it('keeps unknown variables literally', () => {
    assert.deepEqual(fingerprintV1({ fingerprint: ['{{ nope }}'] }).components, ['{{ nope }}']);
  });
});

describe('fingerprintV1: messages and fallback', () => {
  it('prefers the logentry template over the formatted text', () => {
    const a = fingerprintV1({ logentry: { message: 'User %s not found', formatted: 'User ann not found', params: ['ann'] } });
    const b = fingerprintV1({ logentry: { message: 'User %s not found', formatted: 'User bob not found', params: ['bob'] } });
    assert.equal(a.hash, b.hash);
    assert.deepEqual(a.components, ['message:User %s not found']);
  });

  it('uses the formatted text when the template is only a placeholder', () => {
    const a = fingerprintV1({ logentry: { message: '%s', formatted: 'database is down' } });
    const b = fingerprintV1({ logentry: { message: '%s', formatted: 'cache is down' } });
    assert.notEqual(a.hash, b.hash);
  });

  it('reads the first two non-empty lines only', () => {
    const event = (tail: string): SentryEventPayload => ({ message: `\nline one\n\nline two\n${tail}` });
    assert.deepEqual(fingerprintV1(event('x')).components, ['message:line one\nline two']);
    assert.equal(hashOf(event('x')), hashOf(event('y')));
  });

  it('separates the same message from different loggers', () => {
    assert.notEqual(hashOf({ message: 'boom', logger: 'a' }), hashOf({ message: 'boom', logger: 'b' }));
  });

  it('falls back to level and platform for an empty event', () => {
    const result = fingerprintV1({ platform: 'node', level: 'warning' });
    assert.equal(result.basis, 'fallback');
    assert.deepEqual(result.components, ['level:warning', 'platform:node']);
  });

  it('does not group a request below 400 by route', () => {
    const ok = fingerprintV1({ message: 'slow', request: { method: 'GET', url: '/a' }, tags: { 'http.status_code': '200' } });
    assert.equal(ok.basis, 'message');
    const failed = fingerprintV1({ message: 'slow', request: { method: 'GET', url: '/a' }, tags: { 'http.status_code': '502' } });
    assert.equal(failed.basis, 'http');
  });
});
