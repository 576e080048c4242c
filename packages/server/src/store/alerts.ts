import type { IssueStatus, Level } from './model.js';

/**
 * What the alerting engine keeps (docs/alerts.md). SQLite implements it beside SqliteStore
 * (`sqlite/alerts.ts`, same connection); `alerts.contract.ts` is the behaviour every
 * implementation must pass, as for Store.
 */

/** `warning` is recorded and shown, never sent; `alert` sends once per cooldown; `critical` repeats until acknowledged. */
export type AlertTier = 'warning' | 'alert' | 'critical';
export const ALERT_TIERS: readonly AlertTier[] = ['warning', 'alert', 'critical'];

/** Why an alert fired. `monitor`: a monitor notification forwarded by the monitors (monitors/notify.ts). */
export type AlertReason = 'new' | 'regression' | 'unignored' | 'level' | 'frequency' | 'project_frequency' | 'repeat' | 'monitor';

export type ChannelKind = 'telegram' | 'webhook';

/** Per-fingerprint noise-control state. An issue's alerts share the fingerprint `issue:<id>`. */
export interface AlertState {
  fingerprint: string;
  projectId: number;
  issueId: number | null;
  tier: AlertTier;
  /** Nothing is sent for this fingerprint before this time (ms). */
  cooldownUntil: number;
  /** A trigger that arrived inside the cooldown; sent with everything since when the cooldown ends. */
  pending: { tier: AlertTier; reasons: AlertReason[] } | null;
  lastEnqueuedAt: number | null;
  lastSentAt: number | null;
  /** The issue's event and user totals when the last message went out. */
  eventsAtLast: number;
  usersAtLast: number;
  /** Critical alerts: when to repeat, until acknowledged. */
  repeatAt: number | null;
  ackedAt: number | null;
  ackedBy: string | null;
  /**
   * The destinations (`destinationKey`) that still have a message for this fingerprint in the
   * outbox (a pending row: due, paced, retrying or being sent). Read from the outbox, never
   * written: nothing new is enqueued for such a destination, since its cooldown starts only when
   * that message is sent.
   */
  awaitingSend: string[];
}

/** `telegram:-100123` or `webhook:https://…`: a destination as AlertState.awaitingSend names it. */
export function destinationKey(d: { channel: ChannelKind; target: string }): string {
  return `${d.channel}:${d.target}`;
}

/**
 * The message of an outbox row that is not rendered from an issue: a monitor notification
 * (`monitor_notifications`), forwarded as it was decided. Stored as JSON in `alert_outbox.body`.
 */
export interface OutboxBody {
  /** The notification's kind: down, deaf, recovered, conflict, uptime_down, uptime_up, threshold_firing, threshold_resolved. */
  kind: string;
  /** Telegram HTML, escaped when it was written (monitors/format.ts). */
  text: string;
  payload: Record<string, unknown>;
  monitorId: number | null;
  notificationId: number;
}

export interface NewOutboxRow {
  projectId: number;
  issueId: number | null;
  fingerprint: string;
  channel: ChannelKind;
  /** Chat id for Telegram (`<chat>` or `<chat>/<thread>`), URL for webhooks. */
  target: string;
  tier: AlertTier;
  reasons: AlertReason[];
  createdAt: number;
  /** Grouping window: the row waits until then so alerts of one project share a message. */
  notBefore: number;
  /** The message itself, for rows not rendered from an issue (forwarded monitor notifications); absent: null. */
  body?: OutboxBody | null;
  /**
   * Idempotency key (`enqueueOnce`): a row whose key is already in the outbox is not added again.
   * Forwarded monitor notifications use `monitor-notification:<id>:<channel>:<configured target>`.
   */
  dedupeKey?: string | null;
}

/**
 * `failed`: the channel refused it for good (or its target is disabled); `expired`: still unsent
 * after 24 h; `parked`: it failed in Botpulse's own code a few times (`lastError` says why) and was
 * set aside so the rows behind it go out. None of them is retried.
 */
export type OutboxStatus = 'pending' | 'sent' | 'collapsed' | 'failed' | 'expired' | 'parked';

export interface OutboxRow extends Omit<NewOutboxRow, 'body' | 'dedupeKey'> {
  id: number;
  body: OutboxBody | null;
  dedupeKey: string | null;
  status: OutboxStatus;
  attempts: number;
  /**
   * Failed deliveries that were not the channel's answer (an exception in our code). A row with
   * any is out of its target's ordered queue: it is claimed alone, and parked after a few.
   */
  internalFailures: number;
  nextAttemptAt: number;
  claimedBy: string | null;
  claimedUntil: number | null;
  sentAt: number | null;
  messageId: string | null;
  lastError: string | null;
}

