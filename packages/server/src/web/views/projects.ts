import type { Project } from '../../store/model.js';
import type { ClientDiscardTotal } from '../../store/store.js';
import { html, type Html } from '../html.js';
import { ago, fullNumber } from './components.js';
import { formatLinkTemplates } from '../links.js';
import { csrfField, may, page, type PageContext } from './layout.js';

export interface ProjectView {
  project: Project;
  dsn: string;
  /** After a key rotation: the old DSN, still accepted until `expiresAt`. */
  previous: { dsn: string; expiresAt: number } | null;
  /** A project being deleted: what is left. */
  deletion: { eventsLeft: number; issuesLeft: number; running: boolean; startedAt: string } | null;
  settings: Record<string, string>;
  threadId: number | null;
  graceHours: number;
  counts: { unresolved: number };
  /** What the bot's SDK dropped before sending (its client reports); absent on the list page. */
  discards?: ClientDiscardTotal[];
  /** Events stored and their compressed payload size; absent on the list page. */
  storage?: { events: number; payloadBytes: number; measuredAt: number };
}

export function projectListPage(ctx: PageContext, projects: ProjectView[], opts: { flash?: string; errors?: string[]; form?: { name: string; shortIdPrefix: string } } = {}): Html {
  const cards = projects.map(
    (p) => html`<div class="panel" data-project="${p.project.slug}"><div class="panel-body">
  <div class="page-head" style="margin-bottom:8px"><h3 style="margin:0"><a href="/projects/${p.project.slug}">${p.project.name}</a></h3>
    <span class="badge outline">${p.project.slug}</span><span class="badge outline">${p.project.shortIdPrefix}-001</span>${p.deletion ? html`<span class="badge">deleting…</span>` : ''}<span class="spacer"></span>
    <a class="btn small" href="/issues?project=${p.project.slug}">${p.counts.unresolved} unresolved</a>
    <a class="btn small" href="/projects/${p.project.slug}">Settings &amp; setup</a></div>
  ${p.deletion ? '' : dsnRow(p.dsn)}
</div></div>`,
  );
  const form = opts.form ?? { name: '', shortIdPrefix: '' };
  const create = may(ctx, 'admin')
    ? html`<div class="section" id="new-project" style="margin-bottom:14px"><h2>New project</h2><div class="body">
<form method="post" action="/projects" class="inline-form">${csrfField(ctx)}
  <input name="name" placeholder="Name, e.g. Pay Bot" required maxlength="100" value="${form.name}" aria-label="Project name">
  <input name="shortIdPrefix" placeholder="Prefix (optional), e.g. PAY" pattern="[A-Za-z]{1,6}" title="1 to 6 letters" value="${form.shortIdPrefix}" aria-label="Short-id prefix" style="width:190px">
  <button class="primary" type="submit">Create project</button>
</form>
<p class="muted" style="margin:8px 0 0;font-size:12.5px">One project per bot. Issues are named by the prefix (1–6 letters): <code>PAY-001</code>. Also <code>npx botpulse project create "Pay Bot"</code>.</p></div></div>`
    : '';
  const body = html`<div class="page-head"><h1>Projects</h1></div>
${opts.flash ? html`<div class="flash" role="status">${opts.flash}</div>` : ''}
${opts.errors?.length ? html`<div class="flash error" role="alert">${opts.errors.map((e) => html`<div>${e}</div>`)}</div>` : ''}
${create}
${cards}`;
  return page(ctx, { title: 'Projects', section: 'projects', body });
}

function dsnRow(dsn: string): Html {
  return html`<div class="copy-row"><code class="dsn">${dsn}</code><button type="button" class="small" data-copy="${dsn}">Copy DSN</button></div>`;
}

