import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseEnvelope, type SentryEventPayload } from '@botpulse/protocol';
import { compileUserRegex, USER_REGEX_ENGINE } from '../lib/user-regex.js';
import { CIRCULAR, FILTERED, MAX_SCRUB_DEPTH, TOO_DEEP, createScrubber } from './scrub.js';

const FIXTURES = fileURLToPath(new URL('../../../../../shared/fixtures/sentry-envelopes/', import.meta.url));
const haveFixtures = existsSync(FIXTURES);
if (!haveFixtures) console.warn(`scrub.test: ${FIXTURES} not found, skipping the real-payload tests`);

/** The event (or transaction) payload of a fixture envelope, parsed fresh each time. */
function fixtureEvent(name: string): SentryEventPayload {
  const envelope = parseEnvelope(readFileSync(FIXTURES + name));
  const item = envelope.items.find((i) => i.headers.type === 'event' || i.headers.type === 'transaction');
  assert.ok(item, `${name} has an event`);
  return JSON.parse(item.payload.toString('utf8')) as SentryEventPayload;
}

const BOT_ID = '7123456789';
const SECRET_PART = 'AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw8';
const TOKEN = `${BOT_ID}:${SECRET_PART}`;

function assertNoToken(result: unknown): void {
  const json = JSON.stringify(result);
  assert.ok(!json.includes(SECRET_PART), 'the secret half of the token survived');
  assert.ok(!json.includes(`${BOT_ID}:`), 'the bot id with its colon survived');
  assert.ok(!json.includes(`${BOT_ID}%3A`), 'the URL-encoded token survived');
}

/** Puts the token everywhere a real bot leaks it. */
function injectToken(event: SentryEventPayload): SentryEventPayload {
  const apiUrl = `https://api.telegram.org/bot${TOKEN}/sendMessage`;
  const exception = (event.exception as { values: Record<string, any>[] }).values.at(-1)!;
  exception.value = `request to ${apiUrl} failed, reason: socket hang up`;
  const frame = exception.stacktrace.frames.at(-1);
  frame.vars = { ...frame.vars, botToken: TOKEN, url: apiUrl, nested: { options: [TOKEN] } };
  frame.context_line = `    const bot = new Bot("${TOKEN}");`;
  frame.pre_context = [`// token ${TOKEN}`];
  event.message = `Bot ${TOKEN} crashed`;
  const breadcrumbs = event.breadcrumbs as Record<string, any>[];
  breadcrumbs.push(
    { category: 'fetch', type: 'http', data: { method: 'POST', url: apiUrl, status_code: 400 } },
    { category: 'console', message: `polling with ${TOKEN}`, data: { arguments: ['token', TOKEN] } },
  );
  event.extra = { ...event.extra, config: { telegram: { api: apiUrl } }, encoded: `webhook?url=bot${BOT_ID}%3A${SECRET_PART}` };
  event.tags = { ...(event.tags as Record<string, unknown>), bot: TOKEN };
  event.contexts = { ...event.contexts, bot: { started_with: `--token=${TOKEN}` } };
  event.request = {
    ...event.request,
    url: apiUrl,
    query_string: `token=${TOKEN}&chat_id=1`,
    data: { text: `my token is ${TOKEN}` },
    headers: { ...(event.request?.headers as Record<string, string>), 'X-Telegram-Bot-Api-Secret-Token': 'abc', Referer: apiUrl },
  };
  return event;
}

