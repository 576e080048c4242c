import type { AlertState, ClaimOptions, OutboxRow } from './alerts.js';

/**
 * The outbox's delivery rules (docs/alerts.md), pure, shared by every AlertStore implementation
 * so they cannot drift: which rows make one message, when a target may take one, and how a
 * message counts against its pace and its group budget. The stores only read and write.
 */

/** Telegram group and supergroup ids are negative; their limit is 20 messages a minute. */
export function isGroupChat(channel: string, target: string): boolean {
  return channel === 'telegram' && target.startsWith('-');
}

/**
 * The rows of one message: in id order, at most `max` distinct fingerprints, plus every later row
 * of a fingerprint already taken (those collapse into it).
 */
export function takeFingerprints(rows: OutboxRow[], max: number): OutboxRow[] {
  const taken = new Set<string>();
  return rows.filter((row) => {
    if (taken.has(row.fingerprint)) return true;
    if (taken.size >= max) return false;
    taken.add(row.fingerprint);
    return true;
  });
}

/** Head of line: while a target's oldest row is not due (or someone is sending it), nothing behind it goes. */
export function headHoldsQueue(head: OutboxRow, now: number): boolean {
  return head.notBefore > now || head.nextAttemptAt > now || (head.claimedUntil !== null && head.claimedUntil >= now);
}

/** A target's delivery state as stored (alert_targets). */
export interface TargetPace {
  channel: string;
  target: string;
  disabled_at: number | null;
  next_send_at: number;
  window_start: number;
  window_count: number;
}

/** May the target take a message now: enabled, its pace and (groups) its per-minute budget allowing. */
export function targetMayTake(t: TargetPace, now: number, opts: ClaimOptions): boolean {
  if (t.disabled_at !== null || Number(t.next_send_at) > now) return false;
  const overGroupBudget = isGroupChat(t.channel, t.target) && Number(t.window_start) + 60_000 > now && Number(t.window_count) >= opts.groupPerMinute;
  return !overGroupBudget;
}

/** The target's pace after a message is claimed now: the next allowed send, and the minute window's count. */
export function paceAfterClaim(t: TargetPace, now: number, opts: ClaimOptions): { nextSendAt: number; windowStart: number; windowCount: number } {
  const windowOpen = Number(t.window_start) + 60_000 > now;
  return { nextSendAt: now + opts.paceMs, windowStart: windowOpen ? Number(t.window_start) : now, windowCount: windowOpen ? Number(t.window_count) + 1 : 1 };
}

/** Repeats and pending triggers due, one entry per fingerprint. */
export function mergeFollowUps(repeats: AlertState[], pending: AlertState[]): AlertState[] {
  return [...new Map([...repeats, ...pending].map((s) => [s.fingerprint, s])).values()];
}