export function projectPage(ctx: PageContext, p: ProjectView, opts: { flash?: string; errors?: string[] } = {}): Html {
  const body = html`<div class="crumbs"><a href="/projects">Projects</a><span>/</span><span>${p.project.name}</span></div>
<div class="page-head"><h1>${p.project.name}</h1><span class="spacer"></span><a class="btn small" href="/issues?project=${p.project.slug}">Issues →</a></div>
${opts.flash ? html`<div class="flash" role="status">${opts.flash}</div>` : ''}
${opts.errors?.length ? html`<div class="flash error" role="alert">${opts.errors.map((e) => html`<div>${e}</div>`)}</div>` : ''}
${p.deletion ? deletionFragment(p) : html`${dsnSection(ctx, p)}
<div class="grid-2" style="margin-top:14px">
  <div class="section"><h2>Set up</h2><div class="body snippets">${snippets(p.dsn)}</div></div>
  <div class="section"><h2>Settings</h2><div class="body">${settingsForm(ctx, p)}</div></div>
</div>
${may(ctx, 'admin') ? html`<div class="section" style="margin-top:14px"><h2>Alert rules and silences</h2><div class="body"><a class="btn small" href="/projects/${p.project.slug}/alerts">View and edit the alert rules →</a></div></div>` : html`<div class="section" style="margin-top:14px"><h2>Alert rules and silences</h2><div class="body"><a class="btn small" href="/projects/${p.project.slug}/alerts">View the alert rules →</a></div></div>`}
${discardSection(ctx, p.discards ?? [])}
${p.storage ? storageSection(ctx, p.storage) : ''}
${may(ctx, 'admin') && ctx.role ? deleteSection(ctx, p) : ''}`}`;
  return page(ctx, { title: p.project.name, section: 'projects', body });
}

/** A project being deleted: what is left, polled every 2 s until the project is gone. */
export function deletionFragment(p: ProjectView | null): Html {
  if (!p) return html`<div class="section" id="deletion"><h2>Deleted</h2><div class="body"><p style="margin:0">The project and all its data are deleted. <a href="/projects">Back to the projects</a></p></div></div>`;
  const d = p.deletion!;
  return html`<div class="section" id="deletion" hx-get="/projects/${p.project.slug}/deletion" hx-trigger="every 2s" hx-swap="outerHTML"><h2>Deleting this project</h2><div class="body">
  <p style="margin:0 0 6px" data-deletion-progress>Left to remove: <b>${fullNumber(d.eventsLeft)}</b> events in <b>${fullNumber(d.issuesLeft)}</b> issues${d.running ? '' : html` <span class="faint">(waiting: the server resumes the removal at its next start)</span>`}.</p>
  <p class="muted" style="margin:0;font-size:12.5px">Started ${d.startedAt}. Events sent with this project's DSN are refused (HTTP 410) from the start; this page updates itself.</p></div></div>`;
}

function dsnSection(ctx: PageContext, p: ProjectView): Html {
  return html`<div class="section" id="dsn"><h2>DSN</h2><div class="body">${dsnRow(p.dsn)}
  ${p.previous ? html`<div class="copy-row" style="margin-top:8px" data-previous-dsn><span class="muted" style="white-space:nowrap">Previous key, accepted until <time datetime="${new Date(p.previous.expiresAt).toISOString()}" data-abs>${new Date(p.previous.expiresAt).toISOString().replace('T', ' ').slice(0, 16)} UTC</time>:</span><code class="dsn">${p.previous.dsn}</code></div>` : ''}
  <p class="muted" style="margin:8px 0 0;font-size:12.5px">Any Sentry SDK accepts it: set <code>SENTRY_DSN</code> or pass it to <code>init</code>.</p>
  ${may(ctx, 'admin') ? html`<form method="post" action="/projects/${p.project.slug}/rotate-key" class="inline-form" style="margin-top:8px" data-confirm="Rotate the DSN key? The current key keeps working for ${String(p.graceHours)} h, then events sent with it are refused.">${csrfField(ctx)}
    <button class="small" type="submit">Rotate key</button><span class="hint muted" style="font-size:12px">A new key; the current one is still accepted for ${String(p.graceHours)} h (<code>BOTPULSE_DSN_KEY_GRACE_HOURS</code>), then refused.</span></form>` : ''}</div></div>`;
}

function deleteSection(ctx: PageContext, p: ProjectView): Html {
  return html`<div class="section" id="delete-project" style="margin-top:14px"><h2>Delete this project</h2><div class="body">
<form method="post" action="/projects/${p.project.slug}/delete" class="inline-form">${csrfField(ctx)}
  <label for="confirm-delete">Type <code>${p.project.slug}</code> to confirm</label>
  <input id="confirm-delete" name="confirm" required autocomplete="off" pattern="${p.project.slug}">
  <button class="danger" type="submit">Delete project and all its data</button>
</form>
<p class="muted" style="margin:8px 0 0;font-size:12.5px">Its events are refused at once; its issues, events, monitors and settings are removed in the background.</p></div></div>`;
}

