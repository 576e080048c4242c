/**
 * Turns a Sentry event of any real shape into the NormalizedEvent the store writes and the rules
 * read. Old and third-party SDKs send other shapes (bare-list `exception`, `[k, v]` tags, epoch
 * timestamps, `message` objects), and some send wrong ones (`frames: 5`, an object as a frame's
 * `function`): the payload first goes through normalizePayload (shape.ts), which gives every
 * field Botpulse reads its documented shape, and the fields here are read from that. Everything
 * is capped, so a hostile event cannot make a row big.
 *
 * Run it on a SCRUBBED event: the title, message and tags are copied out of the payload as is.
 */
import { randomUUID } from 'node:crypto';
import type { SentryEventPayload, SentryException, SentryStackFrame, TelegramContext } from '@botpulse/protocol';
import { routePattern } from '../grouping/parameterize.js';
import { normalizePayload, type EventPayload } from './shape.js';
import type { Level, NormalizedEvent, RequestInfo } from '../store/model.js';

export interface NormalizeOptions {
  /** From the envelope header; wins over the payload's `event_id` (Sentry spec). */
  eventId?: string;
  /** When the server received the event, ms since epoch. */
  receivedAt: number;
}

export const MAX_TITLE_LENGTH = 200;
export const MAX_TAG_LENGTH = 200;
export const MAX_TAGS = 64;
export const MAX_MESSAGE_LENGTH = 4096;
const MAX_SHORT_LENGTH = 200;
const MAX_URL_LENGTH = 2000;
const MAX_USER_AGENT_LENGTH = 500;
/** Relay's window: an SDK clock outside it is wrong, and the receipt time is the better guess. */
const MAX_PAST_MS = 30 * 24 * 3600 * 1000;
const MAX_FUTURE_MS = 60 * 1000;
const UNLABELED_TITLE = '<unlabeled event>';
/** Sentry's type for an exception that names none. */
const DEFAULT_EXCEPTION_TYPE = 'Error';

/**
 * Normalises one event. `payload` is the event in the shapes of normalizePayload (`exception` and
 * `breadcrumbs` as `{values: [...]}`, the normalised `event_id`, what was changed in `_meta`);
 * the caller's object is not modified.
 */
export function normalizeEvent(event: SentryEventPayload, opts: NormalizeOptions): NormalizedEvent {
  const eventId = normalizeEventId(opts.eventId) ?? normalizeEventId(event.event_id) ?? randomHexId();
  const payload = normalizePayload(event, { eventId });
  const exceptions = payload.exception?.values ?? [];
  const thrown = exceptions.at(-1);
  // From the event as sent, as before the shape pass: the order and caps of flattenTags decide
  // which tags are indexed, and existing issues' tag summaries must keep counting the same ones.
  const tags = flattenTags(event.tags);
  const telegram = telegramContext(payload, tags);
  const message = formattedMessage(payload);
  return {
    eventId,
    timestamp: normalizeTimestamp(event.timestamp, opts.receivedAt),
    level: normalizeLevel(event.level),
    platform: shortString(payload.platform),
    environment: shortString(payload.environment),
    release: shortString(payload.release),
    serverName: shortString(payload.server_name),
    transaction: shortString(payload.transaction),
    origin: originOf(payload, tags),
    title: titleOf(exceptions, message),
    culprit: culpritOf(payload, exceptions),
    message: message === null ? null : cap(message, MAX_MESSAGE_LENGTH),
    exceptionType: shortString(thrown?.type),
    exceptionValue: typeof thrown?.value === 'string' ? cap(thrown.value, MAX_MESSAGE_LENGTH) : null,
    userKey: userKeyOf(payload, telegram),
    telegram,
    request: requestInfo(payload, tags),
    tags,
    payload,
  };
}

// ---- identity and time -------------------------------------------------------------------------

const HEX_ID = /^[0-9a-f]{32}$/;

/** 32 lowercase hex; dashed UUIDs and upper case accepted; anything else is null. */
export function normalizeEventId(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const id = value.replace(/-/g, '').toLowerCase();
  return HEX_ID.test(id) ? id : null;
}

function randomHexId(): string {
  return randomUUID().replace(/-/g, '');
}

/** RFC 3339 string or epoch seconds (float) → ms; outside [-30 days, +1 min] of receipt → receipt. */
export function normalizeTimestamp(value: unknown, receivedAt: number): number {
  const ms = parseTimestamp(value);
  if (ms === null || ms > receivedAt + MAX_FUTURE_MS || ms < receivedAt - MAX_PAST_MS) return receivedAt;
  return ms;
}

