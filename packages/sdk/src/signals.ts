// What only the bot can see, collected per minute and sent with its heartbeat check-in
// (`contexts.bot_signals`): how long each update waited in Telegram before its handling began
// (update lag), the 429 answers of the Bot API and their retry_after, and, in webhook mode,
// Telegram's own getWebhookInfo (pending updates, last delivery error). The server judges them
// (docs/monitors.md, "Bot signals"); the SDK only measures, so one rule change needs no bot release.
import type { UpdateLike } from './update.js';

/** Closed minutes sent with each check-in: a lost check-in loses nothing the next one does not repeat. */
export const DEFAULT_SIGNAL_MINUTES = 5;
/** Lag samples kept per minute for the percentiles; past it, a uniform reservoir (count and max stay exact). */
export const DEFAULT_LAG_SAMPLES = 2048;
/** Methods named per minute in the 429 breakdown; the rest are summed under "other" (bounded payload). */
const MAX_METHODS = 5;
const MINUTE_MS = 60_000;

/** One closed minute as it travels in `contexts.bot_signals.minutes` (times in seconds). */
export interface MinuteSignals {
  /** Start of the minute (ISO 8601, on a minute boundary of the bot's clock). */
  start: string;
  /** Updates whose handling began in this minute. */
  updates: number;
  /** Of those, updates that carry a date (lag is measured only for them). */
  dated: number;
  lag_p50_s: number | null;
  lag_p95_s: number | null;
  lag_max_s: number | null;
  /** Bot API calls answered 429 Too Many Requests. */
  throttled: number;
  /** Sum of their retry_after (seconds). */
  retry_after_s: number;
  /** 429s by method: the 5 most frequent, the rest as "other". */
  throttled_methods?: Record<string, number>;
}

/** What getWebhookInfo said (webhook mode), as it travels in `contexts.bot_signals.webhook`. */
export interface WebhookSignals {
  checked_at: string;
  /** False: Telegram has no webhook for this bot (updates wait for a getUpdates nobody calls). The URL itself is never sent. */
  url_set: boolean;
  pending_update_count: number;
  last_error_date: string | null;
  last_error_message: string | null;
  /** The getWebhookInfo call itself failed (the rest is the last good answer, if any). */
  check_error?: string;
}

/** The getWebhookInfo answer fields the SDK reads. */
export interface WebhookInfoLike {
  url?: string;
  pending_update_count?: number;
  last_error_date?: number;
  last_error_message?: string;
}

export interface BotSignalsOptions {
  /** The clock (ms since the epoch). Tests compress minutes with it; default Date.now. */
  now?: () => number;
  /** Closed minutes each check-in carries. Default 5. */
  minutesPerCheckIn?: number;
  /** Lag samples kept per minute. Default 2048. */
  maxLagSamples?: number;
}

interface OpenMinute {
  start: number;
  updates: number;
  dated: number;
  /** Reservoir of lag samples (seconds). */
  samples: number[];
  max: number | null;
  throttled: number;
  retryAfter: number;
  methods: Map<string, number>;
}

/**
 * Per-minute update lag and 429 accounting of one bot, plus its last getWebhookInfo. The bot
 * plugins feed it (update middleware, API hook); the heartbeat reads `report()` at each beat.
 * @example
 * const signals = new BotSignals();
 * signals.updateStarted({ update_id: 1, message: { date: Math.floor(Date.now() / 1000) - 90 } });
 * signals.report().minutes; // the closed minutes, with lag_p95_s ≈ 90
 */
export class BotSignals {
  private readonly now: () => number;
  private readonly keep: number;
  private readonly maxSamples: number;
  private open: OpenMinute;
  private readonly closed: MinuteSignals[] = [];
  private webhook: WebhookSignals | undefined;

  constructor(options: BotSignalsOptions = {}) {
    this.now = options.now ?? Date.now;
    this.keep = Math.max(1, options.minutesPerCheckIn ?? DEFAULT_SIGNAL_MINUTES);
    this.maxSamples = Math.max(1, options.maxLagSamples ?? DEFAULT_LAG_SAMPLES);
    this.open = emptyMinute(minuteOf(this.now()));
  }

  /** The handling of an update begins: its age (now − its date) is one lag sample of this minute. */
  updateStarted(update: UpdateLike): void {
    const now = this.now();
    const minute = this.roll(now);
    minute.updates += 1;
    const date = updateDate(update);
    if (date === undefined) return;
    // Telegram dates are whole seconds; a clock a little behind Telegram's must not make lag negative.
    const lag = Math.max(0, now / 1000 - date);
    minute.dated += 1;
    minute.max = minute.max === null ? lag : Math.max(minute.max, lag);
    if (minute.samples.length < this.maxSamples) minute.samples.push(lag);
    else {
      // Reservoir sampling (Vitter's R): every sample of the minute is kept with equal probability.
      const slot = Math.floor(Math.random() * minute.dated);
      if (slot < this.maxSamples) minute.samples[slot] = lag;
    }
  }

