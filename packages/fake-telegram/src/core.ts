// The shared state behind one FakeTelegram instance: options, the world of users and chats,
// bots by token, faults, the call log, and a change signal that waiters listen to.
import { EventEmitter } from 'node:events';
import { BotState } from './state/bot.js';
import { FaultBook, type Fault } from './state/faults.js';
import { World } from './state/world.js';
import type { StoredFile } from './types.js';

export interface FakeTelegramOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Pause before a failed webhook delivery is retried; default 1000 ms (Telegram's is longer). */
  webhookRetryDelayMs?: number;
  /** How long a webhook answer may take before the delivery counts as failed; default 10 000 ms. */
  webhookTimeoutMs?: number;
  /** How long a callback query can be answered; default 15 000 ms. */
  callbackQueryTtlMs?: number;
  /**
   * What a bot sending to a chat id the fake never saw gets: "create" (default) registers the
   * chat (type inferred from the id), "not_found" answers 400 "Bad Request: chat not found".
   */
  unknownChats?: 'create' | 'not_found';
  /** Oldest API calls are forgotten beyond this many; default 20 000. */
  maxCallLog?: number;
}

export type ResolvedOptions = Required<Omit<FakeTelegramOptions, 'port'>> & { port: number };

export function resolveOptions(options: FakeTelegramOptions = {}): ResolvedOptions {
  return {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    webhookRetryDelayMs: options.webhookRetryDelayMs ?? 1000,
    webhookTimeoutMs: options.webhookTimeoutMs ?? 10_000,
    callbackQueryTtlMs: options.callbackQueryTtlMs ?? 15_000,
    unknownChats: options.unknownChats ?? 'create',
    maxCallLog: options.maxCallLog ?? 20_000,
  };
}

/** One Bot API request as the fake saw it. */
export interface ApiCall {
  /** Increasing sequence number, in the order calls were answered. */
  seq: number;
  token: string;
  /** Method name as the client spelled it. */
  method: string;
  /** Parameters after decoding (JSON-serialized fields parsed, uploads as {filename, contentType, size}). */
  params: Record<string, unknown>;
  /** Date.now() when the request arrived. */
  at: number;
  durationMs: number;
  /** HTTP status of the answer; 0 if none was sent (dropped connection, client went away). */
  status: number;
  ok: boolean;
  result?: unknown;
  errorCode?: number;
  description?: string;
  /** Set when an injected fault shaped this answer. */
  fault?: Fault['kind'];
  /** "http" for requests, "webhook-reply" for a method returned in a webhook answer. */
  via: 'http' | 'webhook-reply';
}

export class Core {
  readonly world = new World();
  readonly bots = new Map<string, BotState>();
  readonly faults = new FaultBook();
  readonly calls: ApiCall[] = [];
  /** Files sent through the API, by file_id (for getFile and file_id reuse). */
  readonly files = new Map<string, StoredFile>();
  /** Emits "change" after anything observable happened, and "stop" once. */
  readonly events = new EventEmitter();
  isUp = false;
  stopped = false;
  private callSeq = 0;
  private botSeq = 0;

  constructor(readonly options: ResolvedOptions) {
    this.events.setMaxListeners(0);
  }

  nextBotNumber(): number {
    return ++this.botSeq;
  }

  changed(): void {
    this.events.emit('change');
  }

  recordCall(call: Omit<ApiCall, 'seq'>): void {
    this.calls.push({ seq: ++this.callSeq, ...call });
    if (this.calls.length > this.options.maxCallLog) this.calls.splice(0, this.calls.length - this.options.maxCallLog);
    this.changed();
  }

  requireBot(token: string): BotState {
    const bot = this.bots.get(token);
    if (!bot) throw new Error(`FakeTelegram: no bot with token ${token}; create it with tg.createBot()`);
    return bot;
  }
}
