// Fills a Botpulse SQLite file with a realistic error history, straight through better-sqlite3 in
// big transactions (the digest would take far longer and is measured by the ingest benchmark).
// Issues follow a power law: a few issues carry most events, as in real bots.
import { createRequire } from 'node:module';
import { brotliCompressSync, constants } from 'node:zlib';

const require = createRequire(import.meta.url);
const Sqlite = require('better-sqlite3');

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
  const frames = Array.from({ length: 8 }, (_, f) => ({
    filename: f < 3 ? `node_modules/grammy/out/composer.js` : `/app/src/${MODULES[(i + f) % MODULES.length]}.js`,
    function: FUNCTIONS[(i + f) % FUNCTIONS.length],
    lineno: 10 + ((i * 7 + f * 13) % 400),
    colno: 5,
    in_app: f >= 3,
    pre_context: ['  const account = await loadAccount(ctx.from.id);', '  log.debug({ amount }, "charging");'],
    context_line: '  if (account.wallet.balance < amount) {',
    post_context: ['    return ctx.reply("Not enough funds");', '  }'],
  }));
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

/**
 * @param {string} file  database file, already migrated by SqliteStore.open
 * @param {{ issues: number, events: number, projects: number, now: number, log: (s: string) => void }} opts
 */
export function seed(file, { issues, events, projects, now, log }) {
  const db = new Sqlite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const rand = rng(42);
  const start = now - 30 * DAY;

  // Events: timestamps spread over 30 days (denser recently), issues by a power law.
  const eventIssue = new Uint32Array(events);
  const eventTime = new Float64Array(events);
  for (let k = 0; k < events; k++) {
    eventIssue[k] = Math.floor(issues * Math.pow(rand(), 2.2));
    eventTime[k] = start + Math.pow(k / events, 0.8) * 30 * DAY;
  }
  // Every issue has at least one event: the first `issues` events are spread over all issues.
  for (let i = 0; i < issues; i++) eventIssue[Math.floor((i / issues) * events)] = i;
  const count = new Uint32Array(issues), first = new Float64Array(issues).fill(Infinity), last = new Float64Array(issues);
  for (let k = 0; k < events; k++) {
    const i = eventIssue[k];
    count[i]++;
    if (eventTime[k] < first[i]) first[i] = eventTime[k];
    if (eventTime[k] > last[i]) last[i] = eventTime[k];
  }

  db.transaction(() => {
    const insertProject = db.prepare(
      `INSERT INTO projects (slug, name, public_key, short_id_prefix, next_short_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    for (let p = 1; p <= projects; p++) insertProject.run(`bot-${p}`, `Bot ${p}`, p.toString(16).padStart(32, '0'), `B${p}`, Math.ceil(issues / projects) + 1, start);
  })();
  log(`  projects: ${projects}`);

  const insertIssue = db.prepare(
    `INSERT INTO issues (id, project_id, short_number, grouping_version, fingerprint, title, culprit, level, status, origin,
       first_seen, last_seen, event_count, user_count, first_release, last_release, github_url, http_status)
     VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertTag = db.prepare('INSERT INTO issue_tags (issue_id, key, value, count, last_seen) VALUES (?, ?, ?, ?, ?)');
  const LEVELS = [['fatal', 0.02], ['error', 0.72], ['warning', 0.92], ['info', 1]];
  const STATUSES = [['new', 0.6], ['in_progress', 0.7], ['resolved', 0.9], ['ignored', 1]];
  const pick = (table, x) => table.find(([, p]) => x < p)[0];
  db.transaction(() => {
    for (let i = 0; i < issues; i++) {
      const id = i + 1;
      const project = (i % projects) + 1;
      const [type, value] = EXCEPTIONS[i % EXCEPTIONS.length];
      const origin = ORIGINS[i % ORIGINS.length];
      const http = origin === 'http' ? [500, 502, 503, 404, 429][i % 5] : null;
      const release = `bot@1.${i % 20}.0`;
      insertIssue.run(
        id, project, Math.floor(i / projects) + 1, `fp-${i}`, `${type}: ${value} (${FUNCTIONS[i % FUNCTIONS.length]} #${i})`,
        `${MODULES[i % MODULES.length]} in ${FUNCTIONS[i % FUNCTIONS.length]}`, pick(LEVELS, rand()), pick(STATUSES, rand()), origin,
        Math.round(first[i]), Math.round(last[i]), count[i], Math.max(1, Math.round(count[i] * 0.6)), release, release,
        rand() < 0.05 ? `https://github.com/acme/bot/issues/${i}` : null, http,
      );
      for (const [key, val] of [['environment', i % 10 === 0 ? 'staging' : 'production'], ['release', release], ['chat_type', CHAT_TYPES[i % 4]], ['origin', origin]]) {
        insertTag.run(id, key, val, count[i], Math.round(last[i]));
      }
    }
  })();
  log(`  issues: ${issues.toLocaleString('en-US')} (+ ${(issues * 4).toLocaleString('en-US')} tag rows)`);

  const payloads = Array.from({ length: 2000 }, (_, i) => payloadFor(i, rand));
  const insertEvent = db.prepare(
    `INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, level, environment, release, origin, title, message,
       user_key, tg_chat_id, tg_user_id, tg_update_id, http_status, url_pattern, tags, payload)
     VALUES (?, ?, ?, ?, ?, 'error', 'production', ?, ?, ?, NULL, ?, ?, ?, ?, NULL, NULL, ?, ?)`,
  );
  const BATCH = 100_000;
  for (let from = 0; from < events; from += BATCH) {
    db.transaction(() => {
      for (let k = from; k < Math.min(events, from + BATCH); k++) {
        const i = eventIssue[k];
        const t = Math.round(eventTime[k]);
        const tags = `{"origin":"${ORIGINS[i % ORIGINS.length]}","chat_type":"${CHAT_TYPES[i % 4]}","gen_request_id":"gen-${k}"}`;
        insertEvent.run(
          (i % projects) + 1, i + 1, k.toString(16).padStart(32, '0'), t, t, `bot@1.${i % 20}.0`, ORIGINS[i % ORIGINS.length],
          `${EXCEPTIONS[i % EXCEPTIONS.length][0]}: ${EXCEPTIONS[i % EXCEPTIONS.length][1]}`, `tg:${k % 50_000}`, String(k % 1e6), String(k % 50_000), k, tags,
          payloads[k % payloads.length],
        );
      }
    })();
    log(`  events: ${Math.min(events, from + BATCH).toLocaleString('en-US')}`);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}