/** Sentry's discard reasons, in words (docs/sdk.md, "Client reports"); others are shown as sent. */
const DISCARD_REASONS: Record<string, string> = {
  queue_overflow: 'memory queue full (and no room on disk)',
  cache_overflow: 'disk queue full, oldest deleted',
  buffer_overflow: 'buffer full',
  network_error: 'network error after every retry',
  send_error: 'refused by the server, or unsent when the process ended',
  ratelimit_backoff: 'rate limited longer than the retries',
  sample_rate: 'left out by sampleRate',
  before_send: 'dropped by beforeSend',
  event_processor: 'filtered in the SDK (error-storm guard, event processor)',
  backpressure: 'SDK under backpressure',
  internal_sdk_error: 'SDK internal error',
  insufficient_data: 'insufficient data',
};

/**
 * What the bot never sent, by its own account (Sentry client reports from @botpulse/sdk,
 * @sentry/node, sentry-python): the events missing from the issue list, and why.
 */
function discardSection(ctx: PageContext, discards: ClientDiscardTotal[]): Html {
  const body = discards.length
    ? html`<table class="crumbs-table discards"><tr><th>Reason</th><th>Category</th><th>Dropped</th><th>Last reported</th></tr>${discards.map(
        (d) => html`<tr><td class="msg"><code>${d.reason}</code> <span class="faint">${DISCARD_REASONS[d.reason] ?? ''}</span></td><td class="cat">${d.category}</td><td>${fullNumber(d.quantity)}</td><td class="time">${ago(d.lastAt, ctx.now)}</td></tr>`,
      )}</table>`
    : html`<p class="muted" style="margin:0">Nothing: no client report of this project's SDKs mentioned a dropped event.</p>`;
  return html`<div class="section" id="dropped" style="margin-top:14px"><h2>Dropped before sending</h2><div class="body">${body}
  <p class="muted" style="margin:8px 0 0;font-size:12.5px">Counted by the bot's SDK (Sentry client reports) and sent later: events the bot could not deliver or chose not to. Also in <code>/metrics</code> as <code>botpulse_sdk_discarded_events_total</code>.</p></div></div>`;
}

/** What the project holds on disk: its events (issues, counts and tags are small beside them). */
function storageSection(ctx: PageContext, storage: NonNullable<ProjectView['storage']>): Html {
  const mb = storage.payloadBytes / 2 ** 20;
  return html`<div class="section" id="storage" style="margin-top:14px"><h2>Storage</h2><div class="body">
  <p style="margin:0"><b class="num">${fullNumber(storage.events)}</b> events stored, <b class="num">${mb < 10 ? mb.toFixed(1) : fullNumber(Math.round(mb))} MB</b> of compressed payloads
    <span class="faint">(measured ${ago(storage.measuredAt, ctx.now)})</span>.</p>
  <p class="muted" style="margin:8px 0 0;font-size:12.5px">Events older than the retention are pruned daily; an issue with more events than its cap keeps its first and latest events and one per hour, and its counts stay exact (<code>BOTPULSE_ISSUE_KEEP_FIRST</code>, <code>BOTPULSE_ISSUE_KEEP_LATEST</code>).</p></div></div>`;
}

