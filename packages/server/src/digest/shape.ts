/**
 * Gives every part of a Sentry event that Botpulse reads, displays or alerts on its documented
 * shape, whatever the client sent: `frames` that are a number, a frame whose `function` is an
 * object, `request.headers` as a list of non-pairs, a breadcrumb `timestamp` of 1e13. Readers of
 * the result (the dashboard, the API, the alert formatter) can then trust the types.
 *
 * The rules, field by field, are in docs/architecture.md ("Event shapes"). In short: a text field
 * holding a number or boolean becomes its text; a field holding a value of the wrong kind (an
 * object where text belongs, a string where a list belongs) is removed; a list loses the elements
 * of the wrong kind. Nothing the client sent is lost: every value removed or rewritten is kept,
 * as sent, in the payload's `_meta`, under the same path (Sentry's convention:
 * `{"": {"err": [["invalid_data", {"reason": ...}]], "val": <as sent>}}`).
 *
 * The function is total (it never throws on JSON input) and idempotent, so it also runs when a
 * stored payload is read: events stored before it existed are shown through it too.
 *
 * Grouping does NOT read this: grouping v1 is frozen and reads the event as sent (digest/process.ts).
 */
import type { SentryBreadcrumb, SentryEvent, SentryException, SentryRequest, SentryStackFrame, SentryUser } from '@botpulse/protocol';

/** A Sentry event in the shapes docs/architecture.md documents; other fields are as sent. */
export interface EventPayload extends SentryEvent {
  exception?: { values: SentryException[] };
  breadcrumbs?: { values: SentryBreadcrumb[] };
  tags?: Record<string, string>;
  fingerprint?: string[];
  request?: SentryRequest & { headers?: Record<string, string> };
  user?: SentryUser & { id?: string };
  contexts?: Record<string, Record<string, unknown>>;
  extra?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

type Json = Record<string, unknown>;
type Segment = string | number;

/**
 * Where a value sits in the event: a chain of keys, so that reading a field costs one small
 * object, and the list of keys is built only for a change (this runs on every digested event).
 */
interface Path {
  readonly up: Path | null;
  readonly key: Segment;
}

const at = (up: Path | null, key: Segment): Path => ({ up, key });

function segments(path: Path): Segment[] {
  const keys: Segment[] = [];
  for (let node: Path | null = path; node !== null; node = node.up) keys.push(node.key);
  return keys.reverse();
}

/** What the pass changed: each value as sent, by path. */
class Changes {
  readonly entries: { path: Segment[]; reason: string; original: unknown }[] = [];