/** A delivery target and what we learnt about it. Disabled targets are shown in the dashboard. */
export interface AlertTarget {
  channel: ChannelKind;
  target: string;
  disabledAt: number | null;
  disabledReason: string | null;
  /** Telegram moved the group to this supergroup id; new alerts go there. */
  migratedTo: string | null;
  nextSendAt: number;
  lastOkAt: number | null;
  lastError: string | null;
}

export type AlertOutcome = 'enqueued' | 'suppressed' | 'recorded' | 'silenced' | 'no_target';

export interface AlertLogEntry {
  at: number;
  projectId: number;
  issueId: number | null;
  fingerprint: string;
  tier: AlertTier;
  reasons: AlertReason[];
  outcome: AlertOutcome;
}

/** What a decision writes, atomically with the state it read. */
export interface AlertDecision {
  /** The new state; null leaves it as it was. */
  state: AlertState | null;
  enqueue: NewOutboxRow[];
  log: AlertLogEntry[];
}

export interface Silence {
  id: number;
  /** null: every project. */
  projectId: number | null;
  /** null: every issue of the project. */
  issueId: number | null;
  endsAt: number;
  createdBy: string;
  reason: string | null;
  createdAt: number;
}

/** A message that went out, kept so ChatOps can re-render it with the issue's new state. */
export interface SentMessage {
  id: number;
  channel: ChannelKind;
  target: string;
  messageId: string;
  threadId: number | null;
  projectId: number;
  issueIds: number[];
  /** The formatter's input (JSON), frozen at send time. */
  items: unknown;
  actions: MessageAction[];
  createdAt: number;
}

export interface MessageAction {
  issueId: number;
  action: string;
  by: string;
  at: number;
}

export interface ClaimOptions {
  /** How long a claim holds before another worker may take the rows over (a crashed sender). */
  leaseMs: number;
  /** Rows of one project due together become one message, up to this many. */
  maxPerMessage: number;
  /** Minimum gap between two messages to one target (Telegram: about 1 per second per chat). */
  paceMs: number;
  /** At most this many messages per minute to a group chat (Telegram: 20). */
  groupPerMinute: number;
}

export interface SendSuccess {
  sentAt: number;
  messageId: string | null;
  /** The rows that went out in the message (the others of the batch were collapsed into them). */
  sentIds: number[];
  collapsedIds: number[];
  /**
   * Per fingerprint: the totals now counted as "seen", the critical repeat time, and the end of
   * the cooldown counted from the send (a message delayed by pacing or an outage still gets a full cooldown).
   */
  states: { fingerprint: string; eventsAtLast: number; usersAtLast: number; repeatAt: number | null; cooldownUntil: number }[];
  message: Omit<SentMessage, 'id' | 'actions' | 'createdAt'> | null;
  /**
   * The target takes its next message no sooner than this: its pace counted from the send, not
   * only from the claim, so a send that took long (a slow render, a slow Bot API answer) is not
   * followed closely by the next one (Telegram's per-chat limit counts arrivals).
   */
  nextSendAt?: number;
}

/**
 * One issue change of a digest batch, as the digest wrote it to the change feed (`alert_changes`)
 * in its own transaction: what the rules read, not the event itself.
 */
export interface FeedChange {
  /** Feed row id: the order the digest committed in. */
  id: number;
  projectId: number;
  issueId: number;
  created: boolean;
  regressed: boolean;
  unignored: boolean;
  newEvents: number;
  /** The issue's status and level as that batch left them. */
  status: IssueStatus;
  level: Level;
  /** The level of the batch's latest event of the issue. */
  eventLevel: Level;
  digestedAt: number;
}

/** A decision about one fingerprint, taken on its state inside the consuming transaction. */
export interface PlannedDecision {
  fingerprint: string;
  decide: (state: AlertState | null) => AlertDecision;
}

/** Pending rows of a target that were given up (expired). */
export interface ExpiredRows {
  channel: ChannelKind;
  target: string;
  rows: number;
}

export interface OutboxFilter {
  status?: OutboxStatus;
  target?: string;
  dedupeKeyPrefix?: string;
  fingerprint?: string;
  createdAt?: number;
  limit?: number;
}

export interface AlertStore {
  /** Reads the state of `fingerprint` and applies what `decide` returns, in one transaction. */
  decide(fingerprint: string, decide: (state: AlertState | null) => AlertDecision): Promise<AlertDecision>;
  getState(fingerprint: string): Promise<AlertState | null>;
  /** The states of these fingerprints that exist, by fingerprint (one read for a batch of changes). */
  getStates(fingerprints: string[]): Promise<Map<string, AlertState>>;
  /** Fingerprints with a repeat or a pending trigger due at `now`. */
  dueFollowUps(now: number, limit: number): Promise<AlertState[]>;
  /**
   * Events received since `since` for an issue or a project, counting at most `cap` (the
   * frequency rules only need to know "more than N", so a storm costs N rows, not the storm).
   */
  countEventsSince(scope: { issueId: number } | { projectId: number }, since: number, cap: number): Promise<number>;
  /** countEventsSince for each of these issues, in one read; by issue id. */
  countIssueEventsSince(issueIds: number[], since: number, cap: number): Promise<Map<number, number>>;
  /** Stops the repeats of an issue's alerts (someone acknowledged, resolved or muted it). */
  acknowledge(issueId: number, by: string, at: number): Promise<void>;