describe('scrubEvent on real SDK payloads', { skip: !haveFixtures && 'fixtures not found' }, () => {
  it('removes a Telegram token from message, exception, frames, breadcrumbs, extra, tags, contexts and request', () => {
    const scrubbed = createScrubber().scrubEvent(injectToken(fixtureEvent('envelope_javascript.txt')));
    assertNoToken(scrubbed);
  });

  it('keeps the Bot API method visible in scrubbed URLs', () => {
    const scrubbed = createScrubber().scrubEvent(injectToken(fixtureEvent('envelope_javascript.txt')));
    assert.equal(scrubbed.request?.url, `https://api.telegram.org/bot${FILTERED}/sendMessage`);
  });

  it('leaves events without secrets exactly as they were', () => {
    for (const name of ['envelope_with_text.txt', 'envelope_php_error.txt', 'envelope_java_formatted_message.txt', 'Capture.Message.txt']) {
      assert.deepEqual(createScrubber().scrubEvent(fixtureEvent(name)), fixtureEvent(name), name);
    }
  });

  it('keeps exception, user and URL of a real browser event while scrubbing it', () => {
    const original = fixtureEvent('envelope_javascript.txt');
    const scrubbed = createScrubber().scrubEvent(fixtureEvent('envelope_javascript.txt'));
    assert.deepEqual(scrubbed.exception, original.exception);
    assert.deepEqual(scrubbed.user, original.user);
    assert.equal(scrubbed.request?.url, original.request?.url);
  });

  it('filters cookies inside an envelope that a real console breadcrumb logged as text', () => {
    const original = JSON.stringify(fixtureEvent('envelope_javascript.txt'));
    const scrubbed = JSON.stringify(createScrubber().scrubEvent(fixtureEvent('envelope_javascript.txt')));
    const sudoCookie = 'tUU6UH51s8AF:1r5mQY:r5_vSOhxDC-oAyO8T9ell4rylcPXP2AEXFPRdsYGmGY';
    assert.ok(original.includes(sudoCookie), 'the fixture logs a cookie');
    assert.ok(!scrubbed.includes(sudoCookie));
  });

  it('filters cookies of a real Django request and keeps the User-Agent', () => {
    const scrubbed = createScrubber().scrubEvent(fixtureEvent('envelope_python.txt'));
    const headers = scrubbed.request?.headers as Record<string, string>;
    assert.equal(headers.Cookie, FILTERED);
    assert.match(headers['User-Agent'] ?? '', /^Mozilla/);
    assert.ok(!JSON.stringify(scrubbed).includes('Q2zorIZw4zGYrhMUT4nhkNMjb2Dwp0qbE4zEB4YGXELzVQk1R8pFXrKac2t96bbN'));
  });

  it('filters frame variables named like secrets in a real PHP stack', () => {
    const event = fixtureEvent('envelope_php_error.txt');
    const frame = (event.exception as { values: Record<string, any>[] }).values[0]!.stacktrace.frames.at(-1);
    frame.vars = { ...frame.vars, $password: 'hunter2', $apiKey: 'k-123' };
    const scrubbed = createScrubber().scrubEvent(event);
    const vars = (scrubbed.exception as { values: Record<string, any>[] }).values[0]!.stacktrace.frames.at(-1).vars;
    assert.deepEqual(vars, { bla: '3', $password: FILTERED, $apiKey: FILTERED });
  });

  it('scrubs in place and returns the same object', () => {
    const event = fixtureEvent('envelope_with_text.txt');
    assert.equal(createScrubber().scrubEvent(event), event);
  });

  // One set of the objects walked serves every event (a log batch scrubs a thousand records): it is
  // emptied after each, so an object met by an earlier event is no cycle in a later one.
  it('forgets the objects of one event before the next: the same nested object in two events is scrubbed in both', () => {
    const scrubber = createScrubber();
    const shared = { note: 'password=hunter2' };
    const first = scrubber.scrubEvent({ extra: { shared } } as unknown as SentryEventPayload) as Record<string, any>;
    assert.deepEqual(first.extra.shared, { note: `password=${FILTERED}` });
    shared.note = 'password=swordfish';
    const second = scrubber.scrubEvent({ extra: { again: shared } } as unknown as SentryEventPayload) as Record<string, any>;
    assert.deepEqual(second.extra.again, { note: `password=${FILTERED}` });
    const looped: Record<string, unknown> = { name: 'loop' };
    looped['self'] = looped;
    assert.equal((scrubber.scrubEvent({ extra: { looped } } as unknown as SentryEventPayload) as Record<string, any>).extra.looped.self, CIRCULAR);
    shared.note = 'token=abc123';
    assert.deepEqual((scrubber.scrubEvent({ extra: { shared } } as unknown as SentryEventPayload) as Record<string, any>).extra.shared, { note: `token=${FILTERED}` });
  });
});

