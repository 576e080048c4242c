/**
 * Grouping algorithm v1.
 *
 * RELEASED: DO NOT EDIT. Issues are stored with the grouping version that made them; any change
 * to what this file (or `parameterize.ts`, which it uses) produces would silently split or merge
 * existing issues. A better rule goes into `v2.ts` beside this one, and projects move to it
 * explicitly. For the same reason this file reads the event itself instead of sharing helpers
 * with the normaliser, which may evolve.
 *
 * Key, first match wins (docs/product.md §2, after Sentry's newstyle strategy):
 * 1. the event's `fingerprint` (`{{ default }}` and other variables expanded);
 * 2. the exception chain: per exception its in-app frames (module or file basename, function,
 *    normalised context line; never line numbers) plus the type, or, when none of its frames
 *    count, the type plus the parameterised first line of the value. A Telegram Bot API error
 *    (grammY's GrammyError, Telegraf's TelegramError, or a value that carries an API error code)
 *    keeps its parameterised value even with in-app frames: one `ctx.reply` line that fails with
 *    "chat not found" and with "bot was blocked" has two different problems;
 * 3. HTTP errors without an exception: method + status + route pattern;
 * 4. the parameterised log message (template preferred) plus the logger;
 * 5. level + platform.
 * Hash: md5 of the JSON array [version tag, basis, ...components].
 */
import { createHash } from 'node:crypto';
import type { SentryEventPayload, SentryException, SentryStackFrame } from '@botpulse/protocol';
import { parameterize, routePattern } from './parameterize.js';
import type { GroupingBasis, GroupingResult } from './types.js';

export const GROUPING_VERSION = 1;

const HASH_PREFIX = 'botpulse-grouping-v1';
/** Bounds for hostile events; real chains and stacks are far smaller (SDKs keep 50 frames). */
const MAX_EXCEPTIONS = 20;
const MAX_FRAMES_PER_EXCEPTION = 100;
const MAX_FINGERPRINT_PARTS = 32;
const MAX_NAME_LENGTH = 200;
const MAX_CUSTOM_PART_LENGTH = 1024;
/** Longer context lines are usually minified code: they change with every build. */
const MAX_CONTEXT_LINE_LENGTH = 120;

interface GroupingKey {
  basis: GroupingBasis;
  components: string[];
}

/** The v1 group of an event: same hash, same issue. */
export function fingerprintV1(event: SentryEventPayload): GroupingResult<1> {
  const key = customKey(event) ?? defaultKey(event);
  const hash = createHash('md5')
    .update(JSON.stringify([HASH_PREFIX, key.basis, ...key.components]))
    .digest('hex');
  return { hash, version: GROUPING_VERSION, basis: key.basis, components: key.components };
}

function defaultKey(event: SentryEventPayload): GroupingKey {
  return exceptionKey(event) ?? httpKey(event) ?? messageKey(event) ?? fallbackKey(event);
}

// ---- 1. custom fingerprint ---------------------------------------------------------------------

const VARIABLE = /^\{\{\s*([^{}]*?)\s*\}\}$/;

/** `["{{ default }}", "{{ tags.chat_type }}"]`; null when absent or just `["{{ default }}"]`. */
function customKey(event: SentryEventPayload): GroupingKey | null {
  const parts = Array.isArray(event.fingerprint) ? event.fingerprint.slice(0, MAX_FINGERPRINT_PARTS) : [];
  const components: string[] = [];
  let onlyDefault = true;
  for (const part of parts) {
    const text = typeof part === 'string' ? part : String(part);
    const variable = VARIABLE.exec(text)?.[1]?.replace(/\s+/g, '');
    if (variable !== undefined && variable.toLowerCase() === 'default') {
      components.push(...defaultKey(event).components);
      continue;
    }
    onlyDefault = false;
    const value = variable === undefined ? text : (resolveVariable(event, variable) ?? text);
    components.push(value.slice(0, MAX_CUSTOM_PART_LENGTH));
  }
  return onlyDefault ? null : { basis: 'custom', components };
}