function parseTimestamp(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? epochToMs(value) : null;
  if (typeof value !== 'string' || value.trim() === '') return null;
  const numeric = Number(value);
  if (Number.isFinite(numeric)) return epochToMs(numeric);
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

/** Sentry sends seconds; a few clients send milliseconds (a seconds value that big is year 5138). */
function epochToMs(epoch: number): number {
  return Math.round(epoch > 1e11 ? epoch : epoch * 1000);
}

// ---- level -------------------------------------------------------------------------------------

/** A Map, not an object literal: `constructor` must not find Object's. */
const LEVELS = new Map<string, Level>(
  Object.entries({
    fatal: 'fatal', critical: 'fatal', crit: 'fatal', emergency: 'fatal', emerg: 'fatal', alert: 'fatal', panic: 'fatal',
    error: 'error', err: 'error', exception: 'error', severe: 'error',
    warning: 'warning', warn: 'warning',
    info: 'info', information: 'info', informational: 'info', notice: 'info', log: 'info',
    debug: 'debug', trace: 'debug', verbose: 'debug', fine: 'debug', finer: 'debug', finest: 'debug', notset: 'debug',
  } satisfies Record<string, Level>),
);

/** Sentry levels, their synonyms and Python logging's numbers (50 CRITICAL … 10 DEBUG); unknown → error. */
export function normalizeLevel(value: unknown): Level {
  if (typeof value === 'number') return levelFromNumber(value);
  if (typeof value !== 'string') return 'error';
  const name = value.trim().toLowerCase();
  return LEVELS.get(name) ?? (/^\d+$/.test(name) ? levelFromNumber(Number(name)) : 'error');
}

function levelFromNumber(n: number): Level {
  if (n >= 50) return 'fatal';
  if (n >= 40) return 'error';
  if (n >= 30) return 'warning';
  if (n >= 20) return 'info';
  return 'debug';
}

// ---- what happened -----------------------------------------------------------------------------

/**
 * One line, as Sentry titles events: `Type: first line of value` of the thrown (last) exception;
 * without an exception, the message's first line. An exception that names neither its type nor
 * its value (Relay removes such an exception, and Sentry titles the event by what is left) is
 * titled by the nearest exception of its chain that does, else by the message, else by the
 * function of the crash frame (Sentry's title for an exception whose type says nothing; the
 * culprit's frame, else the newest frame that names one), else `Error` (Sentry's type for an
 * exception that names none).
 */
function titleOf(exceptions: SentryException[], message: string | null): string {
  if (exceptions.length === 0) return cap(firstLine(message) ?? UNLABELED_TITLE, MAX_TITLE_LENGTH);
  const labelled = exceptions.findLast((e) => exceptionLabel(e) !== null);
  const title = (labelled && exceptionLabel(labelled)) ?? firstLine(message) ?? crashFunction(exceptions) ?? DEFAULT_EXCEPTION_TYPE;
  return cap(title, MAX_TITLE_LENGTH);
}

function exceptionLabel(exception: SentryException): string | null {
  const type = nonEmpty(exception.type);
  const value = firstLine(exception.value);
  return type !== null && value !== null ? `${type}: ${value}` : (type ?? value);
}

/** Function names that name nothing (Sentry's crash-frame filter, plus JavaScript's). */
const UNNAMED_FUNCTIONS = new Set(['<redacted>', '<unknown>', '?', '<anonymous>', 'anonymous']);

/** The function of the crash frame: the culprit's frames first, then (as Sentry) any frame, newest first. */
function crashFunction(exceptions: SentryException[]): string | null {
  const anyFrame = framesOf(exceptions.findLast((e) => framesOf(e).length > 0)).toReversed();
  for (const frame of [...crashSiteOutward(exceptions), ...anyFrame]) {
    const fn = nonEmpty(frame.function);
    if (fn !== null && !UNNAMED_FUNCTIONS.has(fn)) return fn;
  }
  return null;
}

/**
 * Where, as Sentry's culprit: `module in function` of the first frame, from the crash site
 * outward, that is the bot's own code: an in-app frame; when the SDK marked none in-app
 * (sentry-python 2 marks only frames under its project root, so a bot started from another
 * directory has none), the first frame that is not library code (see isLibraryFrame). Without
 * such a frame, the SDK's culprit or the transaction.
 */
function culpritOf(event: EventPayload, exceptions: SentryException[]): string | null {
  for (const frame of crashSiteOutward(exceptions)) {
    const culprit = frameCulprit(frame);
    if (culprit !== null) return culprit;
  }
  return shortString(event.culprit) ?? shortString(event.transaction);
}

function frameCulprit(frame: SentryStackFrame): string | null {
  const where = nonEmpty(frame.module) ?? nonEmpty(frame.filename) ?? nonEmpty(frame.abs_path);
  const fn = nonEmpty(frame.function);
  const culprit = where !== null && fn !== null ? `${where} in ${fn}` : (where ?? fn);
  return culprit === null ? null : cap(culprit, MAX_SHORT_LENGTH);
}

/**
 * The frames that may stand for the crash site, best first: of the last exception that has a
 * stack (Sentry's choice), the in-app frames newest first; if none, the frames that are not
 * library code, newest first.
 */
function crashSiteOutward(exceptions: SentryException[]): SentryStackFrame[] {
  const frames = framesOf(exceptions.findLast((e) => framesOf(e).length > 0)).toReversed();
  const inApp = frames.filter((f) => f.in_app === true);
  return inApp.length > 0 ? inApp : frames.filter((f) => !isLibraryFrame(f));
}

/**
 * Python's standard library (`/usr/lib/python3.11/`, `C:\Python311\Lib\`, `<frozen …>`), site- and
 * dist-packages, node_modules and Node's internals.
 */
const LIBRARY_FILE = /[\\/](?:site-packages|dist-packages|node_modules)[\\/]|[\\/]lib[\\/]python\d+(?:\.\d+)?[\\/]|[\\/]python\d+[\\/]lib[\\/]|^<frozen |^node:|^internal[\\/]/i;

/** A frame the SDK marked not in-app, or one whose file is library code by its path. */
export function isLibraryFrame(frame: SentryStackFrame): boolean {
  if (frame.in_app === false) return true;
  return [frame.abs_path, frame.filename].some((file) => typeof file === 'string' && LIBRARY_FILE.test(file));
}

/** The rendered message: `logentry`/`message` object's `formatted`, else its template, else a string. */
function formattedMessage(event: EventPayload): string | null {
  for (const entry of [event.logentry, event.message]) {
    if (typeof entry === 'string') {
      if (nonEmpty(entry) !== null) return entry;
    } else if (isRecord(entry)) {
      const text = nonEmptyRaw(entry.formatted) ?? nonEmptyRaw(entry.message);
      if (text !== null) return text;
    }
  }
  return null;
}

function originOf(event: EventPayload, tags: Record<string, string>): string | null {
  const botpulse = event.contexts?.botpulse;
  const origin = nonEmpty(tags.origin) ?? (isRecord(botpulse) ? shortString(botpulse.origin) : null);
  if (origin !== null) return cap(origin, MAX_SHORT_LENGTH);
  return isRecord(event.contexts?.telegram) ? 'handler' : null;
}

// ---- who ---------------------------------------------------------------------------------------

const TELEGRAM_NUMBER_FIELDS = ['update_id'] as const;
const TELEGRAM_ID_FIELDS = ['chat_id', 'user_id', 'group_id'] as const;
const TELEGRAM_TEXT_FIELDS = [
  'update_type', 'chat_type', 'username', 'first_name', 'last_name', 'language_code', 'role',
] as const;

/** `contexts.telegram` (the Botpulse SDK's), else tags like `chat_id`, `user_id`, `update_id`. */
function telegramContext(event: EventPayload, tags: Record<string, string>): TelegramContext | null {
  const fromContext = event.contexts?.telegram;
  const source: Record<string, unknown> = isRecord(fromContext) ? fromContext : telegramTags(tags);
  const context: TelegramContext = {};
  for (const field of TELEGRAM_NUMBER_FIELDS) {
    const n = toSafeInteger(source[field]);
    if (n !== null) context[field] = n;
  }
  for (const field of TELEGRAM_ID_FIELDS) {
    const id = telegramId(source[field]);
    if (id !== null) context[field] = id;
  }
  for (const field of TELEGRAM_TEXT_FIELDS) {
    const text = shortString(source[field]);
    if (text !== null) context[field] = text;
  }
  if (typeof source.duplicate === 'boolean') context.duplicate = source.duplicate;
  return Object.keys(context).length > 0 ? context : null;
}

/** Tags `chat_id`, `telegram.chat_id` or `tg.chat_id` (first found) for each context field. */
function telegramTags(tags: Record<string, string>): Record<string, unknown> {
  const fields = [...TELEGRAM_NUMBER_FIELDS, ...TELEGRAM_ID_FIELDS, ...TELEGRAM_TEXT_FIELDS];
  const found: Record<string, unknown> = {};
  for (const field of fields) {
    const value = tags[field] ?? tags[`telegram.${field}`] ?? tags[`tg.${field}`];
    if (value !== undefined) found[field] = value;
  }
  return found;
}

/** Ids as numbers when they are safe integers (chat ids like -1001234567890 are), else strings. */
function telegramId(value: unknown): number | string | null {
  return toSafeInteger(value) ?? shortString(value);
}

/** For "users affected": the Telegram user first, then what the SDK's `user` says. */
function userKeyOf(event: EventPayload, telegram: TelegramContext | null): string | null {
  if (telegram?.user_id !== undefined) return `tg:${telegram.user_id}`;
  const user = event.user;
  if (!isRecord(user)) return null;
  const id = typeof user.id === 'number' ? String(user.id) : shortString(user.id);
  const candidates: [string, string | null][] = [
    ['id', id],
    ['username', shortString(user.username)],
    ['email', shortString(user.email)],
    ['ip', realIp(user.ip_address)],
  ];
  const found = candidates.find(([, value]) => value !== null);
  return found === undefined ? null : cap(`${found[0]}:${found[1]}`, MAX_SHORT_LENGTH);
}

/** `{{auto}}` asks Sentry to fill in the sender's address; it is not an address. */
function realIp(value: unknown): string | null {
  const ip = shortString(value);
  return ip === null || ip.startsWith('{{') ? null : ip;
}

// ---- request -----------------------------------------------------------------------------------

function requestInfo(event: EventPayload, tags: Record<string, string>): RequestInfo | null {
  const request = isRecord(event.request) ? event.request : null;
  const statusCode = statusCodeOf(event, tags);
  if (request === null && statusCode === null) return null;
  const url = typeof request?.url === 'string' && request.url !== '' ? cap(request.url, MAX_URL_LENGTH) : null;
  const env = isRecord(request?.env) ? request.env : {};
  return {
    method: shortString(request?.method)?.toUpperCase().slice(0, 16) ?? null,
    url,
    urlPattern: url === null ? null : cap(routePattern(url), MAX_URL_LENGTH),
    statusCode,
    ip: realIp(env.REMOTE_ADDR) ?? (isRecord(event.user) ? realIp(event.user.ip_address) : null),
    userAgent: headerValue(request?.headers, 'user-agent', MAX_USER_AGENT_LENGTH),
  };
}

function statusCodeOf(event: EventPayload, tags: Record<string, string>): number | null {
  const response = event.contexts?.response;
  for (const candidate of [isRecord(response) ? response.status_code : undefined, tags['http.status_code'], tags.status_code]) {
    const code = toSafeInteger(candidate);
    if (code !== null && code >= 100 && code <= 599) return code;
  }
  return null;
}

/** Header names are case-insensitive. */
function headerValue(headers: Record<string, string> | undefined, name: string, maxLength: number): string | null {
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key.toLowerCase() === name) return value !== '' ? cap(value, maxLength) : null;
  }
  return null;
}