  record(path: Path, reason: string, original: unknown): void {
    this.entries.push({ path: segments(path), reason, original });
  }
}

/** The event with its read fields in their documented shapes; never throws, never modifies `event`. */
export function normalizePayload(event: unknown, options: { eventId?: string } = {}): EventPayload {
  const source: Json = isRecord(event) ? event : {};
  const changes = new Changes();
  const payload: Json = { ...source };
  if (options.eventId !== undefined) payload.event_id = options.eventId;

  for (const key of TOP_LEVEL_TEXT) setField(payload, key, text(own(source, key), at(null, key), changes));
  for (const key of TOP_LEVEL_TIMES) setField(payload, key, timestampField(own(source, key), at(null, key), changes));
  for (const key of TOP_LEVEL_RECORDS) setField(payload, key, record(own(source, key), at(null, key), changes));
  setField(payload, 'message', messageField(own(source, 'message'), at(null, 'message'), changes));
  setField(payload, 'logentry', logEntry(own(source, 'logentry'), at(null, 'logentry'), changes));
  setField(payload, 'exception', container(own(source, 'exception'), at(null, 'exception'), changes, exception));
  setField(payload, 'breadcrumbs', container(own(source, 'breadcrumbs'), at(null, 'breadcrumbs'), changes, breadcrumb));
  setField(payload, 'request', request(own(source, 'request'), at(null, 'request'), changes));
  setField(payload, 'user', user(own(source, 'user'), at(null, 'user'), changes));
  setField(payload, 'tags', tags(own(source, 'tags'), at(null, 'tags'), changes));
  setField(payload, 'contexts', contexts(own(source, 'contexts'), at(null, 'contexts'), changes));
  setField(payload, 'fingerprint', fingerprint(own(source, 'fingerprint'), at(null, 'fingerprint'), changes));
  setField(payload, '_meta', withChanges(own(source, '_meta'), changes));
  return payload as EventPayload;
}

const TOP_LEVEL_TEXT = ['level', 'platform', 'logger', 'transaction', 'server_name', 'release', 'dist', 'environment', 'culprit', 'type'] as const;
const TOP_LEVEL_TIMES = ['timestamp', 'start_timestamp'] as const;
const TOP_LEVEL_RECORDS = ['extra', 'sdk', 'modules'] as const;

// ---- exceptions --------------------------------------------------------------------------------

const EXCEPTION_TEXT = ['type', 'module'] as const;
const MECHANISM_TEXT = ['type', 'description', 'help_link', 'source'] as const;
const MECHANISM_FLAGS = ['handled', 'synthetic', 'is_exception_group'] as const;

function exception(value: Json, path: Path, changes: Changes): SentryException {
  const out = new Edit(value);
  for (const key of EXCEPTION_TEXT) out.set(key, text(own(value, key), at(path, key), changes));
  // Relay reads `value` leniently: an object there is the error's data, kept as its JSON text.
  out.set('value', lenientText(own(value, 'value')));
  out.set('mechanism', mechanism(own(value, 'mechanism'), at(path, 'mechanism'), changes));
  out.set('stacktrace', stacktrace(own(value, 'stacktrace'), at(path, 'stacktrace'), changes));
  return out.result() as SentryException;
}

function mechanism(value: unknown, path: Path, changes: Changes): Json | undefined {
  const raw = record(value, path, changes);
  if (raw === undefined) return undefined;
  const out = new Edit(raw);
  for (const key of MECHANISM_TEXT) out.set(key, text(own(raw, key), at(path, key), changes));
  for (const key of MECHANISM_FLAGS) out.set(key, flag(own(raw, key), at(path, key), changes));
  out.set('data', record(own(raw, 'data'), at(path, 'data'), changes));
  return out.result();
}

function stacktrace(value: unknown, path: Path, changes: Changes): Json | undefined {
  const raw = record(value, path, changes);
  if (raw === undefined) return undefined;
  const out = new Edit(raw);
  out.set('frames', list(own(raw, 'frames'), at(path, 'frames'), changes, frame));
  return out.result();
}

const FRAME_TEXT = ['filename', 'abs_path', 'function', 'raw_function', 'module', 'package', 'platform', 'context_line', 'symbol'] as const;
const FRAME_LINES = ['pre_context', 'post_context'] as const;
const FRAME_NUMBERS = ['lineno', 'colno'] as const;

function frame(value: Json, path: Path, changes: Changes): SentryStackFrame {
  const out = new Edit(value);
  for (const key of FRAME_TEXT) out.set(key, text(own(value, key), at(path, key), changes));
  for (const key of FRAME_LINES) out.set(key, sourceLines(own(value, key), at(path, key), changes));
  for (const key of FRAME_NUMBERS) out.set(key, lineNumber(own(value, key), at(path, key), changes));
  out.set('in_app', flag(own(value, 'in_app'), at(path, 'in_app'), changes));
  out.set('vars', record(own(value, 'vars'), at(path, 'vars'), changes));
  return out.result() as SentryStackFrame;
}

// ---- breadcrumbs -------------------------------------------------------------------------------

const BREADCRUMB_TEXT = ['type', 'category', 'level', 'message', 'event_id'] as const;

function breadcrumb(value: Json, path: Path, changes: Changes): SentryBreadcrumb {
  const out = new Edit(value);
  for (const key of BREADCRUMB_TEXT) out.set(key, text(own(value, key), at(path, key), changes));
  out.set('timestamp', timestampField(own(value, 'timestamp'), at(path, 'timestamp'), changes));
  out.set('data', record(own(value, 'data'), at(path, 'data'), changes));
  return out.result() as SentryBreadcrumb;
}

/** The largest time a JavaScript Date can hold, in ms (±100,000,000 days). */
const MAX_DATE_MS = 8.64e15;
const NUMERIC = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/i;

/**
 * An RFC 3339 string or epoch seconds, as the protocol says. Epoch milliseconds (a few clients
 * send them: seconds that big would be after the year 5138) become seconds; a time no Date can
 * hold (1e13 seconds) or text that is no time is removed.
 */
function timestampField(value: unknown, path: Path, changes: Changes): string | number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && !NUMERIC.test(value.trim())) {
    if (Number.isFinite(Date.parse(value))) return value;
    changes.record(path, 'expected an RFC 3339 time or epoch seconds', value);
    return undefined;
  }
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  const ms = n > 1e11 ? n : n * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) {
    changes.record(path, 'expected an RFC 3339 time or epoch seconds', value);
    return undefined;
  }
  const seconds = ms / 1000;
  if (seconds !== n) changes.record(path, 'epoch milliseconds read as seconds', value);
  return seconds;
}

