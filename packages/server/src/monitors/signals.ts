import type { BotSignalsState, MinuteReport, Monitor, SignalName, SignalRuleState, WebhookReport } from '../store/monitors.js';

/**
 * What only the bot can see (docs/monitors.md, "Bot signals"). The SDK's heartbeat carries, in
 * `contexts.bot_signals` of its check-in, its last closed minutes (update lag p50/p95/max, 429
 * answers and their retry_after) and, in webhook mode, Telegram's getWebhookInfo. This module
 * reads that report defensively (a check-in is never refused or dropped for it: what cannot be
 * read is left out and counted) and judges three rules per (monitor, environment), with the
 * threshold rules' Prometheus semantics (pending while breached for less than `for`, firing once,
 * resolved once):
 *
 * - webhook: getWebhookInfo shows a delivery error within BOTPULSE_WEBHOOK_ERROR_RECENT_SECONDS
 *   while updates wait, or no webhook at all. An error with nothing waiting is history: Telegram
 *   delivered since. Judged on each new answer; `for` 0.
 * - update_lag: the p95 lag of a minute above the limit, for N minutes in a row (default 60 s for
 *   5 minutes, per monitor: updateLagSeconds/updateLagMinutes). A bot-side stand-in for seed 002's
 *   queue depth, which needs a /health most polling bots lack.
 * - throttled: 429 retry_after summing to at least the limit within each of N minutes in a row
 *   (default 30 s a minute, 3 minutes).
 *
 * Minute rules are judged over the bot's minutes, in order, each once (`judgedUpTo`): check-ins
 * repeat the last few minutes so a lost one loses nothing, and the evaluation does not depend on
 * when the check-in arrived. A minute without updates is not breached (Prometheus: a series that
 * is absent resets the rule), nor is a minute without 429s; a gap between reported minutes
 * restarts a streak that has not fired yet.
 */

const MINUTE_MS = 60_000;
/** Reported minutes kept per state for the page, /status and /metrics. */
const MINUTES_KEPT = 10;
/** At most this many minutes of one report are read (the SDK sends 5). */
const MINUTES_READ = 60;
/** A minute or an answer dated further than this from the check-in's arrival is not believed. */
const CLOCK_SLACK_MS = 24 * 3_600_000;
const MAX_COUNT = 1e9;
const MAX_SECONDS = 1e8;
const MAX_METHODS = 10;
const METHOD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** What a check-in's `contexts.bot_signals` says, as far as it could be read. */
export interface SignalsReport {
  minutes: MinuteReport[];
  webhook: WebhookReport | null;
  /** Parts that could not be read, e.g. `minutes[2].lag_p95_s: not a number` (at most 10 named). */
  ignored: string[];
  /** How many parts were left out (may exceed the named ones). */
  ignoredCount: number;
}

/** The limits one monitor's rules use (the monitor's own lag rule, else the server's). */
export interface SignalLimits {
  /** Lag p95 (ms) above which a minute is late; null: the rule is off. */
  lagMs: number | null;
  lagForMs: number;
  /** retry_after (ms) a minute from which a minute is throttled; null: off. */
  throttleMs: number | null;
  throttleForMs: number;
  webhookRecentMs: number;
}

/** Something to tell the team: the heartbeat turns it into a monitor notification. */
export interface SignalEvent {
  signal: SignalName;
  firing: boolean;
  kind: 'webhook_failing' | 'webhook_ok' | 'update_lag' | 'update_lag_ok' | 'throttled' | 'throttled_ok';
  /** One line, plain text (the notification escapes it). */
  detail: string;
  value: number | null;
  /** How long the problem lasted (recoveries). */
  lastedMs?: number;
}

class Reader {
  readonly ignored: string[] = [];
  count = 0;

  skip(path: string, why: string): void {
    this.count += 1;
    if (this.ignored.length < 10) this.ignored.push(`${path}: ${why}`);
  }