describe('scrubEvent: keys', () => {
  const scrub = (event: Record<string, unknown>) => createScrubber().scrubEvent(event as SentryEventPayload) as Record<string, any>;

  it('filters values of secret-looking keys whatever their case or separator', () => {
    const keys = [
      'password', 'Passwd', 'client_secret', 'accessToken', 'API_KEY', 'apikey', 'X-Api-Key', 'access_key', 'auth',
      'Authorization', 'Proxy-Authorization', 'Cookie', 'Set-Cookie', 'sessionid', 'csrftoken', 'X-CSRF-Token',
      'private_key', 'privateKey', 'credentials', 'sentry_key', 'X-Telegram-Bot-Api-Secret-Token',
    ];
    const result = scrub({ extra: Object.fromEntries(keys.map((k) => [k, 'v4lue'])) });
    for (const key of keys) assert.equal(result.extra[key], FILTERED, key);
  });

  it('leaves ordinary keys alone, including author and token counts', () => {
    const extra = { author: 'Ann', authority: 'x', chat_id: -100123, prompt_tokens: 812, total_tokens: 900, text: 'hi' };
    assert.deepEqual(scrub({ extra: { ...extra } }).extra, extra);
  });

  it('filters whole objects and arrays under a secret key, but keeps booleans and nulls', () => {
    const result = scrub({ extra: { credentials: { user: 'u', pass: 'p' }, tokens: ['a', 'b'], has_password: true, session: null } });
    assert.deepEqual(result.extra, { credentials: FILTERED, tokens: FILTERED, has_password: true, session: null });
  });

  it('filters the value of [name, value] pairs (header and tag lists)', () => {
    const result = scrub({ request: { headers: [['Authorization', 'Bearer abc.def.ghi'], ['Accept', '*/*']] } });
    assert.deepEqual(result.request.headers, [['Authorization', FILTERED], ['Accept', '*/*']]);
  });

  it('honours extra keys from the configuration', () => {
    const scrubber = createScrubber({ extraKeys: ['gen_prompt', 'Phone'] });
    const result = scrubber.scrubEvent({ extra: { gen_prompt: 'secret plan', user_phone: '+4912345', other: 'ok' } }) as any;
    assert.deepEqual(result.extra, { gen_prompt: FILTERED, user_phone: FILTERED, other: 'ok' });
  });

  it('removes tokens hidden in object keys', () => {
    const result = scrub({ extra: { [`https://api.telegram.org/bot${TOKEN}/getMe`]: 1 } });
    assertNoToken(result);
    assert.deepEqual(Object.values(result.extra), [1]);
  });
});

describe('scrubEvent: odd shapes', () => {
  it('survives cycles', () => {
    const event: Record<string, any> = { extra: { a: 1 } };
    event.extra.self = event;
    const result = createScrubber().scrubEvent(event as SentryEventPayload) as Record<string, any>;
    assert.equal(result.extra.self, CIRCULAR);
  });

  it('replaces data nested deeper than it walks instead of storing it unscanned', () => {
    let deep: Record<string, unknown> = { leak: TOKEN };
    for (let i = 0; i < MAX_SCRUB_DEPTH + 5; i++) deep = { next: deep };
    const result = createScrubber().scrubEvent({ extra: deep } as SentryEventPayload);
    assertNoToken(result);
    assert.ok(JSON.stringify(result).includes(TOO_DEEP));
  });
});

describe('scrubString on hostile input', () => {
  // The timeout only guards against a catastrophic (quadratic) regex, which would take minutes.
  it('scans 100 KB strings built to defeat the patterns', { timeout: 10_000 }, () => {
    const { scrubString } = createScrubber();
    const hostile = [
      'atoken='.repeat(15_000),
      'token="' + 'token='.repeat(15_000),
      'http://' + 'a'.repeat(100_000) + '@',
      'a://b'.repeat(20_000) + '@',
      '/bot1'.repeat(20_000) + ':',
      '1'.repeat(100_000) + ':',
      'Basic '.repeat(15_000),
    ];
    for (const text of hostile) assert.equal(typeof scrubString(text), 'string');
  });

  it('hides a secret that follows a long run of look-alike names', () => {
    const { scrubString } = createScrubber();
    assert.equal(scrubString(`${'atoken='.repeat(1000)} password=hunter2`).endsWith(` password=${FILTERED}`), true);
  });
});

