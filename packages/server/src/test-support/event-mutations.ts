/**
 * A seeded mutation fuzzer for Sentry events, shared by the shape, digest and end-to-end tests:
 * real SDK events (the shared fixtures) and handmade bot events, with fields replaced by values of
 * the wrong type or range, added where SDKs put them, or removed. The same seed gives the same
 * events, and each says what was done to it, so a failure can be replayed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseEnvelope } from '@botpulse/protocol';

type Json = Record<string, unknown>;
type Segment = string | number;

export interface MutatedEvent {
  event: Json;
  /** `<base> #<n>: set a.b = …; delete c` — enough to rebuild the event by hand. */
  description: string;
}

const FIXTURES = fileURLToPath(new URL('../../../../../shared/fixtures/sentry-envelopes/', import.meta.url));

/** mulberry32: a tiny, well-distributed 32-bit PRNG; `seed` fixes the whole sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values of every JSON kind that SDKs, proxies and hand-written clients have been seen to put in the wrong place. */
export const HOSTILE_VALUES: readonly unknown[] = [
  0, -1, 1.5, 42, 1e13, -1e13, 1.7e12, 1e300, true, false, null, '', ' ', '\n', 'x'.repeat(3000), '\ud800', 'constructor',
  '__proto__', '1e13', 'NaN', '2025-13-45T99:99:99Z', '{{ default }}', '{{ tags.chat_id }}', '<script>alert(1)</script>',
  {}, { toString: 1 }, { toString: 1, valueOf: 1 }, { values: 5 }, { values: [null] }, { a: { b: { c: 1 } } }, { length: 3 },
  [], [null], [{ toString: 1 }], [1, 'a', [1, 2, 3]], [[1, 2, 3]], [['k', 'v']], [['k']], ['a', 'b'], [null, { function: 'f' }],
  JSON.parse('{"__proto__": {"polluted": 1}}'),
];

/** Paths the product reads; a mutation there creates the parents it needs. */
export const READ_PATHS: readonly (readonly Segment[])[] = [
  ['fingerprint'], ['fingerprint', 0], ['fingerprint', 1],
  ['exception'], ['exception', 'values'], ['exception', 'values', 0], ['exception', 'values', 0, 'type'],
  ['exception', 'values', 0, 'value'], ['exception', 'values', 0, 'module'], ['exception', 'values', 0, 'mechanism'],
  ['exception', 'values', 0, 'mechanism', 'handled'], ['exception', 'values', 0, 'mechanism', 'synthetic'],
  ['exception', 'values', 0, 'stacktrace'], ['exception', 'values', 0, 'stacktrace', 'frames'],
  ['exception', 'values', 0, 'stacktrace', 'frames', 0], ['exception', 'values', 0, 'stacktrace', 'frames', 0, 'function'],
  ['exception', 'values', 0, 'stacktrace', 'frames', 0, 'filename'], ['exception', 'values', 0, 'stacktrace', 'frames', 0, 'abs_path'],
  ['exception', 'values', 0, 'stacktrace', 'frames', 0, 'module'], ['exception', 'values', 0, 'stacktrace', 'frames', 0, 'context_line'],
  ['exception', 'values', 0, 'stacktrace', 'frames', 0, 'pre_context'], ['exception', 'values', 0, 'stacktrace', 'frames', 0, 'post_context'],
  ['exception', 'values', 0, 'stacktrace', 'frames', 0, 'lineno'], ['exception', 'values', 0, 'stacktrace', 'frames', 0, 'in_app'],
  ['exception', 'values', 0, 'stacktrace', 'frames', 0, 'vars'],
  ['breadcrumbs'], ['breadcrumbs', 'values'], ['breadcrumbs', 'values', 0], ['breadcrumbs', 'values', 0, 'timestamp'],
  ['breadcrumbs', 'values', 0, 'category'], ['breadcrumbs', 'values', 0, 'message'], ['breadcrumbs', 'values', 0, 'level'],
  ['breadcrumbs', 'values', 0, 'data'], ['breadcrumbs', 'values', 0, 'type'],
  ['request'], ['request', 'headers'], ['request', 'headers', 0], ['request', 'headers', 'User-Agent'], ['request', 'url'],
  ['request', 'method'], ['request', 'query_string'], ['request', 'data'], ['request', 'env'], ['request', 'env', 'REMOTE_ADDR'],
  ['user'], ['user', 'id'], ['user', 'email'], ['user', 'username'], ['user', 'ip_address'],
  ['tags'], ['tags', 'chat_id'], ['tags', 'origin'], ['tags', 0],
  ['contexts'], ['contexts', 'telegram'], ['contexts', 'telegram', 'chat_id'], ['contexts', 'telegram', 'user_id'],
  ['contexts', 'telegram', 'update_id'], ['contexts', 'response'], ['contexts', 'response', 'status_code'], ['contexts', 'botpulse', 'origin'],
  ['level'], ['timestamp'], ['message'], ['logentry'], ['logentry', 'formatted'], ['logentry', 'message'], ['logentry', 'params'],
  ['transaction'], ['release'], ['environment'], ['platform'], ['server_name'], ['logger'], ['culprit'], ['extra'], ['sdk'], ['_meta'],
];