// ---- request and user --------------------------------------------------------------------------

const REQUEST_TEXT = ['method', 'url', 'fragment', 'api_target'] as const;

function request(value: unknown, path: Path, changes: Changes): Json | undefined {
  const raw = record(value, path, changes);
  if (raw === undefined) return undefined;
  const out = new Edit(raw);
  for (const key of REQUEST_TEXT) out.set(key, text(own(raw, key), at(path, key), changes));
  for (const key of ['query_string', 'cookies'] as const) out.set(key, textOrStructure(own(raw, key), at(path, key), changes));
  out.set('headers', headers(own(raw, 'headers'), at(path, 'headers'), changes));
  out.set('env', record(own(raw, 'env'), at(path, 'env'), changes));
  return out.result();
}

/**
 * An object of name → text. SDKs send an object or `[name, value]` pairs; a repeated name is
 * joined with ", " (HTTP's own rule for repeated headers). Entries that are no pair, or whose
 * value is neither text nor a list of texts, are dropped and the headers as sent are kept in `_meta`.
 */
function headers(value: unknown, path: Path, changes: Changes): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (isTextRecord(value)) return value;
  const entries = entriesOf(value);
  if (entries === null) return rejected(value, path, changes, 'expected an object or a list of [name, value] pairs');
  const merged = new Map<string, string>();
  let dropped = false;
  for (const entry of entries) {
    const headerValue = entry === null ? null : headerText(entry[1]);
    if (entry === null || entry[0] === '' || headerValue === null) {
      dropped ||= entry === null || entry[1] !== null;
      continue;
    }
    const previous = merged.get(entry[0]);
    merged.set(entry[0], previous === undefined ? headerValue : `${previous}, ${headerValue}`);
  }
  if (dropped) changes.record(path, 'entries that are no [name, text] pair were dropped', value);
  return Object.fromEntries(merged); // own data properties, even for a `__proto__` header
}

function headerText(value: unknown): string | null {
  const scalar = scalarText(value);
  if (scalar !== null) return scalar;
  if (!Array.isArray(value)) return null;
  const parts = Array.from(value, scalarText);
  return parts.every((p): p is string => p !== null) ? parts.join(', ') : null;
}

const USER_TEXT = ['id', 'username', 'email', 'ip_address', 'name', 'segment'] as const;

function user(value: unknown, path: Path, changes: Changes): Json | undefined {
  const raw = record(value, path, changes);
  if (raw === undefined) return undefined;
  const out = new Edit(raw);
  for (const key of USER_TEXT) out.set(key, text(own(raw, key), at(path, key), changes));
  for (const key of ['data', 'geo'] as const) out.set(key, record(own(raw, key), at(path, key), changes));
  return out.result();
}

// ---- tags, contexts, fingerprint, message ------------------------------------------------------

/**
 * An object of key → text. Pairs become an object (the first of a repeated key wins, as in the
 * digest's tag index); numbers and booleans become text, objects their JSON; null values vanish.
 */