  /**
   * Claims, per target, the oldest due rows with a conditional update, so two processes never
   * send one row twice. Each returned batch is one target's next message (same project), in id order.
   */
  claimDue(workerId: string, now: number, opts: ClaimOptions): Promise<OutboxRow[][]>;
  /** Soonest time a pending row could become due (for the sender's sleep), or null. */
  nextDueAt(): Promise<number | null>;
  markSent(workerId: string, batch: OutboxRow[], result: SendSuccess): Promise<void>;
  /** Releases the rows for another try at `nextAttemptAt`; `pauseTargetUntil` also holds the whole target (429). */
  markRetry(workerId: string, ids: number[], error: string, nextAttemptAt: number, pauseTargetUntil?: number): Promise<void>;
  markFailed(workerId: string, ids: number[], error: string): Promise<void>;
  /**
   * Our own code failed on these rows (not the channel): they leave their target's ordered queue
   * (`internalFailures` + 1) and are claimed alone from `nextAttemptAt`; the target is not paused.
   */
  markInternalFailure(workerId: string, ids: number[], error: string, nextAttemptAt: number): Promise<void>;
  /** Sets rows aside for good with the reason (status `parked`). */
  markParked(workerId: string, ids: number[], reason: string): Promise<void>;
  /** Pending rows older than `before` are given up (expired); returns how many, per target. */
  expire(before: number): Promise<ExpiredRows[]>;
  /** How many rows are in a status (for /metrics and the dashboard: `pending`, `parked`). */
  countOutbox(status: OutboxStatus): Promise<number>;

  /**
   * The change feed: unconsumed issue changes, oldest first. The digest writes them in its batch
   * transaction (`store/sqlite/digest-writer.ts`); one engine consumes them.
   */
  pendingChanges(limit: number): Promise<FeedChange[]>;
  /** How many changes wait in the feed. */
  changeBacklog(): Promise<number>;
  /**
   * Applies `decisions` in order (each on the state as the previous one left it) and deletes the
   * changes `ids`, in ONE transaction: a change is evaluated once, whatever crashes. Returns null
   * and applies nothing when any of them was consumed already (another engine got there first).
   */
  consumeChanges(ids: number[], decisions: PlannedDecision[]): Promise<AlertDecision[] | null>;
  /**
   * Adds rows no noise-control decision owns (monitor notifications forwarded by
   * monitors/notify.ts), all in one transaction. A row whose `dedupeKey` is already in the outbox
   * is skipped, so forwarding one notification twice (its claim expired after this insert and
   * before it was marked) enqueues it once. Returns how many rows were added.
   */
  enqueueOnce(rows: NewOutboxRow[]): Promise<number>;
  /**
   * `dedupeKeyPrefix`: the rows whose dedupe key starts with it (one forwarded notification's rows).
   * `fingerprint` + `createdAt`: the rows one noise-control decision enqueued (its `enqueued` log entry has the same fingerprint and time).
   */
  outbox(filter?: OutboxFilter): Promise<OutboxRow[]>;

  getTarget(channel: ChannelKind, target: string): Promise<AlertTarget | null>;
  listTargets(): Promise<AlertTarget[]>;
  /** Disables a target; its pending rows fail with the reason. Returns how many rows failed. */
  disableTarget(channel: ChannelKind, target: string, reason: string, at: number): Promise<number>;
  enableTarget(channel: ChannelKind, target: string): Promise<void>;
  /** Records a chat migration and moves the target's pending rows to the new chat. */
  migrateTarget(channel: ChannelKind, from: string, to: string, at: number): Promise<void>;

  saveMessage(message: Omit<SentMessage, 'id' | 'actions'>): Promise<SentMessage>;
  findMessage(channel: ChannelKind, target: string, messageId: string): Promise<SentMessage | null>;
  addMessageAction(id: number, action: MessageAction): Promise<void>;

  addSilence(silence: Omit<Silence, 'id'>): Promise<Silence>;
  activeSilences(now: number): Promise<Silence[]>;
  removeSilence(id: number): Promise<void>;

  recentLog(filter?: { projectId?: number; limit?: number }): Promise<AlertLogEntry[]>;

  /** Takes or renews a named lease (one Telegram poller across processes); false if someone else holds it. */
  lease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
  getValue(key: string): Promise<string | null>;
  setValue(key: string, value: string): Promise<void>;
}
