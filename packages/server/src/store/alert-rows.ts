import type {
  AlertLogEntry,
  AlertReason,
  AlertState,
  AlertTarget,
  AlertTier,
  ChannelKind,
  FeedChange,
  MessageAction,
  NewOutboxRow,
  OutboxBody,
  OutboxRow,
  OutboxStatus,
  SentMessage,
  Silence,
} from './alerts.js';
import type { IssueStatus, Level } from './model.js';

/**
 * Row <-> model mapping of the alert tables, shared by every AlertStore implementation (the
 * drivers return the same columns: SQLite natively, PostgreSQL with bigint read as numbers).
 * `awaiting_send`: the destinations of the state's pending outbox rows, newline-separated.
 */

export interface StateRow {
  awaiting_send: string | null;
  fingerprint: string;
  project_id: number;
  issue_id: number | null;
  tier: string;
  cooldown_until: number;
  pending_tier: string | null;
  pending_reasons: string | null;
  last_enqueued_at: number | null;
  last_sent_at: number | null;
  events_at_last: number;
  users_at_last: number;
  repeat_at: number | null;
  acked_at: number | null;
  acked_by: string | null;
}

export const numOrNull = (v: number | bigint | null) => (v === null ? null : Number(v));

export function toState(r: StateRow): AlertState {
  return {
    fingerprint: r.fingerprint,
    projectId: Number(r.project_id),
    issueId: numOrNull(r.issue_id),
    tier: r.tier as AlertTier,
    cooldownUntil: Number(r.cooldown_until),
    pending: r.pending_tier ? { tier: r.pending_tier as AlertTier, reasons: JSON.parse(r.pending_reasons ?? '[]') } : null,
    lastEnqueuedAt: numOrNull(r.last_enqueued_at),
    lastSentAt: numOrNull(r.last_sent_at),
    eventsAtLast: Number(r.events_at_last),
    usersAtLast: Number(r.users_at_last),
    repeatAt: numOrNull(r.repeat_at),
    ackedAt: numOrNull(r.acked_at),
    ackedBy: r.acked_by,
    awaitingSend: r.awaiting_send ? r.awaiting_send.split('\n') : [],
  };
}

export interface OutboxDbRow {
  id: number;
  project_id: number;
  issue_id: number | null;
  fingerprint: string;
  channel: string;
  target: string;
  tier: string;
  reasons: string;
  status: string;
  created_at: number;
  not_before: number;
  next_attempt_at: number;
  attempts: number;
  internal_failures: number;
  claimed_by: string | null;
  claimed_until: number | null;
  sent_at: number | null;
  message_id: string | null;
  last_error: string | null;
  body: string | null;
  dedupe_key: string | null;
}

export function toOutbox(r: OutboxDbRow): OutboxRow {
  return {
    id: Number(r.id),
    projectId: Number(r.project_id),
    issueId: numOrNull(r.issue_id),
    fingerprint: r.fingerprint,
    channel: r.channel as ChannelKind,
    target: r.target,
    tier: r.tier as AlertTier,
    reasons: JSON.parse(r.reasons) as AlertReason[],
    status: r.status as OutboxStatus,
    createdAt: Number(r.created_at),
    notBefore: Number(r.not_before),
    nextAttemptAt: Number(r.next_attempt_at),
    attempts: Number(r.attempts),
    internalFailures: Number(r.internal_failures),
    claimedBy: r.claimed_by,
    claimedUntil: numOrNull(r.claimed_until),
    sentAt: numOrNull(r.sent_at),
    messageId: r.message_id,
    lastError: r.last_error,
    body: r.body === null ? null : (JSON.parse(r.body) as OutboxBody),
    dedupeKey: r.dedupe_key,
  };
}

export interface ChangeRow {
  id: number;
  project_id: number;
  issue_id: number;
  created: number;
  regressed: number;
  unignored: number;
  new_events: number;
  issue_status: string;
  issue_level: string;
  event_level: string;
  digested_at: number;
}

export function toChange(r: ChangeRow): FeedChange {
  return {
    id: Number(r.id),
    projectId: Number(r.project_id),
    issueId: Number(r.issue_id),
    created: Boolean(r.created),
    regressed: Boolean(r.regressed),
    unignored: Boolean(r.unignored),
    newEvents: Number(r.new_events),
    status: r.issue_status as IssueStatus,
    level: r.issue_level as Level,
    eventLevel: r.event_level as Level,
    digestedAt: Number(r.digested_at),
  };
}