// ---- tags --------------------------------------------------------------------------------------

/** Object or `[key, value]` list → string map; keys and values capped, at most MAX_TAGS. */
export function flattenTags(tags: unknown): Record<string, string> {
  const entries: unknown[] = Array.isArray(tags) ? tags : isRecord(tags) ? Object.entries(tags) : [];
  const flat: [string, string][] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (flat.length >= MAX_TAGS) break;
    if (!Array.isArray(entry) || entry.length < 2) continue;
    const key = typeof entry[0] === 'string' ? cap(entry[0].trim(), MAX_TAG_LENGTH) : null;
    const value = tagString(entry[1]);
    if (!key || value === null || seen.has(key)) continue;
    seen.add(key);
    flat.push([key, value]);
  }
  return Object.fromEntries(flat); // own data properties even for a `__proto__` key
}

function tagString(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = typeof value === 'string' ? value : typeof value === 'object' ? safeJson(value) : String(value);
  return cap(text, MAX_TAG_LENGTH);
}

// ---- payload -----------------------------------------------------------------------------------

function framesOf(exception: SentryException | undefined): SentryStackFrame[] {
  return exception?.stacktrace?.frames ?? [];
}

// ---- small readers -----------------------------------------------------------------------------

function shortString(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  const text = nonEmpty(value);
  return text === null ? null : cap(text, MAX_SHORT_LENGTH);
}

function nonEmpty(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

/** Non-blank, but not trimmed: a message keeps its layout. */
function nonEmptyRaw(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

function firstLine(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  for (const line of value.slice(0, 4 * MAX_TITLE_LENGTH).split('\n')) {
    const trimmed = line.trim();
    if (trimmed !== '') return trimmed;
  }
  return null;
}

function toSafeInteger(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

/** Cuts at a code-point boundary so a capped string stays valid UTF-16. */
function cap(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '[unserializable]';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
