import type { SentryBreadcrumb, SentryException, SentryStackFrame } from '@botpulse/protocol';
import type { StoredEvent } from '../../store/model.js';
import { html, type Html, type Renderable } from '../html.js';
import { telegramOf } from '../links.js';
import { payloadTree } from './payload-tree.js';

type Payload = Record<string, unknown>;

/** The parts of one event, each rendered only when the event has it. */
export function eventSections(event: StoredEvent): Html {
  const payload = event.payload as Payload;
  const exceptions = exceptionsOf(payload);
  return html`
${message(event, exceptions.length > 0)}
${exceptions.length ? section('Exception', exceptions.map((e, i) => exceptionBlock(e, i > 0)), 'exception') : ''}
${breadcrumbs(payload)}
${telegram(event)}
${request(payload)}
${user(payload)}
${tags(event)}
${attachments(event)}
${section('Payload (scrubbed)', html`<div class="body">${payloadTree(payload)}</div>`, 'payload')}`;
}

function section(title: string, content: Renderable, id: string): Html {
  return html`<div class="section" id="${id}"><h2>${title}</h2>${content}</div>`;
}

function kvTable(rows: [string, unknown][]): Html {
  const shown = rows.filter(([, v]) => v !== undefined && v !== null && v !== '');
  return html`<table class="kv">${shown.map(([k, v]) => html`<tr><th>${k}</th><td>${typeof v === 'object' ? JSON.stringify(v) : String(v)}</td></tr>`)}</table>`;
}

function message(event: StoredEvent, hasException: boolean): Html {
  if (!event.message || (hasException && event.message === event.title)) return html``;
  return section('Message', html`<div class="body"><pre class="snippet">${event.message}</pre></div>`, 'message');
}

/** Outermost (the one that was thrown last) first, then what caused it. */
function exceptionsOf(payload: Payload): SentryException[] {
  const exc = payload.exception as { values?: SentryException[] } | SentryException[] | undefined;
  const values = Array.isArray(exc) ? exc : (exc?.values ?? []);
  return values.filter((v) => v && typeof v === 'object').slice().reverse();
}

function exceptionBlock(exc: SentryException, causedBy: boolean): Html {
  const frames = [...(exc.stacktrace?.frames ?? [])].filter((f) => f && typeof f === 'object').reverse(); // most recent call first
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
  const pre = Array.isArray(frame.pre_context) ? frame.pre_context : [];
  const post = Array.isArray(frame.post_context) ? frame.post_context : [];
  const line = typeof frame.lineno === 'number' ? frame.lineno : null;
  const rows = [...pre.map((t, i) => [t, line === null ? null : line - pre.length + i, false] as const), [frame.context_line ?? '', line, true] as const, ...post.map((t, i) => [t, line === null ? null : line + 1 + i, false] as const)];
  return html`<div class="context">${rows.map(([text, no, cur]) => html`<div class="ln${cur ? ' cur' : ''}"><span class="no">${no ?? ''}</span><span>${String(text)}</span></div>`)}</div>`;
}

function breadcrumbs(payload: Payload): Html {
  const raw = payload.breadcrumbs as { values?: SentryBreadcrumb[] } | SentryBreadcrumb[] | undefined;
  const crumbs = (Array.isArray(raw) ? raw : (raw?.values ?? [])).filter((c) => c && typeof c === 'object').slice(-100);
  if (!crumbs.length) return html``;
  const time = (t: unknown) => {
    const ms = typeof t === 'number' ? t * 1000 : typeof t === 'string' ? Date.parse(t) : NaN;
    return Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 23) : '';
  };
  const rows = crumbs.map(
    (c) => html`<tr><td class="time">${time(c.timestamp)}</td><td class="cat">${c.category ?? c.type ?? ''}${c.level && c.level !== 'info' ? html` <span class="badge lvl-${c.level === 'fatal' ? 'fatal' : c.level === 'warning' ? 'warning' : 'error'}">${c.level}</span>` : ''}</td><td class="msg">${c.message ?? ''}${c.data ? html` <span class="faint">${JSON.stringify(c.data)}</span>` : ''}</td></tr>`,
  );
  return section(`Breadcrumbs (${crumbs.length})`, html`<div class="body"><table class="crumbs-table">${rows}</table></div>`, 'breadcrumbs');
}

function telegram(event: StoredEvent): Html {
  const tg = telegramOf(event);
  if (!tg) return html``;
  const known = ['update_id', 'update_type', 'chat_id', 'chat_type', 'user_id', 'username', 'language_code', 'role', 'group_id', 'duplicate'];
  const rows: [string, unknown][] = known.map((k) => [k, tg[k]]);
  for (const [k, v] of Object.entries(tg)) if (!known.includes(k) && k !== 'type') rows.push([k, v]);
  return section('Telegram', html`<div class="body">${kvTable(rows)}</div>`, 'telegram');
}

function request(payload: Payload): Html {
  const req = payload.request as Payload | undefined;
  if (!req || typeof req !== 'object') return html``;
  const response = ((payload.contexts as Payload | undefined)?.response ?? {}) as Payload;
  const headers = req.headers && typeof req.headers === 'object' ? (Array.isArray(req.headers) ? Object.fromEntries(req.headers as [string, string][]) : req.headers) : {};
  const rows: [string, unknown][] = [
    ['method', req.method],
    ['url', req.url],
    ['status', response.status_code],
    ['query', req.query_string],
    ...Object.entries(headers as Payload).map(([k, v]): [string, unknown] => [k, v]),
    ['data', req.data],
  ];
  return section('Request', html`<div class="body">${kvTable(rows)}</div>`, 'request');
}

function user(payload: Payload): Html {
  const u = payload.user as Payload | undefined;
  if (!u || typeof u !== 'object' || Object.keys(u).length === 0) return html``;
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

function attachments(event: StoredEvent): Html {
  if (!event.attachments.length) return html``;
  const rows: [string, unknown][] = event.attachments.map((a) => [a.filename, `${a.contentType ?? 'unknown type'}, ${a.size} bytes`]);
  return section('Attachments', html`<div class="body">${kvTable(rows)}</div>`, 'attachments');
}