/** Sentry's fingerprint variables; null for an unknown one (kept literally). */
function resolveVariable(event: SentryEventPayload, variable: string): string | null {
  const name = variable.toLowerCase();
  if (name.startsWith('tags.')) {
    const tag = variable.slice('tags.'.length);
    return tagValue(event, tag) ?? `<no-value-for-tag-${tag}>`;
  }
  const thrown = exceptionChain(event).at(-1);
  const frame = thrown === undefined ? undefined : crashFrame(thrown);
  switch (name) {
    case 'error.type':
    case 'type':
      return nonEmpty(thrown?.type) ?? '<no-type>';
    case 'error.value':
    case 'value':
      return nonEmpty(thrown?.value) ?? '<no-value>';
    case 'transaction':
      return nonEmpty(event.transaction) ?? '<no-transaction>';
    case 'level':
      return levelOf(event);
    case 'logger':
      return nonEmpty(event.logger) ?? '<no-logger>';
    case 'message':
      return formattedMessage(event) ?? '<no-message>';
    case 'stack.function':
    case 'function':
      return (frame && frameFunction(frame)) ?? '<no-function>';
    case 'stack.module':
    case 'module':
      return (frame && frameModule(frame)) ?? '<no-module>';
    default:
      return null;
  }
}

// ---- 2. exception chain ------------------------------------------------------------------------

type FrameMode = 'in-app' | 'all';

function exceptionKey(event: SentryEventPayload): GroupingKey | null {
  const chain = exceptionChain(event);
  if (chain.length === 0) return null;
  const mode = frameMode(chain);
  const components: string[] = [];
  let framesContributed = false;
  for (const exception of chain) {
    const frames = mode === null ? [] : frameComponents(exception, mode);
    if (frames.length > 0) {
      framesContributed = true;
      components.push(...frames, ...typeComponent(exception));
      if (isBotApiError(exception)) components.push(...valueComponent(exception));
    } else {
      components.push(...typeComponent(exception), ...valueComponent(exception));
    }
  }
  if (components.length === 0) return null;
  const basis: GroupingBasis = !framesContributed ? 'exception' : mode === 'in-app' ? 'in-app-frames' : 'all-frames';
  return { basis, components };
}

/**
 * In-app frames when any frame is in-app. When the SDK classified no frame at all (hand-written
 * clients), all frames, as Sentry's "system" variant. When every frame is a library frame (a
 * GrammyError raised inside grammY), none: the message then tells the errors apart.
 */
function frameMode(chain: SentryException[]): FrameMode | null {
  let classified = false;
  for (const exception of chain) {
    for (const frame of framesOf(exception)) {
      if (frame.in_app === true) return 'in-app';
      if (typeof frame.in_app === 'boolean') classified = true;
    }
  }
  return classified ? null : 'all';
}

function frameComponents(exception: SentryException, mode: FrameMode): string[] {
  const parts: string[] = [];
  let previous: string | null = null;
  for (const frame of framesOf(exception)) {
    if (mode === 'in-app' && frame.in_app !== true) continue;
    const part = frameComponent(frame);
    if (part === null || part === previous) continue; // direct repetition is recursion
    parts.push(part);
    previous = part;
  }
  return parts;
}

/** `frame:<module or basename>|<function>|<context line>`; never line or column numbers. */
function frameComponent(frame: SentryStackFrame): string | null {
  const where = frameModule(frame);
  const fn = frameFunction(frame);
  const line = contextLine(frame);
  if (where === null && fn === null && line === null) return null;
  return `frame:${where ?? ''}|${fn ?? ''}|${line ?? ''}`;
}

