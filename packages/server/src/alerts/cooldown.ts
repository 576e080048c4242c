import type { IssueStatus } from '../store/model.js';
import { destinationKey, type AlertDecision, type AlertLogEntry, type AlertReason, type AlertState, type AlertTier, type ChannelKind, type NewOutboxRow } from '../store/alerts.js';
import { FRESH_REASONS, highestTier, tierAbove } from './rules.js';

/**
 * Noise control as pure functions of the stored state: the store runs them inside the
 * transaction that read the state, so two processes deciding about one fingerprint take turns.
 */

export interface Destination {
  channel: ChannelKind;
  target: string;
}

/** A destination as AlertEngine.destinations resolved it, with the chat id or URL as configured (before any migration). */
export interface ResolvedDestination extends Destination {
  configured: string;
}

export interface TriggerInput {
  fingerprint: string;
  projectId: number;
  issueId: number | null;
  tier: AlertTier;
  reasons: AlertReason[];
  now: number;
  cooldownMs: number;
  groupWindowMs: number;
  destinations: Destination[];
  silenced: boolean;
}

/**
 * A trigger fired. Sent unless the fingerprint is cooling down; a trigger inside the cooldown is
 * kept as `pending` and goes out (with everything since) when the cooldown ends. A new incident
 * (new issue, regression, end of an ignore) is sent even inside a cooldown.
 *
 * A destination whose last message for the fingerprint is still in the outbox (`awaitingSend`:
 * held by the chat's grouping window, pacing, an outage, or being sent right now) counts as
 * cooling down however old the decision: its cooldown starts when that message is sent (markSent
 * moves `cooldownUntil` there), so a message now would arrive less than a cooldown after it. That
 * message will count every event up to its send; the trigger is also kept as `pending`, so what
 * comes after it goes out when the cooldown ends. The other destinations are not held up.
 */
export function decideTrigger(state: AlertState | null, input: TriggerInput): AlertDecision {
  const log = (outcome: AlertLogEntry['outcome']): AlertLogEntry[] => [
    { at: input.now, projectId: input.projectId, issueId: input.issueId, fingerprint: input.fingerprint, tier: input.tier, reasons: input.reasons, outcome },
  ];
  if (input.tier === 'warning') return { state: null, enqueue: [], log: log('recorded') };
  if (input.silenced) return { state: null, enqueue: [], log: log('silenced') };
  if (input.destinations.length === 0) return { state: null, enqueue: [], log: log('no_target') };
  const fresh = input.reasons.some((r) => FRESH_REASONS.includes(r));
  const current = state ?? emptyState(input);
  const free = notAwaiting(current, input.destinations);
  if (!fresh && (input.now < current.cooldownUntil || free.length === 0)) {
    // Already held back for this cooldown: nothing new to write (a storm costs no writes).
    if (covers(current.pending, input.tier, input.reasons)) return { state: null, enqueue: [], log: [] };
    return { state: { ...current, pending: mergePending(current.pending, input.tier, input.reasons) }, enqueue: [], log: log('suppressed') };
  }
  // A new incident goes everywhere at once; anything else skips the destinations still waiting.
  const targets = fresh ? input.destinations : free;
  const next: AlertState = {
    ...current,
    tier: input.tier,
    cooldownUntil: input.now + input.cooldownMs,
    pending: targets.length < input.destinations.length ? mergePending(current.pending, input.tier, input.reasons) : null,
    lastEnqueuedAt: input.now,
    // A new incident needs a new acknowledgement.
    ...(fresh ? { ackedAt: null, ackedBy: null } : {}),
  };
  return { state: next, enqueue: outboxRows({ ...input, destinations: targets }, input.tier, input.reasons), log: log('enqueued') };
}

export interface FollowUpInput {
  now: number;
  cooldownMs: number;
  groupWindowMs: number;
  destinations: Destination[];
  /** The issue's status now; null for project-wide fingerprints. */
  issueStatus: IssueStatus | null;
  /** The issue's event total now; null for project-wide fingerprints. */
  issueEvents: number | null;
  silenced: boolean;
}

/**
 * Time-driven alerts for one fingerprint: a pending trigger whose cooldown ended, and the repeat
 * of an unacknowledged critical alert. The conditions are re-checked here, on the state read in
 * the transaction, so only one process sends a given follow-up.
 */