  /** A finite number in [0, max], else null (absent is not counted as junk). */
  number(value: unknown, path: string, max: number): number | null {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.skip(path, 'not a number'), null;
    if (value < 0 || value > max) return this.skip(path, `out of range (${value})`), null;
    return value;
  }

  /** A time as ISO text or epoch seconds/milliseconds, within a day of `around`. */
  time(value: unknown, path: string, around: number): number | null {
    if (value === undefined || value === null) return null;
    let ms = NaN;
    if (typeof value === 'string') ms = Date.parse(value);
    else if (typeof value === 'number' && Number.isFinite(value)) ms = value > 1e11 ? value : value * 1000;
    if (!Number.isFinite(ms)) return this.skip(path, 'not a time'), null;
    if (Math.abs(ms - around) > CLOCK_SLACK_MS) return this.skip(path, 'more than a day away from the check-in'), null;
    return ms;
  }

  text(value: unknown, path: string, max: number): string | null {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') return this.skip(path, 'not text'), null;
    return [...value].slice(0, max).join('');
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads `contexts.bot_signals` of a check-in. Null when there is none (any Sentry SDK's
 * check-in); never throws: whatever cannot be read is left out and named in `ignored`.
 * @example readBotSignals({ minutes: [{ start: '2026-12-05T10:00:00Z', updates: 3, lag_p95_s: 90 }] }, Date.now())
 */
export function readBotSignals(raw: unknown, receivedAt: number): SignalsReport | null {
  if (raw === undefined || raw === null) return null;
  const r = new Reader();
  if (!isObject(raw)) {
    r.skip('bot_signals', 'not an object');
    return { minutes: [], webhook: null, ignored: r.ignored, ignoredCount: r.count };
  }
  const minutes = readMinutes(r, raw['minutes'], receivedAt);
  const webhook = raw['webhook'] === undefined ? null : readWebhook(r, raw['webhook'], receivedAt);
  return { minutes, webhook, ignored: r.ignored, ignoredCount: r.count };
}

function readMinutes(r: Reader, raw: unknown, receivedAt: number): MinuteReport[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return r.skip('minutes', 'not a list'), [];
  const byStart = new Map<number, MinuteReport>();
  raw.slice(-MINUTES_READ).forEach((entry, i) => {
    const path = `minutes[${i}]`;
    if (!isObject(entry)) return r.skip(path, 'not an object');
    const start = r.time(entry['start'], `${path}.start`, receivedAt);
    if (start === null) return entry['start'] === undefined ? r.skip(`${path}.start`, 'missing') : undefined;
    const minute = Math.floor(start / MINUTE_MS) * MINUTE_MS;
    byStart.set(minute, {
      start: minute,
      updates: Math.round(r.number(entry['updates'], `${path}.updates`, MAX_COUNT) ?? 0),
      dated: Math.round(r.number(entry['dated'], `${path}.dated`, MAX_COUNT) ?? 0),
      lagP50: r.number(entry['lag_p50_s'], `${path}.lag_p50_s`, MAX_SECONDS),
      lagP95: r.number(entry['lag_p95_s'], `${path}.lag_p95_s`, MAX_SECONDS),
      lagMax: r.number(entry['lag_max_s'], `${path}.lag_max_s`, MAX_SECONDS),
      throttled: Math.round(r.number(entry['throttled'], `${path}.throttled`, MAX_COUNT) ?? 0),
      retryAfterSeconds: r.number(entry['retry_after_s'], `${path}.retry_after_s`, MAX_SECONDS) ?? 0,
      methods: readMethods(r, entry['throttled_methods'], `${path}.throttled_methods`),
    });
  });
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

/** 429s by method: real method names only, a few of them (bounded whatever the bot sends). */
function readMethods(r: Reader, raw: unknown, path: string): Record<string, number> {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) return r.skip(path, 'not an object'), {};
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!METHOD_NAME.test(name)) {
      r.skip(path, 'a method name that is no Bot API method name');
      continue;
    }
    if (Object.keys(out).length >= MAX_METHODS) {
      r.skip(path, `more than ${MAX_METHODS} methods`);
      break;
    }
    const n = r.number(value, `${path}.${name}`, MAX_COUNT);
    if (n !== null) out[name] = Math.round(n);
  }
  return out;
}