function frameModule(frame: SentryStackFrame): string | null {
  const module = nonEmpty(frame.module);
  if (module !== null) return withoutGeneratedNames(module).slice(0, MAX_NAME_LENGTH);
  const filename = nonEmpty(frame.filename) ?? nonEmpty(frame.abs_path);
  if (filename === null || filename.startsWith('<') || filename === '[native code]') return null;
  // Remote URLs carry hosts and build hashes; file:// URLs (Node ESM) are plain paths.
  if (/^[a-z][\w+.-]*:\/\//i.test(filename) && !filename.startsWith('file://')) return null;
  const base = filename.split(/[?#]/, 1)[0]!.split(/[\\/]/).pop() ?? '';
  return base === '' ? null : base.toLowerCase().slice(0, MAX_NAME_LENGTH);
}

/** Trimmed; JS `Object.method` → `method`; anonymous functions contribute nothing. */
function frameFunction(frame: SentryStackFrame): string | null {
  let name = nonEmpty(frame.function);
  if (name === null) return null;
  name = name.replace(/^(?:async|new)\s+/, '').replace(/\s*\[as [^\]]*\]$/, '');
  const lastDot = name.lastIndexOf('.');
  if (lastDot >= 0 && lastDot < name.length - 1) name = name.slice(lastDot + 1);
  if (name === '' || name === '?' || name === '<anonymous>' || name === 'anonymous') return null;
  return withoutGeneratedNames(name).slice(0, MAX_NAME_LENGTH);
}

/** Java/Kotlin lambdas are numbered in source order: `lambda$onCreate$0` must survive edits. */
function withoutGeneratedNames(name: string): string {
  return name
    .replace(/lambda\$([\w$]*?)\$\d+/g, 'lambda$$$1$$')
    .replace(/\$\$(ExternalSynthetic)?Lambda\$?\d+(?:\/0x[0-9a-fA-F]+)?/g, '$$$$$1Lambda');
}

function contextLine(frame: SentryStackFrame): string | null {
  if (typeof frame.context_line !== 'string') return null;
  const line = frame.context_line.replace(/\s+/g, ' ').trim();
  return line === '' || line.length > MAX_CONTEXT_LINE_LENGTH ? null : line;
}

function typeComponent(exception: SentryException): string[] {
  if (exception.mechanism?.synthetic === true) return []; // a made-up type says nothing
  const type = nonEmpty(exception.type);
  return type === null ? [] : [`type:${type.slice(0, MAX_NAME_LENGTH)}`];
}

const BOT_API_ERROR_TYPES = new Set(['GrammyError', 'TelegramError']);
/** `Call to 'sendMessage' failed! (403: Forbidden: ...)` (grammY) or `403: Forbidden: ...` (Telegraf). */
const BOT_API_ERROR_VALUE = /^(?:Call to '\w+' failed! \()?[1-5]\d\d: (?:Bad Request|Forbidden|Unauthorized|Too Many Requests|Conflict|Not Found|Internal Server Error|Bad Gateway)\b/;

function isBotApiError(exception: SentryException): boolean {
  if (typeof exception.type === 'string' && BOT_API_ERROR_TYPES.has(exception.type)) return true;
  return typeof exception.value === 'string' && BOT_API_ERROR_VALUE.test(exception.value);
}

function valueComponent(exception: SentryException): string[] {
  const line = typeof exception.value === 'string' ? firstLines(exception.value, 1)[0] : undefined;
  return line === undefined ? [] : [`value:${parameterize(line)}`];
}

// ---- 3. HTTP errors ----------------------------------------------------------------------------

function httpKey(event: SentryEventPayload): GroupingKey | null {
  const request = event.request;
  if (!isRecord(request)) return null;
  const status = statusCode(event);
  if (status === null || status < 400) return null;
  const method = nonEmpty(request.method)?.toUpperCase().slice(0, 16) ?? '<no-method>';
  const url = nonEmpty(request.url);
  const route = url === null ? '<no-route>' : routePattern(url);
  return { basis: 'http', components: [`method:${method}`, `status:${status}`, `route:${route}`] };
}

function statusCode(event: SentryEventPayload): number | null {
  const response = event.contexts?.response;
  const candidates = [
    isRecord(response) ? response.status_code : undefined,
    tagValue(event, 'http.status_code'),
    tagValue(event, 'status_code'),
  ];
  for (const candidate of candidates) {
    const code = typeof candidate === 'number' ? candidate : typeof candidate === 'string' ? Number(candidate) : NaN;
    if (Number.isInteger(code) && code >= 100 && code <= 599) return code;
  }
  return null;
}

// ---- 4. message --------------------------------------------------------------------------------

function messageKey(event: SentryEventPayload): GroupingKey | null {
  const text = messageTemplate(event);
  if (text === null) return null;
  const lines = firstLines(text, 2);
  if (lines.length === 0) return null;
  const components = [`message:${lines.map(parameterize).join('\n')}`];
  const logger = nonEmpty(event.logger);
  if (logger !== null) components.unshift(`logger:${logger.slice(0, MAX_NAME_LENGTH)}`);
  return { basis: 'message', components };
}

const PLACEHOLDER = /%[-+ #0-9.]*[sdifrxXoOjc%]|\{[\w.]*\}/g;

/** A template that is mostly placeholders (`logger.error("%s", text)`) says nothing by itself. */
function saysSomething(template: string): boolean {
  return template.replace(PLACEHOLDER, '').replace(/[^\p{L}]/gu, '').length >= 3;
}

/** The unformatted template when there is one (`User %s not found`), else the formatted text. */
function messageTemplate(event: SentryEventPayload): string | null {
  const entry = isRecord(event.logentry) ? event.logentry : isRecord(event.message) ? event.message : null;
  const template = nonEmpty(entry?.message);
  if (template !== null && saysSomething(template)) return template;
  return nonEmpty(entry?.formatted) ?? template ?? (typeof event.message === 'string' ? nonEmpty(event.message) : null);
}

function formattedMessage(event: SentryEventPayload): string | null {
  const entry = isRecord(event.logentry) ? event.logentry : isRecord(event.message) ? event.message : null;
  return (
    nonEmpty(entry?.formatted) ?? nonEmpty(entry?.message) ?? (typeof event.message === 'string' ? nonEmpty(event.message) : null)
  );
}

// ---- 5. fallback -------------------------------------------------------------------------------

function fallbackKey(event: SentryEventPayload): GroupingKey {
  return { basis: 'fallback', components: [`level:${levelOf(event)}`, `platform:${nonEmpty(event.platform) ?? 'other'}`] };
}

// ---- reading the event -------------------------------------------------------------------------

/** Oldest → newest (the last one was thrown); exception-group containers skipped. */
function exceptionChain(event: SentryEventPayload): SentryException[] {
  const raw = event.exception;
  const values: unknown = Array.isArray(raw) ? raw : isRecord(raw) ? raw.values : undefined;
  if (!Array.isArray(values)) return [];
  const chain = values.filter(isRecord) as SentryException[];
  const members = chain.filter((e) => e.mechanism?.is_exception_group !== true);
  return (members.length > 0 ? members : chain).slice(-MAX_EXCEPTIONS);
}

function framesOf(exception: SentryException): SentryStackFrame[] {
  const frames: unknown = exception.stacktrace?.frames;
  if (!Array.isArray(frames)) return [];
  return (frames.filter(isRecord) as SentryStackFrame[]).slice(-MAX_FRAMES_PER_EXCEPTION);
}

/** The frame that raised: the newest in-app one, else the newest. */
function crashFrame(exception: SentryException): SentryStackFrame | undefined {
  const frames = framesOf(exception);
  return frames.findLast((f) => f.in_app === true) ?? frames.at(-1);
}

function tagValue(event: SentryEventPayload, key: string): string | null {
  const tags = event.tags;
  let value: unknown;
  if (Array.isArray(tags)) value = tags.find((pair) => Array.isArray(pair) && pair[0] === key)?.[1];
  else if (isRecord(tags)) value = Object.hasOwn(tags, key) ? tags[key] : undefined;
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function levelOf(event: SentryEventPayload): string {
  return nonEmpty(event.level)?.toLowerCase() ?? 'error';
}

/** Up to `count` non-empty lines, trimmed. */
function firstLines(text: string, count: number): string[] {
  const lines: string[] = [];
  for (const line of text.slice(0, 4096).split('\n')) {
    const trimmed = line.trim();
    if (trimmed !== '') lines.push(trimmed);
    if (lines.length === count) break;
  }
  return lines;
}

function nonEmpty(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
