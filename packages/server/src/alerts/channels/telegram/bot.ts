import type { Logger } from 'pino';
import { parseDuration } from '../../../lib/time.js';
import type { AlertStore } from '../../../store/alerts.js';
import type { Actor, Issue, Project } from '../../../store/model.js';
import type { StatusChange, Store } from '../../../store/store.js';
import type { AlertConfig } from '../../config.js';
import { issueItem, type AlertItem, type IssueAlertItem, type IssueTracker } from '../../items.js';
import { ClientError } from '../../../lib/errors.js';
import { TelegramApiError, type BotApi } from './api.js';
import { ago, escapeHtml, formatIssueList, parseCallbackData, render, type ButtonAction, type StoredRender } from './format.js';
import { reportFailure } from '../../../lib/failures.js';
import { ownEntry } from '../../../lib/own-entry.js';

export interface AlertBotDeps {
  api: BotApi;
  store: Store;
  alerts: AlertStore;
  config: AlertConfig;
  publicUrl: string;
  logger: Logger;
  workerId: string;
  /** Long-poll timeout; tests shorten it so stop() is quick even without the abort. */
  pollTimeoutSeconds?: number;
  /** More /status lines (Telegram HTML) from outside alerting, e.g. monitors; failures are shown, never thrown. */
  statusExtras?: () => Promise<string[]>;
  /** Creates GitHub issues for the 🐙 button (docs/github.md); absent: the button says GitHub is not set up. */
  tracker?: IssueTracker;
}

interface TgUser {
  id: number;
  username?: string;
  first_name?: string;
}

interface TgMessage {
  message_id: number;
  chat: { id: number; type: string };
  message_thread_id?: number;
  from?: TgUser;
  text?: string;
}

interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  callback_query?: { id: string; from: TgUser; message?: TgMessage; data?: string };
}

const LEASE = 'telegram-poller';
const OFFSET_KEY = 'telegram.offset';
const MUTE_MS: Partial<Record<ButtonAction, number>> = { m1h: 3_600_000, m24h: 86_400_000 };

/**
 * The alert bot's ChatOps: inline buttons on alerts and the /status, /issues, /mute and /silence
 * commands. It receives updates by long polling; a lease in the database makes exactly one
 * process poll (two getUpdates on one token would 409 each other), and the update offset is
 * stored, so a restart neither loses nor repeats a press.
 */
export class AlertBot {
  private stopped = true;
  private running: Promise<void> | null = null;
  private abort = new AbortController();