export function decideFollowUp(state: AlertState | null, input: FollowUpInput): AlertDecision {
  if (!state) return { state: null, enqueue: [], log: [] };
  const status = input.issueStatus;
  // Repeats stop once someone acknowledged (in progress), resolved or muted the issue.
  const repeatDue = state.repeatAt !== null && state.repeatAt <= input.now && state.ackedAt === null && (status === null || status === 'new');
  const pendingDue = state.pending !== null && state.cooldownUntil <= input.now && status !== 'resolved' && status !== 'ignored' && !coveredBySent(state, input);
  const cleared: AlertState = { ...state, pending: null, repeatAt: null };
  if (!repeatDue && !pendingDue) {
    const stale = (state.repeatAt !== null && state.repeatAt <= input.now) || (state.pending !== null && state.cooldownUntil <= input.now);
    return { state: stale ? cleared : null, enqueue: [], log: [] };
  }
  if (input.silenced || input.destinations.length === 0) return { state: cleared, enqueue: [], log: [] };
  const free = notAwaiting(state, input.destinations);
  if (free.length === 0) {
    // Every destination still waits for the last message, whose send starts the next cooldown:
    // look again a cooldown from now (never earlier than that send allows).
    const later = input.now + input.cooldownMs;
    return { state: { ...state, cooldownUntil: Math.max(state.cooldownUntil, later), repeatAt: repeatDue ? later : state.repeatAt }, enqueue: [], log: [] };
  }
  const reasons: AlertReason[] = [...(state.pending?.reasons ?? []), ...(repeatDue ? (['repeat'] as const) : [])];
  const tier = repeatDue ? 'critical' : highestTier([state.pending?.tier ?? 'alert']);
  const base = { fingerprint: state.fingerprint, projectId: state.projectId, issueId: state.issueId, now: input.now };
  // A repeat is due when it is due: it does not wait for a grouping window.
  const row = outboxRows({ ...base, cooldownMs: input.cooldownMs, groupWindowMs: repeatDue ? 0 : input.groupWindowMs, destinations: free, silenced: false }, tier, unique(reasons));
  return {
    // repeat_at is set again when the message is actually sent: an outage does not pile up repeats.
    // A destination still waiting for its last message keeps the trigger pending for later.
    state: { ...cleared, pending: free.length < input.destinations.length ? state.pending : null, tier, cooldownUntil: input.now + input.cooldownMs, lastEnqueuedAt: input.now },
    enqueue: row,
    log: [{ ...base, at: input.now, tier, reasons: unique(reasons), outcome: 'enqueued' }],
  };
}

/**
 * A trigger held while the last message was still waiting to go out is covered by that message
 * when no event came after it (the message counted every event up to its send) and it asked for
 * no higher tier: a follow-up would only say "0 events since the last message".
 */
/** The destinations with no message of this fingerprint still in the outbox. */
function notAwaiting(state: AlertState, destinations: Destination[]): Destination[] {
  if (!state.awaitingSend.length) return destinations;
  const waiting = new Set(state.awaitingSend);
  return destinations.filter((d) => !waiting.has(destinationKey(d)));
}

function coveredBySent(state: AlertState, input: FollowUpInput): boolean {
  if (input.issueEvents === null || state.lastSentAt === null || !state.pending) return false;
  return input.issueEvents <= state.eventsAtLast && !tierAbove(state.pending.tier, state.tier);
}

function outboxRows(input: Omit<TriggerInput, 'tier' | 'reasons'>, tier: AlertTier, reasons: AlertReason[]): NewOutboxRow[] {
  // Critical alerts go out at once; others wait for the project's grouping window.
  const notBefore = tier === 'critical' ? input.now : input.now + input.groupWindowMs;
  return input.destinations.map((d) => ({
    projectId: input.projectId,
    issueId: input.issueId,
    fingerprint: input.fingerprint,
    channel: d.channel,
    target: d.target,
    tier,
    reasons,
    createdAt: input.now,
    notBefore,
  }));
}

function covers(pending: AlertState['pending'], tier: AlertTier, reasons: AlertReason[]): boolean {
  return pending !== null && highestTier([pending.tier, tier]) === pending.tier && reasons.every((r) => pending.reasons.includes(r));
}

function mergePending(pending: AlertState['pending'], tier: AlertTier, reasons: AlertReason[]): AlertState['pending'] {
  return {
    tier: highestTier([pending?.tier ?? 'warning', tier]),
    reasons: unique([...(pending?.reasons ?? []), ...reasons]),
  };
}

function emptyState(input: TriggerInput): AlertState {
  return {
    fingerprint: input.fingerprint,
    projectId: input.projectId,
    issueId: input.issueId,
    tier: input.tier,
    cooldownUntil: 0,
    pending: null,
    lastEnqueuedAt: null,
    lastSentAt: null,
    eventsAtLast: 0,
    usersAtLast: 0,
    repeatAt: null,
    ackedAt: null,
    ackedBy: null,
    awaitingSend: [],
  };
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