function settingsForm(ctx: PageContext, p: ProjectView): Html {
  const admin = may(ctx, 'admin');
  const ro = admin ? '' : html` readonly`;
  // A non-admin sees the values in a form that posts nowhere (no button, read-only fields).
  const open = admin ? html`<form method="post" action="/projects/${p.project.slug}" class="form-grid">${csrfField(ctx)}` : html`<form class="form-grid" aria-readonly="true">`;
  return html`${open}
  <div class="field"><label for="name">Name</label><input id="name" name="name" value="${p.project.name}" required maxlength="100"${ro}></div>
  <div class="field"><label for="prefix">Short-id prefix</label><input id="prefix" name="shortIdPrefix" value="${p.project.shortIdPrefix}" pattern="[A-Za-z]{1,6}" required${ro}>
    <span class="hint">Issues are named ${p.project.shortIdPrefix}-001, ${p.project.shortIdPrefix}-002… (1–6 letters; existing issues are renamed too).</span></div>
  <div class="field"><label for="links">Link templates</label>
    <textarea id="links" name="linkTemplates" rows="4"${ro} placeholder="user https://admin.example.com/users/{user.id}&#10;generation https://admin.example.com/gen/{tags.gen_request_id}">${formatLinkTemplates(p.project.linkTemplates)}</textarea>
    <span class="hint">One per line: <code>name url</code>. Placeholders: <code>{user.id}</code>, <code>{tags.gen_request_id}</code>, <code>{telegram.chat_id}</code>, <code>{telegram.user_id}</code>, <code>{event.id}</code>. Values are URL-encoded; a link whose value is missing is not shown.</span></div>
  <div class="field"><label for="chat">Alert chat id</label><input id="chat" name="alertChatId" value="${p.settings.alert_chat_id ?? ''}" placeholder="-1001234567890 or @channel"${ro}>
    <span class="hint">Where this bot's Telegram alerts go, instead of <code>ERROR_ALERT_CHAT_ID</code>; empty: that one. Several: comma-separated.</span></div>
  <div class="field"><label for="thread">Alert thread id</label><input id="thread" name="alertThreadId" value="${p.threadId === null ? '' : String(p.threadId)}" placeholder="e.g. 42" inputmode="numeric"${ro}>
    <span class="hint">A forum topic of the alert chat (its <code>message_thread_id</code>); empty: <code>BOTPULSE_ALERT_THREAD_ID</code>, else the chat itself.</span></div>
  ${admin ? html`<div><button class="primary" type="submit">Save</button></div>` : html`<p class="muted" style="margin:0;font-size:12.5px">Only an admin changes these.</p>`}
</form>`;
}

/** Setup for each supported client, with this project's DSN filled in. */
function snippets(dsn: string): Html {
  const block = (title: string, code: string, open = false, note?: Html) =>
    html`<details${open ? ' open' : ''}><summary>${title}</summary><div>${note ?? ''}<pre class="snippet"><code>${code}</code></pre></div></details>`;
  return html`
${block('grammY with @sentry/node', `import * as Sentry from '@sentry/node';
import { Bot } from 'grammy';

Sentry.init({ dsn: '${dsn}', release: process.env.RELEASE, environment: 'production' });

const bot = new Bot(process.env.BOT_TOKEN);
bot.catch(({ error, ctx }) => {
  Sentry.withScope((scope) => {
    scope.setContext('telegram', { update_id: ctx.update.update_id, chat_id: ctx.chat?.id, user_id: ctx.from?.id });
    scope.setUser({ id: String(ctx.from?.id ?? '') });
    Sentry.captureException(error);
  });
});`, true)}
${block('grammY with @botpulse/sdk (Telegram-aware)', `import { Bot } from 'grammy';
import { init, instrumentGrammy } from '@botpulse/sdk';

init({ dsn: '${dsn}', flushOnExit: true });
const bot = new Bot(process.env.BOT_TOKEN);
instrumentGrammy(bot); // before any other bot.use: Telegram context, noise filtering
bot.start();`, false, html`<p class="muted" style="margin:0 0 6px;font-size:12.5px">Not on the npm registry yet: build its tarball from the Botpulse repository (<code>cd packages/sdk &amp;&amp; npm pack</code>) and <code>npm install ./botpulse-sdk-0.1.0.tgz</code> in your bot; see <code>docs/sdk.md#install</code>. Telegraf: <code>instrumentTelegraf(bot)</code>.</p>`)}
${block('Telegraf', `import * as Sentry from '@sentry/node';
import { Telegraf } from 'telegraf';

Sentry.init({ dsn: '${dsn}' });
const bot = new Telegraf(process.env.BOT_TOKEN);
bot.catch((err, ctx) => {
  Sentry.withScope((scope) => {
    scope.setContext('telegram', { update_id: ctx.update.update_id, chat_id: ctx.chat?.id, user_id: ctx.from?.id });
    Sentry.captureException(err);
  });
});`)}
${block('@sentry/node (any Node app)', `import * as Sentry from '@sentry/node';
Sentry.init({ dsn: '${dsn}', release: 'my-bot@1.0.0' });

// or without code changes: SENTRY_DSN='${dsn}' node bot.js`)}
${block('Python: sentry-sdk (aiogram, python-telegram-bot)', `import sentry_sdk

sentry_sdk.init(dsn="${dsn}", release="my-bot@1.0.0", send_default_pii=False)

# aiogram: @dp.errors() handler → sentry_sdk.capture_exception(event.exception)
# python-telegram-bot: application.add_error_handler(lambda u, c: sentry_sdk.capture_exception(c.error))`)}`;
}