function readWebhook(r: Reader, raw: unknown, receivedAt: number): WebhookReport | null {
  if (!isObject(raw)) return r.skip('webhook', 'not an object'), null;
  const urlSet = raw['url_set'];
  if (urlSet !== undefined && typeof urlSet !== 'boolean') r.skip('webhook.url_set', 'not true or false');
  return {
    checkedAt: r.time(raw['checked_at'], 'webhook.checked_at', receivedAt),
    urlSet: typeof urlSet === 'boolean' ? urlSet : null,
    pendingUpdateCount: r.number(raw['pending_update_count'], 'webhook.pending_update_count', MAX_COUNT),
    // Telegram keeps the last error for as long as the webhook is set: it may be weeks old, so no day limit here.
    lastErrorAt: readErrorDate(r, raw['last_error_date']),
    lastErrorMessage: r.text(raw['last_error_message'], 'webhook.last_error_message', 500),
    checkError: r.text(raw['check_error'], 'webhook.check_error', 300),
  };
}

function readErrorDate(r: Reader, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const ms = typeof value === 'string' ? Date.parse(value) : typeof value === 'number' && Number.isFinite(value) ? (value > 1e11 ? value : value * 1000) : NaN;
  if (!Number.isFinite(ms) || ms < 0) return r.skip('webhook.last_error_date', 'not a time'), null;
  return ms;
}

const INACTIVE: SignalRuleState = { state: 'inactive', since: null, value: null, detail: null };

/** The state a monitor has before its bot ever reported signals. */
export function emptySignals(): BotSignalsState {
  return {
    webhook: null,
    minutes: [],
    judgedUpTo: null,
    rules: { webhook: { ...INACTIVE }, update_lag: { ...INACTIVE }, throttled: { ...INACTIVE } },
    totals: { updates: 0, throttled: 0, retryAfterSeconds: 0 },
    ignored: { count: 0, last: null, at: null },
  };
}

/**
 * A report applied to a state: the new state and what to tell. With `judge` false (a paused
 * monitor) the report is recorded and its minutes marked judged, but no rule moves.
 */
export function judgeSignals(previous: BotSignalsState | null, report: SignalsReport, limits: SignalLimits, receivedAt: number, judge: boolean): { state: BotSignalsState; events: SignalEvent[] } {
  const base = previous ?? emptySignals();
  const state: BotSignalsState = { ...base, rules: { ...base.rules }, totals: { ...base.totals }, ignored: { ...base.ignored } };
  const events: SignalEvent[] = [];
  if (report.ignoredCount) state.ignored = { count: state.ignored.count + report.ignoredCount, last: report.ignored[report.ignored.length - 1] ?? state.ignored.last, at: receivedAt };
  if (report.webhook) {
    state.webhook = report.webhook;
    if (judge) judgeWebhook(state, report.webhook, limits, receivedAt, events);
  }
  if (judge) endRulesTurnedOff(state, limits, events);
  const fresh = report.minutes.filter((m) => state.judgedUpTo === null || m.start > state.judgedUpTo);
  for (const minute of fresh) {
    const gap = state.judgedUpTo !== null && minute.start - state.judgedUpTo > MINUTE_MS;
    if (judge) {
      if (limits.lagMs !== null) judgeMinute(state, 'update_lag', minute, gap, lagBreach(minute, limits.lagMs), limits.lagForMs, lagText(minute, limits), events);
      if (limits.throttleMs !== null) judgeMinute(state, 'throttled', minute, gap, minute.retryAfterSeconds * 1000 >= limits.throttleMs ? minute.retryAfterSeconds : null, limits.throttleForMs, throttleText(minute, limits), events);
    }
    state.totals.updates += minute.updates;
    state.totals.throttled += minute.throttled;
    state.totals.retryAfterSeconds += minute.retryAfterSeconds;
    state.judgedUpTo = minute.start;
  }
  state.minutes = mergeMinutes(base.minutes, report.minutes);
  return { state, events };
}

