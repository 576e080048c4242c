import type { SentryBreadcrumb, SentryException, SentryStackFrame } from '@botpulse/protocol';
import { normalizePayload, type EventPayload } from '../../digest/shape.js';
import type { StoredEvent } from '../../store/model.js';
import { html, type Html, type Renderable } from '../html.js';
import { telegramOf } from '../links.js';
import { payloadTree } from './payload-tree.js';

/**
 * The parts of one event, each rendered only when the event has it. The stored payload goes
 * through normalizePayload first: events digested before the shape pass existed (or by a future
 * bug) are shown through the same documented shapes, so no field the client got wrong can make
 * this page fail.
 */
export function eventSections(event: StoredEvent, opts: { attachmentsDownload?: boolean } = {}): Html {
  const payload = normalizePayload(event.payload);
  const shaped: StoredEvent = { ...event, payload };
  const exceptions = (payload.exception?.values ?? []).toReversed(); // outermost (thrown last) first
  const { _meta: meta, ...shown } = payload;
  return html`
${message(event, exceptions.length > 0)}
${exceptions.length ? section('Exception', exceptions.map((e, i) => exceptionBlock(e, i > 0)), 'exception') : ''}
${breadcrumbs(payload)}
${telegram(shaped)}
${request(payload)}
${user(payload)}
${tags(event)}
${attachments(event, opts.attachmentsDownload ?? true)}
${changedOnArrival(meta)}
${section('Payload (scrubbed)', html`<div class="body">${payloadTree(shown)}</div>`, 'payload')}`;
}

function section(title: string, content: Renderable, id: string): Html {
  return html`<div class="section" id="${id}"><h2>${title}</h2>${content}</div>`;
}

function kvTable(rows: [string, unknown][]): Html {
  const shown = rows.filter(([, v]) => v !== undefined && v !== null && v !== '');
  return html`<table class="kv">${shown.map(([k, v]) => html`<tr><th>${k}</th><td>${displayText(v)}</td></tr>`)}</table>`;
}

/** Text for any JSON value: objects and lists as their JSON. */
function displayText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') return JSON.stringify(value) ?? '';
  return String(value);
}

function message(event: StoredEvent, hasException: boolean): Html {
  if (!event.message || (hasException && event.message === event.title)) return html``;
  return section('Message', html`<div class="body"><pre class="snippet">${event.message}</pre></div>`, 'message');
}

function exceptionBlock(exc: SentryException, causedBy: boolean): Html {
  const frames = (exc.stacktrace?.frames ?? []).toReversed(); // most recent call first
  const inApp = frames.filter((f) => f.in_app === true);
  const shown = inApp.length ? inApp : frames.slice(0, 8);
  const library = inApp.length ? frames.length - inApp.length : frames.length - shown.length;
  return html`<div class="exception">
  ${causedBy ? html`<div class="caused-by">Caused by</div>` : ''}
  <div class="exc-type">${exc.type ?? 'Error'}${exc.mechanism?.handled === false ? html` <span class="badge lvl-error">unhandled</span>` : ''}</div>
  ${exc.value ? html`<div class="exc-value">${exc.value}</div>` : ''}
  ${frames.length
    ? html`<div class="frames">
      ${shown.map((f, i) => frameBlock(f, i === 0))}
      ${library > 0 ? html`<details class="lib-frames"><summary>Full stack: ${frames.length} frames, ${library} from libraries</summary>${frames.map((f) => frameBlock(f, false))}</details>` : ''}
    </div>`
    : html`<div class="faint">No stack trace was sent.</div>`}
</div>`;
}

