import type { ChannelKind } from '../../store/alerts.js';
import type { AlertItem } from '../items.js';

/**
 * Every alert channel (`channels/<kind>/`) has a sender, a formatter and tests. `send()` resolves
 * with what the far side answered or throws a DeliveryError; the outbox decides what to do next.
 */
export interface AlertChannel {
  readonly kind: ChannelKind;
  send(message: OutgoingAlert): Promise<Delivered>;
  /**
   * Renders `items` as send() would, without sending; throws what rendering would throw. The
   * outbox checks each alert of a grouped message alone, so an alert our code cannot render is
   * set aside instead of taking the whole message (and its chat's queue) down with it.
   */
  check?(items: AlertItem[]): void;
}

export interface OutgoingAlert {
  /** Outbox row id of the first alert: a stable id for receivers that dedupe. */
  id: number;
  target: string;
  items: AlertItem[];
  /** Telegram: the forum topic and silent flag of the project's rules. */
  threadId: number | null;
  silent: boolean;
}

export interface Delivered {
  /** Telegram: the message id (for ChatOps edits); webhooks: null. */
  messageId: string | null;
  /** What the far side answered, for `botpulse test-alert`. */
  summary: string;
}

/**
 * A failed delivery. `permanent` disables the target (bot blocked, chat not found, 404 webhook);
 * `rejectsMessage` means this message can never go (the rows fail, the target stays enabled);
 * `retryAfterMs` is the far side's own wait (Telegram 429 `retry_after`, HTTP `Retry-After`);
 * `migrateTo` is a Telegram group's new supergroup id.
 */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  readonly permanent: boolean;
  readonly retryAfterMs: number | undefined;
  readonly rejectsMessage: boolean;
  readonly migrateTo: string | undefined;

  constructor(message: string, opts: { permanent?: boolean; retryAfterMs?: number; rejectsMessage?: boolean; migrateTo?: string } = {}) {
    super(message);
    this.permanent = opts.permanent ?? false;
    this.retryAfterMs = opts.retryAfterMs;
    this.rejectsMessage = opts.rejectsMessage ?? false;
    this.migrateTo = opts.migrateTo;
  }
}