  constructor(private readonly deps: AlertBotDeps) {}

  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.abort = new AbortController();
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.running;
    this.running = null;
    // Not released: another process takes the bot over when the lease expires (at most a poll later).
    await this.deps.alerts.releaseLease(LEASE, this.deps.workerId).catch((err: unknown) =>
      reportFailure(this.deps.logger, 'alert_bot_lease_release', this.describe(err), 'alert bot: could not release its lease; another process takes over when it expires', {}, 'warn'),
    );
  }

  private async loop(): Promise<void> {
    const timeout = this.deps.pollTimeoutSeconds ?? 25;
    let webhookCleared = false;
    while (!this.stopped) {
      if (!(await this.deps.alerts.lease(LEASE, this.deps.workerId, Date.now(), (timeout + 35) * 1000))) {
        await this.pause(5_000);
        continue;
      }
      try {
        if (!webhookCleared) webhookCleared = Boolean(await this.call('deleteWebhook', {}));
        await this.pollOnce(timeout);
      } catch (err) {
        if (this.stopped) break;
        reportFailure(this.deps.logger, 'alert_bot_poll', this.describe(err), 'alert bot: getUpdates failed; retrying', {}, 'warn');
        await this.pause(err instanceof TelegramApiError && err.code === 409 ? 5_000 : 3_000);
      }
    }
  }

  private async pollOnce(timeout: number): Promise<void> {
    const offset = Number((await this.deps.alerts.getValue(OFFSET_KEY)) ?? 0);
    const updates = await this.deps.api.call<TgUpdate[]>(
      'getUpdates',
      { offset, timeout, allowed_updates: ['message', 'callback_query'] },
      { signal: this.abort.signal, timeoutSeconds: timeout },
    );
    for (const update of updates) {
      // One failing update (a command or a button press) must not stop the ones after it: it is
      // logged and counted, and the offset moves past it.
      await this.handleUpdate(update).catch((err) => reportFailure(this.deps.logger, 'alert_bot_update', this.describe(err), 'alert bot: update failed', { updateId: update.update_id }));
      await this.deps.alerts.setValue(OFFSET_KEY, String(update.update_id + 1));
    }
  }

  private pause(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  async handleUpdate(update: TgUpdate): Promise<void> {
    if (update.callback_query) return this.onButton(update.callback_query);
    const text = update.message?.text;
    if (update.message && text?.startsWith('/')) return this.onCommand(update.message, text);
  }

  // ── buttons ───────────────────────────────────────────────────────────────

  private isAdmin(user: TgUser | undefined): boolean {
    return user !== undefined && this.deps.config.telegram.admins.includes(user.id);
  }

  private async onButton(query: NonNullable<TgUpdate['callback_query']>): Promise<void> {
    const press = parseCallbackData(query.data ?? '');
    if (!this.isAdmin(query.from)) {
      await this.answer(query.id, `Not allowed: your Telegram id ${query.from.id} is not in BOTPULSE_TELEGRAM_ADMINS.`, true);
      return;
    }
    const issue = press ? await this.deps.store.getIssue(press.issueId) : null;
    if (!press || !issue) {
      await this.answer(query.id, 'This issue no longer exists.', true);
      return;
    }
    if (press.action === 'gh') return this.onGithubButton(query, issue);
    // Answer before the work: Telegram's spinner stops and the ~15 s answer deadline is never at risk.
    await this.answer(query.id, `${ACTION_DONE[press.action]} ${issue.shortId}`, false);
    const by = who(query.from);
    await this.apply(press.action, issue, by, query.from);
    if (query.message) await this.refresh(query.message, { issueId: issue.id, action: press.action, by, at: Date.now() });
  }

  /** 🐙: queue the issue's GitHub issue (one per issue, however many presses), and say what happened. */
  private async onGithubButton(query: NonNullable<TgUpdate['callback_query']>, issue: Issue): Promise<void> {
    if (!this.deps.tracker) return this.answer(query.id, 'GitHub is not set up on this Botpulse (docs/github.md).', true);
    const by = who(query.from);
    let link: Awaited<ReturnType<IssueTracker['create']>>;
    try {
      link = await this.deps.tracker.create(issue, `telegram:${by}`);
    } catch (err) {
      if (err instanceof ClientError) return this.answer(query.id, err.message.slice(0, 190), true);
      throw err;
    }
    const text = link.number !== null ? `${issue.shortId} is GitHub issue #${link.number}` : `🐙 GitHub issue for ${issue.shortId} is being created`;
    await this.answer(query.id, text, false);
    this.deps.logger.info({ issue: issue.shortId, by }, 'alert bot: GitHub issue requested from Telegram');
    if (query.message) await this.refresh(query.message, { issueId: issue.id, action: 'gh', by, at: Date.now() });
  }

  private async apply(action: ButtonAction, issue: Issue, by: string, from: TgUser): Promise<Issue> {
    const now = Date.now();
    const actor: Actor = { kind: 'telegram', name: by };
    const change: StatusChange =
      action === 'ack'
        ? { status: 'in_progress', actor }
        : action === 'res'
          ? { status: 'resolved', actor }
          : action === 'reo'
            ? { status: 'new', actor }
            : { status: 'ignored', ignoreUntil: now + MUTE_MS[action]!, actor };
    let updated = await this.deps.store.setIssueStatus(issue.id, change);
    // Any answer from a human stops a critical alert's repeats; a reopen waits for the next trigger.
    if (action !== 'reo') await this.deps.alerts.acknowledge(issue.id, by, now);
    if (action === 'ack') {
      await this.deps.store.addIssueHistory(issue.id, actor, 'acknowledged', {});
      // The presser takes the issue when their Telegram account is linked to a dashboard user.
      const login = await this.deps.store.loginForTelegram({ id: from.id, username: from.username ?? null });
      if (login) updated = await this.deps.store.assignIssue(issue.id, login, actor);
    }
    this.deps.logger.info({ issue: issue.shortId, action, by }, 'alert bot: issue changed from Telegram');
    return updated;
  }

  /** Re-renders the pressed message with the issues' current state and who pressed what. */
  private async refresh(message: TgMessage, action: { issueId: number; action: ButtonAction; by: string; at: number }): Promise<void> {
    const chatId = String(message.chat.id);
    const stored = await this.deps.alerts.findMessage('telegram', chatId, String(message.message_id));
    if (!stored) return;
    await this.deps.alerts.addMessageAction(stored.id, action);
    const { layout, items } = stored.items as StoredRender;
    const current = await Promise.all(items.map((item) => this.withCurrentStatus(item)));
    const { text, reply_markup } = render({ layout, items: current }, [...stored.actions, action]);
    await this.edit(chatId, message.message_id, text, reply_markup);
  }

  private async withCurrentStatus(item: AlertItem): Promise<AlertItem> {
    if (item.kind !== 'issue') return item;
    const issue = await this.deps.store.getIssue(item.issueId);
    if (!issue) return item;
    const github = item.github ? { ...item.github, number: issue.githubNumber, url: issue.githubUrl } : item.github;
    return { ...item, status: issue.status, ...(github ? { github } : {}) };
  }

  private async edit(chatId: string, messageId: number, text: string, replyMarkup: unknown): Promise<void> {
    try {
      await this.call('editMessageText', { chat_id: chatId, message_id: messageId, text, parse_mode: 'HTML', link_preview_options: { is_disabled: true }, reply_markup: replyMarkup });
    } catch (err) {
      // Two presses rendering the same state: Telegram says "not modified", which is success.
      if (err instanceof TelegramApiError && err.description.toLowerCase().includes('message is not modified')) return;
      throw err;
    }
  }

  private async answer(queryId: string, text: string, alert: boolean): Promise<void> {
    await this.call('answerCallbackQuery', { callback_query_id: queryId, text, show_alert: alert }).catch((err) =>
      reportFailure(this.deps.logger, 'alert_bot_reply', this.describe(err), 'alert bot: answerCallbackQuery failed', {}, 'warn'),
    );
  }

  // ── commands ──────────────────────────────────────────────────────────────

  private async onCommand(message: TgMessage, text: string): Promise<void> {
    const [head = '', ...args] = text.trim().split(/\s+/);
    const command = head.slice(1).split('@')[0]!.toLowerCase();
    const handler = ownEntry(COMMANDS, command);
    if (!handler) return;
    if (!handler.public && !this.mayRead(message)) {
      await this.reply(message, `Not allowed: your Telegram id ${message.from?.id ?? '?'} is not in BOTPULSE_TELEGRAM_ADMINS and this chat (${message.chat.id}) is not an alert chat.`);
      return;
    }
    if (handler.adminOnly && !this.isAdmin(message.from)) {
      await this.reply(message, `Not allowed: /${command} needs a Telegram id listed in BOTPULSE_TELEGRAM_ADMINS (yours is ${message.from?.id ?? '?'}).`);
      return;
    }
    await handler.run.call(this, message, args);
  }

  /** Read-only commands: admins anywhere, anyone in a configured alert chat. */
  private mayRead(message: TgMessage): boolean {
    return this.isAdmin(message.from) || this.deps.config.defaults.chatIds.includes(String(message.chat.id));
  }

  async status(message: TgMessage): Promise<void> {
    const projects = await this.deps.store.listProjects();
    const lines = await Promise.all(projects.map((p) => this.projectStatus(p)));
    const targets = (await this.deps.alerts.listTargets()).filter((t) => t.disabledAt);
    const disabled = targets.map((t) => `⚠️ ${t.channel} ${escapeHtml(t.target)} disabled: ${escapeHtml(t.disabledReason ?? '')}`);
    const parked = await this.deps.alerts.countOutbox('parked');
    if (parked) disabled.push(`⚠️ ${parked} alert${parked === 1 ? '' : 's'} could not be built or sent because of an error in Botpulse and ${parked === 1 ? 'was' : 'were'} parked (GET /api/v1/alerts, the log)`);
    const extras = this.deps.statusExtras ? await this.deps.statusExtras().catch((err: Error) => [`<i>Digest and monitor status unavailable: ${escapeHtml(err.message)}</i>`]) : [];
    const text = ['<b>Botpulse status</b>', ...(lines.length ? lines : ['No projects yet.']), ...disabled, ...extras].join('\n');
    await this.reply(message, text);
  }

  private async projectStatus(project: Project): Promise<string> {
    const counts = await this.deps.store.issueStatusCounts(project.id);
    const { issues } = await this.deps.store.listIssues({ projectId: project.id, limit: 1, sort: 'last_seen' });
    const open = counts.new + counts.in_progress;
    const last = issues[0] ? `last event ${ago(issues[0].lastSeen)}` : 'no events yet';
    const mark = counts.new > 0 ? '🟠' : '🟢';
    return `${mark} <b>${escapeHtml(project.name)}</b>: ${open} open issue${open === 1 ? '' : 's'} (${counts.new} new, ${counts.in_progress} in progress) · ${last}`;
  }

  async issues(message: TgMessage, args: string[]): Promise<void> {
    const project = args[0] ? await this.deps.store.getProject(args[0]) : null;
    if (args[0] && !project) return this.say(message, `No project "${escapeHtml(args[0])}".`);
    const { issues } = await this.deps.store.listIssues({ status: ['new', 'in_progress'], sort: 'last_seen', limit: 5, ...(project ? { projectId: project.id } : {}) });
    const items = (await Promise.all(issues.map((i) => this.listItem(i)))).filter((i): i is IssueAlertItem => i !== null);
    const { text, reply_markup } = formatIssueList(items);
    const sent = await this.reply(message, text, reply_markup.inline_keyboard.length ? reply_markup : undefined);
    if (sent && items.length) {
      await this.deps.alerts.saveMessage({
        channel: 'telegram',
        target: String(message.chat.id),
        messageId: String(sent.message_id),
        threadId: message.message_thread_id ?? null,
        projectId: items[0]!.project.id,
        issueIds: items.map((i) => i.issueId),
        items: { layout: 'list', items } satisfies StoredRender,
        createdAt: Date.now(),
      });
    }
  }

  private async listItem(issue: Issue): Promise<IssueAlertItem | null> {
    const project = await this.deps.store.getProject(issue.projectId);
    if (!project) return null;
    return issueItem(this.deps.store, { id: project.id, slug: project.slug, name: project.name }, issue.id, null, 'alert', [], this.deps.publicUrl, {
      onUnreadableEvent: (err) => reportFailure(this.deps.logger, 'alert_unreadable_event', this.describe(err), 'the latest event of an issue could not be read; /issues lists it without event details', { issueId: issue.id }),
    });
  }

  async mute(message: TgMessage, args: string[]): Promise<void> {
    const [shortId, duration] = args;
    if (!shortId || !duration) return this.say(message, 'Usage: /mute &lt;short id&gt; &lt;duration&gt;, e.g. /mute PAY-012 2h');
    const ms = parseDurationOrNull(duration);
    if (ms === null) return this.say(message, `"${escapeHtml(duration)}" is not a duration; use e.g. 30m, 2h or 7d.`);
    const issue = await this.findByShortId(shortId);
    if (!issue) return this.say(message, `No issue ${escapeHtml(shortId)}.`);
    const until = Date.now() + ms;
    await this.deps.store.setIssueStatus(issue.id, { status: 'ignored', ignoreUntil: until, actor: { kind: 'telegram', name: who(message.from) } });
    await this.deps.alerts.acknowledge(issue.id, who(message.from), Date.now());
    await this.reply(message, `🔕 <code>${escapeHtml(issue.shortId)}</code> muted until ${new Date(until).toISOString().slice(0, 16).replace('T', ' ')} UTC. It alerts again if it recurs after that.`);
  }

  /** `/silence <project slug|all> <duration>`: no alert is sent (they are still recorded) until it ends. */
  async silence(message: TgMessage, args: string[]): Promise<void> {
    const [scope, duration] = args;
    if (!scope || !duration) return this.say(message, 'Usage: /silence &lt;project slug or all&gt; &lt;duration&gt;, e.g. /silence pay-bot 1h');
    const ms = parseDurationOrNull(duration);
    if (ms === null) return this.say(message, `"${escapeHtml(duration)}" is not a duration; use e.g. 30m, 2h or 7d.`);
    const project = scope === 'all' ? null : await this.deps.store.getProject(scope);
    if (scope !== 'all' && !project) return this.say(message, `No project "${escapeHtml(scope)}".`);
    const now = Date.now();
    await this.deps.alerts.addSilence({ projectId: project?.id ?? null, issueId: null, endsAt: now + ms, createdBy: who(message.from), reason: 'telegram /silence', createdAt: now });
    await this.reply(message, `🔇 Alerts for ${project ? `<b>${escapeHtml(project.name)}</b>` : 'every project'} silenced until ${new Date(now + ms).toISOString().slice(0, 16).replace('T', ' ')} UTC.`);
  }

  async help(message: TgMessage): Promise<void> {
    await this.reply(
      message,
      [
        '<b>Botpulse alert bot</b>',
        `This chat's id: <code>${message.chat.id}</code>${message.message_thread_id ? `, topic <code>${message.message_thread_id}</code>` : ''}.`,
        '/status: every project at a glance',
        '/issues [project]: the top open issues, with buttons',
        '/mute &lt;short id&gt; &lt;duration&gt;: mute an issue (admins)',
        '/silence &lt;project|all&gt; &lt;duration&gt;: silence alerts (admins)',
      ].join('\n'),
    );
  }

  private async findByShortId(shortId: string): Promise<Issue | null> {
    for (const project of await this.deps.store.listProjects()) {
      if (!shortId.toUpperCase().startsWith(`${project.shortIdPrefix.toUpperCase()}-`)) continue;
      const issue = await this.deps.store.getIssueByShortId(project.id, shortId);
      if (issue) return issue;
    }
    return null;
  }

  private async say(message: TgMessage, text: string): Promise<void> {
    await this.reply(message, text);
  }

  private async reply(message: TgMessage, text: string, replyMarkup?: unknown): Promise<{ message_id: number } | null> {
    try {
      return await this.call<{ message_id: number }>('sendMessage', {
        chat_id: message.chat.id,
        text,
        parse_mode: 'HTML',
        link_preview_options: { is_disabled: true },
        ...(message.message_thread_id ? { message_thread_id: message.message_thread_id } : {}),
        ...(replyMarkup ? { reply_markup: replyMarkup } : {}),
      });
    } catch (err) {
      reportFailure(this.deps.logger, 'alert_bot_reply', this.describe(err), 'alert bot: reply failed', {}, 'warn');
      return null;
    }
  }

  private call<T>(method: string, params: Record<string, unknown>): Promise<T> {
    return this.deps.api.call<T>(method, params, { signal: this.abort.signal });
  }

  /** Errors are logged as scrubbed text: a Bot API URL carries the token. */
  private describe(err: unknown): string {
    return this.deps.api.scrub(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  }
}

const ACTION_DONE: Record<ButtonAction, string> = {
  ack: '👀 Acknowledged',
  res: '✅ Resolved',
  m1h: '🔕 Muted for 1 h:',
  m24h: '🔕 Muted for 24 h:',
  reo: '↩️ Reopened',
  gh: '🐙 GitHub issue requested:',
};

type CommandHandler = { adminOnly: boolean; public?: boolean; run: (this: AlertBot, message: TgMessage, args: string[]) => Promise<void> };

const COMMANDS: Record<string, CommandHandler> = {
  status: { adminOnly: false, run: AlertBot.prototype.status },
  issues: { adminOnly: false, run: AlertBot.prototype.issues },
  mute: { adminOnly: true, run: AlertBot.prototype.mute },
  silence: { adminOnly: true, run: AlertBot.prototype.silence },
  start: { adminOnly: false, public: true, run: AlertBot.prototype.help },
  help: { adminOnly: false, public: true, run: AlertBot.prototype.help },
};

function who(user: TgUser | undefined): string {
  if (!user) return 'someone';
  return user.username ? `@${user.username}` : `${user.first_name ?? 'user'} (${user.id})`;
}

function parseDurationOrNull(text: string): number | null {
  try {
    return parseDuration(text);
  } catch {
    return null;
  }
}
