// Fills a Botpulse SQLite file with a realistic error history through the server's own digester and
// batch writer in big transactions (benchmarks/lib/bulk-seed.mjs; the HTTP intake and the spool
// would take far longer and are measured by the ingest benchmark).
// Issues follow a power law: a few issues carry most events, as in real bots.
import { brotliCompressSync, constants } from 'node:zlib';
import { BulkSeeder, seedEvents } from '../lib/bulk-seed.mjs';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const EXCEPTIONS = [
  ['TypeError', "Cannot read properties of undefined (reading 'balance')"],
  ['GrammyError', "Call to 'sendMessage' failed! (403: Forbidden: bot was blocked by the user)"],
  ['GrammyError', "Call to 'editMessageText' failed! (400: Bad Request: message is not modified)"],
  ['HttpError', 'Network request for getUpdates failed: ETIMEDOUT'],
  ['TimeoutError', 'Timeout talking to payments after 30000ms'],
  ['KeyError', "'user_id'"],
  ['SequelizeConnectionError', 'Connection terminated unexpectedly'],
  ['RangeError', 'Maximum call stack size exceeded'],
  ['Error', 'Too Many Requests: retry after 17'],
  ['ValidationError', 'amount must be a positive number'],
];
const MODULES = ['payments', 'handlers/start', 'handlers/generate', 'workers/queue', 'miniapp/api', 'webhook', 'scheduler/daily', 'db/accounts'];
const FUNCTIONS = ['chargeUser', 'onStart', 'generateImage', 'processJob', 'handleCallback', 'sendDigest', 'loadAccount', 'renderMenu'];
const ORIGINS = ['handler', 'webhook', 'worker', 'miniapp', 'http', 'scheduler'];
const CHAT_TYPES = ['private', 'group', 'supergroup', 'channel'];

/** A deterministic generator so every run seeds the same data. */
export function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296);
}

export function payloadFor(i, rand) {
  const [type, value] = EXCEPTIONS[i % EXCEPTIONS.length];
  const frames = framesFor(i);
  const event = {
    event_id: (i.toString(16) + '0'.repeat(32)).slice(0, 32),
    platform: 'node',
    level: 'error',
    release: `bot@1.${i % 20}.0`,
    environment: 'production',
    exception: { values: [{ type, value, stacktrace: { frames } }] },
    contexts: { telegram: { update_id: 100000 + i, chat_id: Math.floor(rand() * 1e9), user_id: Math.floor(rand() * 1e9), chat_type: 'private' }, runtime: { name: 'node', version: 'v20.19.0' } },
    breadcrumbs: { values: Array.from({ length: 6 }, (_, b) => ({ timestamp: 1.7e9 + b, category: 'telegram', message: `update ${100000 + i + b}: /pay ${b * 10}` })) },
    tags: { origin: ORIGINS[i % ORIGINS.length], chat_type: CHAT_TYPES[i % CHAT_TYPES.length], gen_request_id: `gen-${i}` },
    user: { id: String(i) },
  };
  // The server's payload encoding (packages/server/src/store/payload.ts): brotli quality 0.
  return brotliCompressSync(JSON.stringify(event), { params: { [constants.BROTLI_PARAM_QUALITY]: 0 } });
}

/** A deterministic 0..1 value per integer (issue attributes that must not depend on seeding order). */
function unit(n, salt) {
  let h = (Math.imul(n ^ salt, 2654435761) ^ (n >>> 15)) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 1274126177) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

const LEVELS = [['fatal', 0.02], ['error', 0.72], ['warning', 0.92], ['info', 1]];
const STATUSES = [['new', 0.6], ['in_progress', 0.7], ['resolved', 0.9], ['ignored', 1]];
const pick = (table, x) => table.find(([, p]) => x < p)[0];

/**
 * Event `k` of issue `i` at time `t` (ms), as an SDK sends it. One issue per `i` (an explicit
 * fingerprint); its exception, level, origin, release, environment and tags depend on `i` only, so
 * the issue rows come out as the old direct seed made them; users and Telegram ids on `k`.
 */
export function dashboardEvent(k, i, t) {
  const [type, value] = EXCEPTIONS[i % EXCEPTIONS.length];
  const origin = ORIGINS[i % ORIGINS.length];
  const tags = { origin, chat_type: CHAT_TYPES[i % CHAT_TYPES.length] };
  if (origin === 'http') tags['http.status_code'] = String([500, 502, 503, 404, 429][i % 5]);
  return {
    event_id: k.toString(16).padStart(32, '0'),
    timestamp: t / 1000,
    platform: 'node',
    level: pick(LEVELS, unit(i, 1)),
    release: `bot@1.${i % 20}.0`,
    environment: i % 10 === 0 ? 'staging' : 'production',
    fingerprint: ['bench', String(i)],
    exception: { values: [{ type, value: `${value} (${FUNCTIONS[i % FUNCTIONS.length]} #${i})`, stacktrace: { frames: framesFor(i) } }] },
    contexts: { telegram: { update_id: 100000 + k, chat_id: k % 1_000_000, user_id: k % 50_000, chat_type: CHAT_TYPES[i % CHAT_TYPES.length] }, runtime: { name: 'node', version: 'v20.19.0' } },
    breadcrumbs: { values: Array.from({ length: 6 }, (_, b) => ({ timestamp: t / 1000 - 6 + b, category: 'telegram', message: `update ${100000 + k + b}: /pay ${b * 10}` })) },
    tags,
  };
}