/** Event items of the shared fixtures (real SDKs), when the folder is beside the checkout. */
export function fixtureEvents(): { name: string; event: Json }[] {
  if (!existsSync(FIXTURES)) return [];
  const events: { name: string; event: Json }[] = [];
  for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith('.txt')).sort()) {
    const envelope = parseEnvelope(readFileSync(FIXTURES + file));
    for (const item of envelope.items.filter((i) => i.headers.type === 'event')) {
      events.push({ name: file, event: JSON.parse(item.payload.toString('utf8')) as Json });
    }
  }
  return events;
}

/** Events the fixtures lack: a grammY handler error with Telegram context, sentry-python 2 shapes, HTTP and log events. */
export function handmadeEvents(): { name: string; event: Json }[] {
  return [
    {
      name: 'grammy-handler',
      event: {
        platform: 'node', level: 'error', environment: 'production', release: 'bot@1.4.2', transaction: 'bot.on(message:text)',
        exception: { values: [{ type: 'GrammyError', value: "Call to 'sendMessage' failed! (403: Forbidden: bot was blocked by the user)",
          mechanism: { type: 'generic', handled: true },
          stacktrace: { frames: [
            { filename: '/app/node_modules/grammy/out/core/client.js', function: 'ApiClient.callApi', lineno: 92, in_app: false },
            { filename: '/app/src/handlers/start.ts', module: 'handlers.start', function: 'onStart', lineno: 14, colno: 9, in_app: true,
              context_line: '    await ctx.reply(text);', pre_context: ['async function onStart(ctx) {'], post_context: ['}'] },
          ] } }] },
        breadcrumbs: { values: [{ timestamp: 1760116281.5, category: 'telegram', message: 'update 901', level: 'info', data: { update_type: 'message' } }] },
        contexts: { telegram: { update_id: 901, update_type: 'message', chat_id: -1001234567890, chat_type: 'supergroup', user_id: 42, username: 'ann' } },
        tags: { origin: 'handler', chat_type: 'supergroup' },
        user: { id: '42', username: 'ann' },
      },
    },
    {
      name: 'python2-no-in-app',
      event: {
        platform: 'python', level: 'error', server_name: 'bot-1', logger: 'bot',
        exception: { values: [{ type: 'KeyError', value: "'message'", mechanism: { type: 'logging', handled: true },
          stacktrace: { frames: [
            { filename: 'bot/main.py', abs_path: '/opt/bot/bot/main.py', module: 'bot.main', function: 'run', lineno: 40 },
            { filename: 'telegram/ext/_application.py', abs_path: '/opt/bot/.venv/lib/python3.11/site-packages/telegram/ext/_application.py', module: 'telegram.ext._application', function: 'process_update', lineno: 1100, in_app: false },
            { filename: 'bot/handlers.py', abs_path: '/opt/bot/bot/handlers.py', module: 'bot.handlers', function: 'handle_update', lineno: 12, context_line: '    return update["message"]["text"]' },
            { filename: 'json/decoder.py', abs_path: '/usr/lib/python3.11/json/decoder.py', module: 'json.decoder', function: 'raw_decode', lineno: 353 },
          ] } }] },
        request: { method: 'POST', url: 'https://bot.example/webhook', headers: { 'User-Agent': 'TelegramBot (like TwitterBot)', 'Content-Type': 'application/json' } },
      },
    },
    {
      name: 'http-error',
      event: {
        platform: 'node', message: 'Webhook answered 502', level: 'warning',
        request: { method: 'POST', url: 'https://bot.example/webhook/12345?x=1', headers: [['user-agent', 'TelegramBot'], ['Accept', '*/*']], query_string: [['x', '1']] },
        contexts: { response: { status_code: 502 } }, tags: [['http.status_code', '502'], ['origin', 'webhook']],
      },
    },
    {
      name: 'log-message',
      event: { logentry: { message: 'User %s not found', params: ['ann'], formatted: 'User ann not found' }, logger: 'bot.users', level: 'warning', fingerprint: ['{{ default }}', 'users'] },
    },
  ];
}