export interface TargetRow {
  channel: ChannelKind;
  target: string;
  disabled_at: number | null;
  disabled_reason: string | null;
  migrated_to: string | null;
  next_send_at: number;
  window_start: number;
  window_count: number;
  last_ok_at: number | null;
  last_error: string | null;
}

export function toTarget(r: TargetRow): AlertTarget {
  return {
    channel: r.channel,
    target: r.target,
    disabledAt: numOrNull(r.disabled_at),
    disabledReason: r.disabled_reason,
    migratedTo: r.migrated_to,
    nextSendAt: Number(r.next_send_at),
    lastOkAt: numOrNull(r.last_ok_at),
    lastError: r.last_error,
  };
}

export interface MessageRow {
  id: number;
  channel: string;
  target: string;
  message_id: string;
  thread_id: number | null;
  project_id: number;
  issue_ids: string;
  items: string;
  actions: string;
  created_at: number;
}

export function toMessage(r: MessageRow): SentMessage {
  return {
    id: Number(r.id),
    channel: r.channel as ChannelKind,
    target: r.target,
    messageId: r.message_id,
    threadId: numOrNull(r.thread_id),
    projectId: Number(r.project_id),
    issueIds: JSON.parse(r.issue_ids) as number[],
    items: JSON.parse(r.items),
    actions: JSON.parse(r.actions) as MessageAction[],
    createdAt: Number(r.created_at),
  };
}

export interface SilenceRow {
  id: number;
  project_id: number | null;
  issue_id: number | null;
  ends_at: number;
  created_by: string;
  reason: string | null;
  created_at: number;
}

export interface LogRow {
  at: number;
  project_id: number;
  issue_id: number | null;
  fingerprint: string;
  tier: string;
  reasons: string;
  outcome: string;
}

export function toSilence(r: SilenceRow): Silence {
  return {
    id: Number(r.id),
    projectId: numOrNull(r.project_id),
    issueId: numOrNull(r.issue_id),
    endsAt: Number(r.ends_at),
    createdBy: r.created_by,
    reason: r.reason,
    createdAt: Number(r.created_at),
  };
}

export function toLogEntry(r: LogRow): AlertLogEntry {
  return {
    at: Number(r.at),
    projectId: Number(r.project_id),
    issueId: numOrNull(r.issue_id),
    fingerprint: r.fingerprint,
    tier: r.tier as AlertTier,
    reasons: JSON.parse(r.reasons) as AlertReason[],
    outcome: r.outcome as AlertLogEntry['outcome'],
  };
}

/** alert_state columns of a state (the derived `awaitingSend` is not stored). */
export function stateColumns({ awaitingSend: _derived, ...s }: AlertState, updatedAt: number) {
  return {
    fingerprint: s.fingerprint,
    project_id: s.projectId,
    issue_id: s.issueId,
    tier: s.tier,
    cooldown_until: s.cooldownUntil,
    pending_tier: s.pending?.tier ?? null,
    pending_reasons: s.pending ? JSON.stringify(s.pending.reasons) : null,
    last_enqueued_at: s.lastEnqueuedAt,
    last_sent_at: s.lastSentAt,
    events_at_last: s.eventsAtLast,
    users_at_last: s.usersAtLast,
    repeat_at: s.repeatAt,
    acked_at: s.ackedAt,
    acked_by: s.ackedBy,
    updated_at: updatedAt,
  };
}

/** alert_outbox columns of a new row (pending, due at its grouping window's end). */
export function newOutboxColumns(row: NewOutboxRow) {
  return {
    project_id: row.projectId,
    issue_id: row.issueId,
    fingerprint: row.fingerprint,
    channel: row.channel,
    target: row.target,
    tier: row.tier,
    reasons: JSON.stringify(row.reasons),
    status: 'pending',
    created_at: row.createdAt,
    not_before: row.notBefore,
    next_attempt_at: row.notBefore,
    body: row.body ? JSON.stringify(row.body) : null,
    dedupe_key: row.dedupeKey ?? null,
  };
}