function tags(value: unknown, path: Path, changes: Changes): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (isTextRecord(value)) return value;
  const entries = entriesOf(value);
  if (entries === null) return rejected(value, path, changes, 'expected an object or a list of [key, value] pairs');
  const flat = new Map<string, string>();
  let dropped = false;
  for (const entry of entries) {
    if (entry === null || entry[0] === '') {
      dropped = true;
      continue;
    }
    const tagText = entry[1] === null || entry[1] === undefined ? null : (scalarText(entry[1]) ?? safeJson(entry[1]));
    if (tagText !== null && !flat.has(entry[0])) flat.set(entry[0], tagText);
  }
  if (dropped) changes.record(path, 'entries that are no [key, value] pair were dropped', value);
  return Object.fromEntries(flat);
}

function contexts(value: unknown, path: Path, changes: Changes): Json | undefined {
  const raw = record(value, path, changes);
  if (raw === undefined || Object.values(raw).every(isRecord)) return raw;
  const out: Json = {};
  for (const [name, context] of Object.entries(raw)) {
    const kept = record(context, at(path, name), changes);
    if (kept !== undefined) defineOwn(out, name, kept);
  }
  return out;
}

/** Relay's rule: texts kept, numbers and booleans as text, nulls skipped, anything else dropped. */
function fingerprint(value: unknown, path: Path, changes: Changes): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) return rejected(value, path, changes, 'expected a list of texts');
  if (value.every((part) => typeof part === 'string')) return value as string[];
  const parts: string[] = [];
  let dropped = false;
  for (const part of value) {
    const partText = scalarText(part);
    if (partText !== null) parts.push(partText);
    else dropped ||= part !== null;
  }
  if (dropped) changes.record(path, 'parts that are no text were dropped', value);
  return parts.length > 0 || !dropped ? parts : undefined;
}

/** `message` is text, or (older SDKs) an object like `logentry`. */
function messageField(value: unknown, path: Path, changes: Changes): string | Json | undefined {
  return isRecord(value) ? logEntry(value, path, changes) : text(value, path, changes);
}

/** `{message, formatted, params}`; a bare text is taken as the formatted message. */
function logEntry(value: unknown, path: Path, changes: Changes): Json | undefined {
  if (typeof value === 'string') return { formatted: value };
  const raw = record(value, path, changes);
  if (raw === undefined) return undefined;
  const out = new Edit(raw);
  for (const key of ['message', 'formatted'] as const) out.set(key, lenientText(own(raw, key)));
  const params = own(raw, 'params');
  if (params !== undefined && params !== null && typeof params !== 'object') {
    changes.record(at(path, 'params'), 'expected a list or an object', params);
    out.set('params', undefined);
  }
  return out.result();
}

// ---- value readers -----------------------------------------------------------------------------

/** `{values: [...]}` or a bare list (older SDKs) → `{values}` of the records in it. */
function container<T>(value: unknown, path: Path, changes: Changes, item: (v: Json, p: Path, c: Changes) => T): { values: T[] } | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return { values: list(value, at(path, 'values'), changes, item) ?? [] };
  if (!isRecord(value)) return rejected(value, path, changes, 'expected {values: [...]} or a list');
  const values = list(own(value, 'values'), at(path, 'values'), changes, item);
  return values !== undefined && values === own(value, 'values') ? (value as { values: T[] }) : { ...value, values: values ?? [] };
}

/** A list of records; anything else in it is dropped (the list as sent goes to `_meta`). */
function list<T>(value: unknown, path: Path, changes: Changes, item: (v: Json, p: Path, c: Changes) => T): T[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) return rejected(value, path, changes, 'expected a list');
  const out: T[] = [];
  let unchanged = true;
  for (const element of value) {
    if (!isRecord(element)) continue;
    const read = item(element, at(path, out.length), changes);
    unchanged &&= read === element;
    out.push(read);
  }
  if (out.length !== value.length) changes.record(path, 'elements that are no object were dropped', value);
  return unchanged && out.length === value.length ? (value as T[]) : out;
}

/** Text; a number or boolean becomes its text; anything else is removed. */
function text(value: unknown, path: Path, changes: Changes): string | undefined {
  if (value === undefined || value === null) return undefined;
  return scalarText(value) ?? rejected(value, path, changes, 'expected text');
}

/** Text, where an object or list is kept as its JSON text (Relay's JsonLenientString). */
function lenientText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return scalarText(value) ?? safeJson(value);
}