/**
 * `count` mutated events. The first ones go systematically over the paths the product reads: each
 * path once set to `{"toString": 1}` (an object that String() and template rendering choke on),
 * once to a random hostile value. The rest take 1 to 3 random mutations: half set a path the
 * product reads (creating its parents), the others replace or delete a path the event already
 * has. Deterministic for a seed.
 */
export function mutatedEvents({ seed, count, bases = [...fixtureEvents(), ...handmadeEvents()] }: { seed: number; count: number; bases?: { name: string; event: Json }[] }): MutatedEvent[] {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const pathsByBase = new Map(bases.map((b) => [b, existingPaths(b.event)]));
  const out: MutatedEvent[] = [];
  for (let n = 0; n < count; n++) {
    const base = pick(bases);
    const event = structuredClone(base.event);
    const steps: string[] = [];
    if (n < 2 * READ_PATHS.length) {
      const path = READ_PATHS[Math.floor(n / 2)]!;
      const value = n % 2 === 0 ? { toString: 1 } : pick(HOSTILE_VALUES);
      setPath(event, path, structuredClone(value));
      steps.push(`set ${path.join('.')} = ${describe(value)}`);
    }
    const mutations = n < 2 * READ_PATHS.length ? 0 : 1 + Math.floor(random() * 3);
    for (let m = 0; m < mutations; m++) {
      const roll = random();
      if (roll < 0.5) {
        const path = pick(READ_PATHS);
        const value = pick(HOSTILE_VALUES);
        setPath(event, path, structuredClone(value));
        steps.push(`set ${path.join('.')} = ${describe(value)}`);
      } else {
        const path = pick(pathsByBase.get(base)!);
        if (path.length === 0) continue;
        if (roll < 0.85) {
          const value = pick(HOSTILE_VALUES);
          setPath(event, path, structuredClone(value));
          steps.push(`set ${path.join('.')} = ${describe(value)}`);
        } else {
          deletePath(event, path);
          steps.push(`delete ${path.join('.')}`);
        }
      }
    }
    // As it travels: JSON has no holes in lists and no undefined.
    out.push({ event: JSON.parse(JSON.stringify(event)) as Json, description: `${base.name} #${n} (seed ${seed}): ${steps.join('; ')}` });
  }
  return out;
}

/** Every path in the event down to depth 8 (lists: their first three elements). */
function existingPaths(value: unknown, prefix: Segment[] = [], out: Segment[][] = []): Segment[][] {
  if (prefix.length >= 8 || value === null || typeof value !== 'object') return out;
  const entries: [Segment, unknown][] = Array.isArray(value) ? value.slice(0, 3).map((v, i) => [i, v]) : Object.entries(value);
  for (const [key, child] of entries) {
    out.push([...prefix, key]);
    existingPaths(child, [...prefix, key], out);
  }
  return out;
}

function setPath(root: Json, path: readonly Segment[], value: unknown): void {
  let node: Json | unknown[] = root;
  path.forEach((segment, i) => {
    const last = i === path.length - 1;
    const container = node as Record<Segment, unknown>;
    if (last) {
      Object.defineProperty(container, segment, { value, enumerable: true, writable: true, configurable: true });
      return;
    }
    let child = Object.hasOwn(container, segment) ? container[segment] : undefined;
    if (child === null || typeof child !== 'object') {
      child = typeof path[i + 1] === 'number' ? [] : {};
      Object.defineProperty(container, segment, { value: child, enumerable: true, writable: true, configurable: true });
    }
    node = child as Json;
  });
}

function deletePath(root: Json, path: readonly Segment[]): void {
  let node: unknown = root;
  for (const segment of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return;
    node = (node as Record<Segment, unknown>)[segment];
  }
  if (node !== null && typeof node === 'object') {
    const key = path.at(-1)!;
    if (Array.isArray(node) && typeof key === 'number') node.splice(key, 1);
    else delete (node as Record<Segment, unknown>)[key];
  }
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}