function frameBlock(frame: SentryStackFrame, open: boolean): Html {
  const file = frame.filename ?? frame.abs_path ?? frame.module ?? '?';
  const where = frame.lineno ? `${file}:${frame.lineno}${frame.colno ? `:${frame.colno}` : ''}` : file;
  const hasContext = typeof frame.context_line === 'string';
  const summary = html`<span class="fn">${frame.function ?? '<anonymous>'}</span><span class="file">${where}</span>${frame.in_app ? html`<span class="tag-inapp">in app</span>` : ''}`;
  return html`<details class="frame${frame.in_app ? '' : ' lib'}"${open && hasContext ? ' open' : ''}><summary>${summary}</summary>${hasContext ? contextLines(frame) : ''}</details>`;
}

function contextLines(frame: SentryStackFrame): Html {
  const pre = frame.pre_context ?? [];
  const post = frame.post_context ?? [];
  const line = typeof frame.lineno === 'number' ? frame.lineno : null;
  const rows = [...pre.map((t, i) => [t, line === null ? null : line - pre.length + i, false] as const), [frame.context_line ?? '', line, true] as const, ...post.map((t, i) => [t, line === null ? null : line + 1 + i, false] as const)];
  return html`<div class="context">${rows.map(([text, no, cur]) => html`<div class="ln${cur ? ' cur' : ''}"><span class="no">${no ?? ''}</span><span>${text}</span></div>`)}</div>`;
}

function breadcrumbs(payload: EventPayload): Html {
  const crumbs = (payload.breadcrumbs?.values ?? []).slice(-100);
  if (!crumbs.length) return html``;
  const rows = crumbs.map(
    (c: SentryBreadcrumb) => html`<tr><td class="time">${crumbTime(c.timestamp)}</td><td class="cat">${c.category ?? c.type ?? ''}${c.level && c.level !== 'info' ? html` <span class="badge lvl-${c.level === 'fatal' ? 'fatal' : c.level === 'warning' ? 'warning' : 'error'}">${c.level}</span>` : ''}</td><td class="msg">${c.message ?? ''}${c.data ? html` <span class="faint">${JSON.stringify(c.data)}</span>` : ''}</td></tr>`,
  );
  return section(`Breadcrumbs (${crumbs.length})`, html`<div class="body"><table class="crumbs-table">${rows}</table></div>`, 'breadcrumbs');
}

/**
 * `hh:mm:ss.mmm` (UTC; the page's script shows it in the viewer's zone, UTC on hover) of epoch
 * seconds or an RFC 3339 time; empty for anything a Date cannot hold.
 */
function crumbTime(timestamp: unknown): Html | string {
  const ms = typeof timestamp === 'number' ? timestamp * 1000 : typeof timestamp === 'string' ? Date.parse(timestamp) : Number.NaN;
  if (!(Number.isFinite(ms) && Math.abs(ms) <= 8.64e15)) return '';
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}" data-local="clock" title="${iso.slice(0, 23).replace('T', ' ')} UTC">${iso.slice(11, 23)}</time>`;
}

function telegram(event: StoredEvent): Html {
  const tg = telegramOf(event);
  if (!tg) return html``;
  const known = ['update_id', 'update_type', 'chat_id', 'chat_type', 'user_id', 'username', 'language_code', 'role', 'group_id', 'duplicate'];
  const rows: [string, unknown][] = known.map((k) => [k, Object.hasOwn(tg, k) ? tg[k] : undefined]);
  for (const [k, v] of Object.entries(tg)) if (!known.includes(k) && k !== 'type') rows.push([k, v]);
  return section('Telegram', html`<div class="body">${kvTable(rows)}</div>`, 'telegram');
}

function request(payload: EventPayload): Html {
  const req = payload.request;
  if (!req) return html``;
  const response = payload.contexts?.response ?? {};
  const rows: [string, unknown][] = [
    ['method', req.method],
    ['url', req.url],
    ['status', response.status_code],
    ['query', req.query_string],
    ...Object.entries(req.headers ?? {}),
    ['data', req.data],
  ];
  return section('Request', html`<div class="body">${kvTable(rows)}</div>`, 'request');
}

function user(payload: EventPayload): Html {
  const u = payload.user;
  if (!u || Object.keys(u).length === 0) return html``;
  return section('User', html`<div class="body">${kvTable(Object.entries(u))}</div>`, 'user');
}

