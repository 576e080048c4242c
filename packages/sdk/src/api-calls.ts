// Recording of Bot API calls, shared by the grammY transformer and the Telegraf callApi wrapper:
// method, latency, error code and retry_after as a breadcrumb and (inside a sampled update)
// a child span; getUpdates calls feed the PollingMonitor instead of flooding breadcrumbs.
import type { BotpulseClient } from './client.js';
import { Counters } from './counters.js';
import type { PollingMonitor } from './heartbeat.js';
import type { BotSignals } from './signals.js';
import { classifyApiFailure, markBotApiFailure, type TelegramErrorInfo } from './noise.js';
import { currentExecution } from './scope.js';
import { scrubString } from './scrub.js';
import type { Span } from './tracing.js';

/** The `{ok, result}` / `{ok: false, error_code, ...}` answer of the Bot API. */
export interface ApiResponseLike {
  ok: boolean;
  result?: unknown;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

/** One call being recorded; finish it with `answered` or `threw`. */
export class ApiCallRecorder {
  private readonly startedAt = performance.now();
  private readonly span: Span | undefined;

  constructor(
    private readonly client: BotpulseClient,
    private readonly monitor: PollingMonitor | undefined,
    private readonly method: string,
    private readonly payload: Record<string, unknown> | undefined,
    /** The bot's per-minute signals: 429 answers are counted there too (reported with the heartbeat). */
    private readonly signals?: BotSignals,
  ) {
    if (method === 'getUpdates') {
      monitor?.started(payload);
      return;
    }
    const parent = currentExecution()?.span;
    this.span = parent?.sampled ? parent.child('http.client', `telegram.api ${method}`) : undefined;
  }

  /** The Bot API answered (ok or not). */
  answered(response: ApiResponseLike): void {
    const durationMs = Math.round((performance.now() - this.startedAt) * 10) / 10;
    this.client.stats.apiCalls += 1;
    if (response.ok) {
      if (this.method === 'getUpdates') {
        this.monitor?.succeeded(Array.isArray(response.result) ? response.result.length : 0);
        return;
      }
      this.record(durationMs, {}, 'info');
      this.span?.end('ok');
      return;
    }
    const info: TelegramErrorInfo = { method: this.method, description: response.description ?? 'unknown error', network: false };
    if (response.error_code !== undefined) info.errorCode = response.error_code;
    if (response.parameters?.retry_after !== undefined) info.retryAfter = response.parameters.retry_after;
    this.failed(durationMs, info);
  }

  /** No answer at all (network failure, abort, timeout). */
  threw(error: unknown): void {
    // Wherever this error surfaces later (a handler, bot.catch), it is known as a Bot API failure.
    markBotApiFailure(error, this.method);
    const durationMs = Math.round((performance.now() - this.startedAt) * 10) / 10;
    this.client.stats.apiCalls += 1;
    const description = error instanceof Error ? error.message : String(error);
    this.failed(durationMs, { method: this.method, description: scrubString(description), network: true });
  }

  private failed(durationMs: number, info: TelegramErrorInfo): void {
    Counters.increment(this.client.stats.apiErrors, info.network ? 'network' : String(info.errorCode ?? 'unknown'));
    if (info.errorCode === 429) this.throttled(info.retryAfter);
    if (this.method === 'getUpdates') this.monitor?.failed(info);
    const data: Record<string, unknown> = { error_code: info.errorCode ?? null, description: info.description };
    if (info.retryAfter !== undefined) data['retry_after'] = info.retryAfter;
    const kind = info.network ? 'network' : classifyApiFailure(info.errorCode, info.description, info.retryAfter !== undefined ? { retry_after: info.retryAfter } : undefined);
    if (kind) data['noise'] = kind;
    this.record(durationMs, data, 'warning');
    if (this.span) {
      for (const [key, value] of Object.entries(data)) this.span.setData(key, value);
      this.span.end(info.network ? 'unavailable' : info.errorCode === 429 ? 'resource_exhausted' : 'internal_error');
    }
  }

  /** Telegram throttled this bot: counted per method (SDK metrics) and per minute (the heartbeat's report). */
  private throttled(retryAfter: number | undefined): void {
    Counters.increment(this.client.stats.throttled, this.method);
    if (typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter > 0) this.client.stats.retryAfterSeconds += retryAfter;
    this.signals?.throttled(this.method, retryAfter);
  }

  private record(durationMs: number, extra: Record<string, unknown>, level: 'info' | 'warning'): void {
    const data: Record<string, unknown> = { method: this.method, duration_ms: durationMs, ...extra };
    const chatId = this.payload?.['chat_id'];
    if (typeof chatId === 'number' || typeof chatId === 'string') data['chat_id'] = chatId;
    this.span?.setData('method', this.method).setData('duration_ms', durationMs);
    this.client.addBreadcrumb({ type: 'http', category: 'telegram.api', level, message: this.method, data });
  }
}