describe('scrubString', () => {
  const { scrubString } = createScrubber();

  it('removes Telegram tokens, bot id included, in URLs and text', () => {
    assert.equal(scrubString(`https://api.telegram.org/bot${TOKEN}/sendMessage`), `https://api.telegram.org/bot${FILTERED}/sendMessage`);
    assert.equal(scrubString(`token is ${TOKEN}.`), `token is ${FILTERED}.`);
    assert.equal(scrubString('https://api.telegram.org/bot123:short-test-token/getMe'), `https://api.telegram.org/bot${FILTERED}/getMe`);
    assert.equal(scrubString(`url=https%3A%2F%2Fh%2Fbot${BOT_ID}%3A${SECRET_PART}`), `url=https%3A%2F%2Fh%2Fbot${FILTERED}`);
  });

  it('removes passwords from connection URLs and token-like URL users', () => {
    assert.equal(scrubString('postgres://app:hunter2@db:5432/bot'), `postgres://app:${FILTERED}@db:5432/bot`);
    assert.equal(scrubString('https://ghp_abcdefghijklmnopqrstuvwxyz012345@github.com/x'), `https://${FILTERED}@github.com/x`);
    assert.equal(scrubString('mailto:ann@example.com'), 'mailto:ann@example.com');
  });

  it('removes secret query parameters and name=value pairs', () => {
    assert.equal(scrubString('GET /cb?code=1&access_token=abc&state=2'), `GET /cb?code=1&access_token=${FILTERED}&state=2`);
    assert.equal(scrubString('login failed: password=hunter2 user=ann'), `login failed: password=${FILTERED} user=ann`);
    assert.equal(scrubString('{"api_key": "abc", "name": "x"}'), `{"api_key": "${FILTERED}", "name": "x"}`);
    assert.equal(scrubString('userPassword: s3cret'), `userPassword: ${FILTERED}`);
    assert.equal(scrubString('401 Unauthorized: token=abc'), `401 Unauthorized: token=${FILTERED}`);
    assert.equal(scrubString('X-Auth-Token: abc'), `X-Auth-Token: ${FILTERED}`);
    assert.equal(scrubString('{"cookies": {"sudo": "x1", "sc": "y2"}, "ok": 1}'), `{"cookies": "${FILTERED}", "ok": 1}`);
  });

  it('removes Bearer and Basic credentials', () => {
    assert.equal(scrubString('Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.sig'), `Authorization: Bearer ${FILTERED}`);
    assert.equal(scrubString('sent Bearer abcdefgh123 to api'), `sent Bearer ${FILTERED} to api`);
    assert.equal(scrubString('header Basic dXNlcjpwYXNz'), `header Basic ${FILTERED}`);
  });

  it('leaves ordinary error text alone', () => {
    for (const text of [
      "Call to 'sendMessage' failed! (400: Bad Request: chat not found)",
      '401: Unauthorized',
      'Too Many Requests: retry after 17',
      'Unexpected token } in JSON at position 42',
      'Basic authentication is required',
      'author: Ann',
      'at 12:30:45 in session handler',
    ]) {
      assert.equal(scrubString(text), text);
    }
  });

  it('applies extra patterns from the configuration (RE2 syntax)', () => {
    const scrubber = createScrubber({ extraPatterns: [compileUserRegex('acme_[A-Za-z0-9]{20,}'), compileUserRegex('\\+49\\d{6,}')] });
    assert.equal(
      scrubber.scrubString('keys acme_abcdefghijklmnopqrstu1 and acme_zyxwvutsrqponmlkjihg2, call +4915112345678'),
      `keys ${FILTERED} and ${FILTERED}, call ${FILTERED}`,
    );
    // The replacement is literal: a `$1` in the text or the pattern expands to nothing.
    assert.equal(createScrubber({ extraPatterns: [compileUserRegex('(x)y')] }).scrubString('a xy $1'), `a ${FILTERED} $1`);
  });

  it('runs a catastrophic pattern in linear time: (a+)+$ on an event of 35 a and a !', () => {
    // V8's backtracking engine needs minutes for this; RE2 answers at once. No timing assertion:
    // the engine matches in linear time by construction, so assert which engine runs the pattern.
    const pattern = compileUserRegex('(a+)+$');
    assert.equal(pattern.engine, USER_REGEX_ENGINE);
    assert.equal(USER_REGEX_ENGINE, 're2js');
    const scrubber = createScrubber({ extraPatterns: [pattern] });
    const event = { message: `${'a'.repeat(35)}!`, tags: { note: 'aaaa' } };
    scrubber.scrubEvent(event as SentryEventPayload);
    assert.deepEqual(event, { message: `${'a'.repeat(35)}!`, tags: { note: FILTERED } });
  });
});