function tags(event: StoredEvent): Html {
  const rows: [string, unknown][] = [
    ['environment', event.environment],
    ['release', event.release],
    ['origin', event.origin],
    ...Object.entries(event.tags).filter(([k]) => !['environment', 'release', 'origin'].includes(k)),
  ];
  if (!rows.some(([, v]) => v)) return html``;
  return section('Tags', html`<div class="body">${kvTable(rows)}</div>`, 'tags');
}

/** Each attachment with its type and size, and a download link (`attachmentsDownload`: who may). */
function attachments(event: StoredEvent, download: boolean): Html {
  if (!event.attachments.length) return html``;
  const rows = event.attachments.map(
    (a, n) => html`<tr><th>${a.filename}</th><td>${a.contentType ?? 'unknown type'}, ${a.size} bytes
      ${download ? html` · <a href="/issues/${event.issueId}/events/${event.eventId}/attachments/${n}" download>Download</a>` : ''}</td></tr>`,
  );
  return section('Attachments', html`<div class="body"><table class="kv">${rows}</table></div>`, 'attachments');
}

// ---- what arrived in another shape -------------------------------------------------------------

const MAX_NOTES = 50;
const MAX_NOTE_VALUE = 300;
const MAX_META_DEPTH = 24;

interface MetaNote {
  path: string;
  what: string;
  sent: string | null;
}

/**
 * The payload's `_meta`: what Botpulse (or the SDK) changed on arrival, with each value as it
 * was sent. The sections above show the fields as read; this keeps the original visible.
 */
function changedOnArrival(meta: unknown): Html {
  const notes: MetaNote[] = [];
  collectNotes(meta, [], notes, 0);
  if (notes.length === 0) return html``;
  const rows = notes.map((n) => html`<tr><th class="mono">${n.path}</th><td>${n.what}${n.sent === null ? '' : html`<div class="faint">sent: ${n.sent}</div>`}</td></tr>`);
  const intro = 'These fields did not have their documented shape, or the SDK changed them; the event above shows them as read, and here as sent where known.';
  return section('Changed on arrival', html`<div class="body"><p class="faint">${intro}</p><table class="kv">${rows}</table></div>`, 'meta');
}

function collectNotes(node: unknown, path: string[], notes: MetaNote[], depth: number): void {
  if (node === null || typeof node !== 'object' || Array.isArray(node) || depth > MAX_META_DEPTH) return;
  for (const [key, child] of Object.entries(node)) {
    if (notes.length >= MAX_NOTES) return;
    if (key === '') notes.push(noteOf(path, child));
    else collectNotes(child, [...path, key], notes, depth + 1);
  }
}

function noteOf(path: string[], entry: unknown): MetaNote {
  const record = entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? (entry as Record<string, unknown>) : {};
  const errors = Array.isArray(record.err) ? record.err.map(errorText) : [];
  const removed = Array.isArray(record.rem) ? ['removed by the SDK'] : [];
  const sent = Object.hasOwn(record, 'val') ? truncate(displayText(record.val)) : null;
  return { path: path.join('.') || '(event)', what: [...errors, ...removed].join('; ') || 'changed', sent };
}

/** Sentry's `err` entries: `"kind"` or `["kind", {"reason": ...}]`. */
function errorText(error: unknown): string {
  if (typeof error === 'string') return error;
  if (!Array.isArray(error)) return 'invalid';
  const [kind, details] = error as [unknown, unknown];
  const reason = details !== null && typeof details === 'object' && !Array.isArray(details) ? (details as Record<string, unknown>).reason : undefined;
  return typeof reason === 'string' ? reason : typeof kind === 'string' ? kind : 'invalid';
}

function truncate(text: string): string {
  return text.length > MAX_NOTE_VALUE ? `${text.slice(0, MAX_NOTE_VALUE)}… (${text.length} chars)` : text;
}