/** Event `k` as a seeder item: issue `i`'s template, with the columns that are the event's own. */
export function dashboardItem(k, i, t, projects) {
  return {
    projectId: (i % projects) + 1,
    receivedAt: t,
    template: i,
    event: () => dashboardEvent(k, i, t),
  };
}

function framesFor(i) {
  return Array.from({ length: 8 }, (_, f) => ({
    filename: f < 3 ? `node_modules/grammy/out/composer.js` : `/app/src/${MODULES[(i + f) % MODULES.length]}.js`,
    function: FUNCTIONS[(i + f) % FUNCTIONS.length],
    lineno: 10 + ((i * 7 + f * 13) % 400),
    colno: 5,
    in_app: f >= 3,
    pre_context: ['  const account = await loadAccount(ctx.from.id);', '  log.debug({ amount }, "charging");'],
    context_line: '  if (account.wallet.balance < amount) {',
    post_context: ['    return ctx.reply("Not enough funds");', '  }'],
  }));
}

/** Which issue each event goes to and when: timestamps over 30 days (denser recently), issues by a power law. */
export function eventPlan({ issues, events, now }) {
  const rand = rng(42);
  const start = now - 30 * DAY;
  const eventIssue = new Uint32Array(events);
  const eventTime = new Float64Array(events);
  for (let k = 0; k < events; k++) {
    eventIssue[k] = Math.floor(issues * Math.pow(rand(), 2.2));
    eventTime[k] = Math.round(start + Math.pow(k / events, 0.8) * 30 * DAY);
  }
  // Every issue has at least one event: the first `issues` events are spread over all issues.
  for (let i = 0; i < issues; i++) eventIssue[Math.floor((i / issues) * events)] = i;
  return { start, eventIssue, eventTime };
}

/**
 * Seeds through benchmarks/lib/bulk-seed.mjs (the server's digester and batch writer): projects
 * first, then the events (issues are created by their first event, as in production), then the
 * people's side the digest never writes: statuses and GitHub links, set as triage would.
 * @param {{ dist: string, file: string, issues: number, events: number, projects: number, now: number, log: (s: string) => void, batch?: number }} opts
 */
export async function seed({ dist, file, issues, events, projects, now, log, batch }) {
  const seeder = await BulkSeeder.open(dist, file);
  const { start, eventIssue, eventTime } = eventPlan({ issues, events, now });
  const { db } = seeder;
  createProjects(db, projects, start);
  log(`  projects: ${projects}`);
  const seconds = seedEvents(seeder, events, (k) => {
    const i = eventIssue[k];
    return dashboardItem(k, i, eventTime[k], projects);
  }, { log, batch, every: Math.max(100_000, Math.round(events / 20)) });
  triage(db);
  log(`  issues: ${db.prepare('SELECT COUNT(*) FROM issues').pluck().get().toLocaleString('en-US')}, triaged`);
  seeder.close();
  return { seconds, rate: events / seconds };
}

/** Projects bot-1..bot-N (ids 1..N), as `botpulse project create` would make them. */
export function createProjects(db, projects, start) {
  db.transaction(() => {
    const insertProject = db.prepare(
      `INSERT INTO projects (slug, name, public_key, short_id_prefix, next_short_id, created_at) VALUES (?, ?, ?, ?, 1, ?)`,
    );
    for (let p = 1; p <= projects; p++) insertProject.run(`bot-${p}`, `Bot ${p}`, p.toString(16).padStart(32, '0'), `B${p}`, start);
  })();
}

/** Statuses and GitHub links by issue number (deterministic), as people would set them. */
export function triage(db) {
  const ids = db.prepare('SELECT id, fingerprint FROM issues').all();
  const setStatus = db.prepare(`UPDATE issues SET status = ?, resolved_at = CASE WHEN ? = 'resolved' THEN last_seen END, github_url = ? WHERE id = ?`);
  db.transaction(() => {
    for (const { id } of ids) {
      const status = pick(STATUSES, unit(id, 2));
      setStatus.run(status, status, unit(id, 3) < 0.05 ? `https://github.com/acme/bot/issues/${id}` : null, id);
    }
  })();
}