describe('scrubString: secrets found by probing (issue 11)', () => {
  const { scrubString, scrubEvent } = createScrubber();

  it('removes a token whose colon was percent-encoded twice (%253A)', () => {
    assert.equal(scrubString(`url=https%253A%252F%252Fh%252Fbot${BOT_ID}%253A${SECRET_PART}`), `url=https%253A%252F%252Fh%252Fbot${FILTERED}`);
    assert.equal(scrubString(`id ${BOT_ID}%253A${SECRET_PART} end`), `id ${FILTERED} end`);
    assert.equal(scrubString(`id ${BOT_ID}%25253a${SECRET_PART}`), `id ${FILTERED}`);
  });

  it('removes key, pwd, pass, sig and signature query parameters', () => {
    for (const name of ['key', 'pwd', 'pass', 'sig', 'signature', 'KEY', 'Sig']) {
      assert.equal(scrubString(`GET https://maps.example/api?${name}=AIzaSyD-s3cr3t&q=1`), `GET https://maps.example/api?${name}=${FILTERED}&q=1`);
      assert.equal(scrubString(`q=1&${name}=s3cr3t#top`), `q=1&${name}=${FILTERED}#top`);
      assert.equal(scrubString(`${name}=s3cr3t&q=1`), `${name}=${FILTERED}&q=1`);
    }
    assert.equal(scrubString('<a href="/x?a=1&amp;sig=abc123">'), `<a href="/x?a=1&amp;sig=${FILTERED}">`);
    // Only as a parameter: words that end in these names, and prose, stay.
    for (const text of ['monkey=banana', 'passkey=7', 'the key=value format', 'bypass=on&x=1']) assert.equal(scrubString(text), text);
  });

  it('removes those query parameters from a parsed query_string (object or pairs)', () => {
    const asObject = { request: { query_string: { key: 'AIza123', q: 'cats', Signature: 'abc' } } } as unknown as SentryEventPayload;
    const asPairs = { request: { query_string: [['pwd', 'hunter2'], ['q', 'cats']] } } as unknown as SentryEventPayload;
    assert.deepEqual(scrubEvent(asObject).request, { query_string: { key: FILTERED, q: 'cats', Signature: FILTERED } });
    assert.deepEqual(scrubEvent(asPairs).request, { query_string: [['pwd', FILTERED], ['q', 'cats']] });
    // Elsewhere `key` is an ordinary name.
    const elsewhere = { extra: { key: 'user:42' } } as unknown as SentryEventPayload;
    assert.deepEqual(scrubEvent(elsewhere).extra, { key: 'user:42' });
  });

  it('removes OpenAI, Anthropic and Stripe API keys from free text', () => {
    const openai = 'sk-proj-Ab3dEfGh1jKlMnOpQrStUvWxYz0123456789abcd';
    const legacy = 'sk-Ab3dEfGh1jKlMnOpQrStUvWxYz0123456789abcdEFGH';
    const anthropic = 'sk-ant-api03-Ab3dEfGh1jKlMnOpQrStUvWxYz_0123456789-abcdEFGH';
    const stripe = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
    for (const key of [openai, legacy, anthropic, stripe]) {
      assert.equal(scrubString(`calling the model with ${key}.`), `calling the model with ${FILTERED}.`);
      assert.equal(scrubString(key), FILTERED);
    }
    for (const text of ['risk-assessment-for-the-quarterly-report', 'task-1', 'disk-0123456789012345678901234']) assert.equal(scrubString(text), text);
  });
});