/** Text, or an object or list kept as is (query strings and cookies come in all three forms). */
function textOrStructure(value: unknown, path: Path, changes: Changes): unknown {
  if (value !== null && typeof value === 'object') return value;
  return text(value, path, changes);
}

function record(value: unknown, path: Path, changes: Changes): Json | undefined {
  if (value === undefined || value === null) return undefined;
  return isRecord(value) ? value : rejected(value, path, changes, 'expected an object');
}

function flag(value: unknown, path: Path, changes: Changes): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'boolean' ? value : rejected(value, path, changes, 'expected true or false');
}

function lineNumber(value: unknown, path: Path, changes: Changes): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && NUMERIC.test(value.trim()) ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : rejected(value, path, changes, 'expected a number');
}

/** Lines of source: texts; a null line is an empty one (as in Relay). */
function sourceLines(value: unknown, path: Path, changes: Changes): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) return rejected(value, path, changes, 'expected a list of texts');
  if (value.every((line) => typeof line === 'string')) return value as string[];
  const lines = Array.from(value, (line: unknown) => (line === null ? '' : scalarText(line)));
  if (lines.some((line) => line === null)) changes.record(path, 'lines that are no text were emptied', value);
  return lines.map((line) => line ?? '');
}

/** Entries of an object, or of a list of `[key, value]` pairs (null for an entry that is none). */
function entriesOf(value: unknown): ([string, unknown] | null)[] | null {
  if (isRecord(value)) return Object.entries(value);
  if (!Array.isArray(value)) return null;
  return Array.from(value, (entry: unknown) =>
    Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string' ? [entry[0], entry[1]] : null,
  );
}

/** Already the documented shape: an object of texts with no empty name. */
function isTextRecord(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.entries(value).every(([key, text]) => key !== '' && typeof text === 'string');
}

function scalarText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

function rejected(value: unknown, path: Path, changes: Changes, reason: string): undefined {
  changes.record(path, reason, value);
  return undefined;
}

// ---- _meta -------------------------------------------------------------------------------------

/**
 * The client's own `_meta` (sentry-python sends one for values it trimmed) with an entry added
 * per change. A change inside a list or object that is itself recorded whole is not repeated.
 */
function withChanges(clientMeta: unknown, changes: Changes): Json | undefined {
  const base = isRecord(clientMeta) ? clientMeta : undefined;
  if (changes.entries.length === 0) return base;
  const tree: Json = base === undefined ? {} : (structuredClone(base) as Json);
  const recorded = new Set<string>();
  for (const { path, reason, original } of [...changes.entries].sort((a, b) => a.path.length - b.path.length)) {
    const keys = path.map((_, i) => path.slice(0, i + 1).join('\u0000'));
    if (keys.some((key) => recorded.has(key))) continue;
    recorded.add(keys.at(-1)!);
    let node = tree;
    for (const segment of path) node = childNode(node, String(segment));
    defineOwn(node, '', { err: [['invalid_data', { reason }]], val: original });
  }
  return tree;
}

function childNode(node: Json, key: string): Json {
  const existing = Object.hasOwn(node, key) ? node[key] : undefined;
  if (isRecord(existing)) return existing;
  const child: Json = {};
  defineOwn(node, key, child);
  return child;
}

// ---- small helpers -----------------------------------------------------------------------------

/**
 * An object being normalised, copied only when a field changes: a well-formed event (nearly all
 * of them) is read without allocating a copy of each frame and breadcrumb. Unchanged parts of the
 * result are the input's own objects; the input itself is never modified.
 */
class Edit {
  private copy: Json | null = null;

  constructor(private readonly source: Json) {}

  set(key: string, value: unknown): void {
    if (value === own(this.source, key)) return;
    this.copy ??= { ...this.source };
    setField(this.copy, key, value);
  }

  result(): Json {
    return this.copy ?? this.source;
  }
}

/** An own property only: a missing `constructor` must not find Object's. */
function own(value: Json, key: string): unknown {
  return Object.hasOwn(value, key) ? value[key] : undefined;
}

function setField(target: Json, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value;
  else if (Object.hasOwn(target, key)) delete target[key];
}

/** Sets a property even when its name is `__proto__`. */
function defineOwn(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '[unserializable]';
  }
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