/**
 * A rule turned off (the monitor's updateLagSeconds 0, or `off` in the server's config) while it
 * alerted ends with its recovery, saying why: an alert nobody can see end would stay open forever.
 */
function endRulesTurnedOff(state: BotSignalsState, limits: SignalLimits, events: SignalEvent[]): void {
  const off: ['update_lag' | 'throttled', boolean][] = [['update_lag', limits.lagMs === null], ['throttled', limits.throttleMs === null]];
  for (const [signal, isOff] of off) {
    const rule = state.rules[signal];
    if (!isOff || rule.state === 'inactive') continue;
    if (rule.state === 'firing') events.push({ signal, firing: false, kind: signal === 'update_lag' ? 'update_lag_ok' : 'throttled_ok', detail: 'This rule was turned off, so its alert ends here.', value: null });
    state.rules[signal] = { ...INACTIVE };
  }
}

/** The lag p95 (s) when the minute breaches the limit, else null (a minute without dated updates never does). */
function lagBreach(m: MinuteReport, limitMs: number): number | null {
  return m.dated > 0 && m.lagP95 !== null && m.lagP95 * 1000 > limitMs ? m.lagP95 : null;
}

/** One minute of a `for` rule: pending on the first breached minute, firing once it covers `forMs`, resolved by a minute that does not breach. */
function judgeMinute(state: BotSignalsState, signal: 'update_lag' | 'throttled', minute: MinuteReport, gap: boolean, breachValue: number | null, forMs: number, text: { firing: string; resolved: string }, events: SignalEvent[]): void {
  const rule = { ...state.rules[signal] };
  if (breachValue === null) {
    if (rule.state === 'firing') {
      const value = signal === 'update_lag' ? minute.lagP95 : minute.retryAfterSeconds;
      events.push({ signal, firing: false, kind: signal === 'update_lag' ? 'update_lag_ok' : 'throttled_ok', detail: text.resolved, value, lastedMs: minute.start - (rule.since ?? minute.start) });
    }
    state.rules[signal] = { ...INACTIVE };
    return;
  }
  // A streak that has not fired yet needs every minute; a hole in the reports starts it again.
  if (rule.state === 'inactive' || (rule.state === 'pending' && gap)) Object.assign(rule, { state: 'pending', since: minute.start });
  rule.value = breachValue;
  if (rule.state === 'pending' && minute.start + MINUTE_MS - (rule.since ?? minute.start) >= forMs) {
    rule.state = 'firing';
    rule.detail = text.firing;
    events.push({ signal, firing: true, kind: signal, detail: text.firing, value: breachValue });
  }
  state.rules[signal] = rule;
}

function judgeWebhook(state: BotSignalsState, w: WebhookReport, limits: SignalLimits, receivedAt: number, events: SignalEvent[]): void {
  const problem = webhookProblem(w, limits.webhookRecentMs, receivedAt);
  if (problem === undefined) return; // getWebhookInfo failed: nothing new to judge
  const rule = state.rules.webhook;
  const at = w.checkedAt ?? receivedAt;
  if (problem) {
    if (rule.state !== 'firing') events.push({ signal: 'webhook', firing: true, kind: 'webhook_failing', detail: problem, value: w.pendingUpdateCount });
    state.rules.webhook = { state: 'firing', since: rule.state === 'firing' ? rule.since : at, value: w.pendingUpdateCount, detail: problem };
    return;
  }
  if (rule.state === 'firing') {
    const waiting = w.pendingUpdateCount ?? 0;
    events.push({ signal: 'webhook', firing: false, kind: 'webhook_ok', detail: `Telegram delivers to your webhook again (${waiting} update${waiting === 1 ? '' : 's'} waiting).`, value: waiting, lastedMs: at - (rule.since ?? at) });
  }
  state.rules.webhook = { ...INACTIVE, value: w.pendingUpdateCount };
}