  /** A Bot API call was answered 429 Too Many Requests (retry_after in seconds, if Telegram gave one). */
  throttled(method: string, retryAfterSeconds: number | undefined): void {
    const minute = this.roll(this.now());
    minute.throttled += 1;
    if (typeof retryAfterSeconds === 'number' && Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0) minute.retryAfter += retryAfterSeconds;
    minute.methods.set(method, (minute.methods.get(method) ?? 0) + 1);
  }

  /** Records a getWebhookInfo answer. */
  webhookInfo(info: WebhookInfoLike): void {
    this.webhook = {
      checked_at: new Date(this.now()).toISOString(),
      url_set: typeof info.url === 'string' && info.url !== '',
      pending_update_count: typeof info.pending_update_count === 'number' ? info.pending_update_count : 0,
      last_error_date: typeof info.last_error_date === 'number' ? new Date(info.last_error_date * 1000).toISOString() : null,
      last_error_message: typeof info.last_error_message === 'string' ? info.last_error_message : null,
    };
  }

  /** getWebhookInfo failed: said with the last good answer, which the server then does not judge again. */
  webhookInfoFailed(description: string): void {
    const last = this.webhook ?? { url_set: true, pending_update_count: 0, last_error_date: null, last_error_message: null };
    this.webhook = { ...last, checked_at: new Date(this.now()).toISOString(), check_error: description.slice(0, 300) };
  }

  /** `contexts.bot_signals` for a check-in: the last closed minutes (oldest first) and the webhook info. */
  report(): { minutes: MinuteSignals[]; webhook?: WebhookSignals } {
    this.roll(this.now());
    const out: { minutes: MinuteSignals[]; webhook?: WebhookSignals } = { minutes: [...this.closed] };
    if (this.webhook) out.webhook = { ...this.webhook };
    return out;
  }

  /** The open minute for `now`, closing the ones that ended (an idle stretch closes as empty minutes, at most `keep`). */
  private roll(now: number): OpenMinute {
    const start = minuteOf(now);
    if (start <= this.open.start) return this.open;
    this.close(this.open);
    const firstEmpty = Math.max(this.open.start + MINUTE_MS, start - this.keep * MINUTE_MS);
    for (let at = firstEmpty; at < start; at += MINUTE_MS) this.close(emptyMinute(at));
    this.open = emptyMinute(start);
    return this.open;
  }

  private close(minute: OpenMinute): void {
    this.closed.push(summarize(minute));
    if (this.closed.length > this.keep) this.closed.splice(0, this.closed.length - this.keep);
  }
}

function emptyMinute(start: number): OpenMinute {
  return { start, updates: 0, dated: 0, samples: [], max: null, throttled: 0, retryAfter: 0, methods: new Map() };
}

function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

function summarize(m: OpenMinute): MinuteSignals {
  const sorted = [...m.samples].sort((a, b) => a - b);
  const out: MinuteSignals = {
    start: new Date(m.start).toISOString(),
    updates: m.updates,
    dated: m.dated,
    lag_p50_s: round(percentile(sorted, 0.5)),
    lag_p95_s: round(percentile(sorted, 0.95)),
    lag_max_s: round(m.max),
    throttled: m.throttled,
    retry_after_s: m.retryAfter,
  };
  if (m.methods.size) out.throttled_methods = topMethods(m.methods);
  return out;
}

/**
 * Nearest-rank percentile of sorted samples (the value at rank ⌈q·n⌉), null without samples.
 * @example percentile([1, 2, 3, 4], 0.5) // 2
 */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (!sorted.length) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

function topMethods(methods: Map<string, number>): Record<string, number> {
  const ranked = [...methods.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const out: Record<string, number> = Object.fromEntries(ranked.slice(0, MAX_METHODS));
  const rest = ranked.slice(MAX_METHODS).reduce((n, [, count]) => n + count, 0);
  if (rest) out['other'] = (out['other'] ?? 0) + rest;
  return out;
}

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v * 1000) / 1000;
}

/**
 * When Telegram received what an update is about (Unix seconds): a message's `date`, an edit's
 * `edit_date`, a reaction's, member change's or join request's `date`, a boost's. Undefined for
 * updates that carry no date of their own: a callback_query's `message.date` is when the bot
 * SENT that message (a button pressed on a day-old message would look a day late), and inline,
 * shipping, pre-checkout and poll updates have none.
 * @example updateDate({ update_id: 1, edited_message: { date: 100, edit_date: 160 } }) // 160
 */
export function updateDate(update: UpdateLike): number | undefined {
  for (const key in update) {
    if (key === 'update_id') continue;
    const payload = update[key] as Record<string, unknown> | null;
    if (!payload || typeof payload !== 'object') return undefined;
    if (key === 'callback_query' || key === 'inline_query' || key === 'chosen_inline_result') return undefined;
    const candidates = [payload['edit_date'], payload['date'], (payload['boost'] as Record<string, unknown> | undefined)?.['add_date'], payload['remove_date']];
    for (const value of candidates) if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
    return undefined;
  }
  return undefined;
}