/**
 * Why Telegram cannot deliver to the webhook, null when it can, undefined when the bot could not
 * ask. Telegram keeps `last_error_date` after it delivers again, so an error counts only while it
 * is recent and updates wait.
 */
export function webhookProblem(w: WebhookReport, recentMs: number, receivedAt: number): string | null | undefined {
  if (w.checkError) return undefined;
  const pending = w.pendingUpdateCount ?? 0;
  const waiting = `${pending} update${pending === 1 ? '' : 's'} waiting`;
  if (w.urlSet === false) return `Telegram has no webhook set for this bot, so it delivers nothing; ${waiting}`;
  const at = w.checkedAt ?? receivedAt;
  if (w.lastErrorAt !== null && pending > 0 && at - w.lastErrorAt <= recentMs) {
    return `Telegram could not reach your webhook: ${w.lastErrorMessage ?? 'no error message'}; ${waiting}`;
  }
  return null;
}

function lagText(m: MinuteReport, limits: SignalLimits): { firing: string; resolved: string } {
  const limit = `${fmt((limits.lagMs ?? 0) / 1000)} s`;
  return {
    firing: `Updates waited ${fmt(m.lagP95)} s (p95; max ${fmt(m.lagMax)} s) before the bot began handling them, above ${limit} for ${minutes(limits.lagForMs)}.`,
    resolved: m.dated > 0 ? `Update lag p95 ${fmt(m.lagP95)} s, within the limit of ${limit}.` : `No update waited in the last minute (limit ${limit}).`,
  };
}

function throttleText(m: MinuteReport, limits: SignalLimits): { firing: string; resolved: string } {
  const methods = Object.entries(m.methods).map(([name, n]) => `${name} ${n}`).join(', ');
  return {
    firing: `Telegram answered 429 Too Many Requests to ${m.throttled} call${m.throttled === 1 ? '' : 's'}${methods ? ` (${methods})` : ''} with retry_after totalling ${fmt(m.retryAfterSeconds)} s in a minute, at least ${fmt((limits.throttleMs ?? 0) / 1000)} s a minute for ${minutes(limits.throttleForMs)}.`,
    resolved: `Telegram's 429s are down to ${m.throttled} (retry_after ${fmt(m.retryAfterSeconds)} s) in the last minute.`,
  };
}

function mergeMinutes(kept: MinuteReport[], fresh: MinuteReport[]): MinuteReport[] {
  const byStart = new Map(kept.map((m) => [m.start, m]));
  for (const m of fresh) byStart.set(m.start, m);
  return [...byStart.values()].sort((a, b) => a.start - b.start).slice(-MINUTES_KEPT);
}

function fmt(v: number | null): string {
  if (v === null) return '?';
  return v >= 10 ? String(Math.round(v)) : String(Math.round(v * 10) / 10);
}

function minutes(ms: number): string {
  const n = Math.round((ms / MINUTE_MS) * 10) / 10;
  return `${n} minute${n === 1 ? '' : 's'}`;
}

/** A monitor's limits: its own update-lag rule (0 turns it off), else the server's. */
export function signalLimits(m: Pick<Monitor, 'updateLagMs' | 'updateLagForMs'>, config: { updateLag: { value: number; forMs: number } | null; throttle: { value: number; forMs: number } | null; webhookErrorRecentMs: number }): SignalLimits {
  const lagMs = m.updateLagMs ?? config.updateLag?.value ?? null;
  return {
    lagMs: lagMs === 0 ? null : lagMs,
    lagForMs: m.updateLagForMs ?? config.updateLag?.forMs ?? 5 * MINUTE_MS,
    throttleMs: config.throttle?.value ?? null,
    throttleForMs: config.throttle?.forMs ?? 3 * MINUTE_MS,
    webhookRecentMs: config.webhookErrorRecentMs,
  };
}
