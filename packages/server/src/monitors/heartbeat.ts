import type { Monitor, NewNotification, Transition } from '../store/monitors.js';
import { conflictText, deafText, downText, recoveredText, signalText, type Who } from './format.js';
import { nextExpectedAt } from './schedule.js';
import { judgeSignals, type SignalLimits, type SignalsReport } from './signals.js';

/**
 * The heartbeat state machine as pure functions: what a check-in or a passed deadline does to a
 * monitor. The service applies the returned Transition conditionally (store.transition), so a
 * ping racing the sweeper, or two sweepers, never flip one monitor twice.
 *
 *   new ─ping→ up ─deadline→ late ─grace over: a missed check-in→ … ─failures × threshold→ down
 *   down ─good check-ins × recovery threshold→ up
 *
 * A missed check-in and an error check-in are both failures: the failure threshold counts them
 * together, consecutively (Sentry Crons' `failure_issue_threshold`), and any good check-in resets
 * the count. With the default threshold of 1, the first missed check-in takes the monitor down.
 */

export interface HeartbeatContext {
  who: Who;
  url: string;
  /** A process whose getUpdates has not succeeded for this many poll windows is deaf. */
  deafAfterPolls: number;
  conflictAlertMs: number;
  /** The limits of this monitor's bot-signal rules (webhook, update lag, 429s). */
  signals: SignalLimits;
}

const DEFAULT_POLL_TIMEOUT_SECONDS = 30;

/** What one check-in (Sentry `check_in` item or plain ping) says. */
export interface Beat {
  at: number;
  /** `paused`: the SDK's last check-in of a polling loop stopped on purpose (bot.stop()). */
  status: 'ok' | 'error' | 'in_progress' | 'paused';
  /** The SDK's `contexts.polling`, if any. */
  polling?: Record<string, unknown> | undefined;
  /** When the server received it (wall clock of the bot's own timestamps), for the deaf check. */
  receivedAt?: number;
  /** The SDK's `contexts.bot_signals`, as far as it could be read (null: none, as from any Sentry SDK). */
  signals?: SignalsReport | null;
}

/** Monitors are versioned by updated_at: each write moves it forward, even within one millisecond. */
export function nextVersion(m: Pick<Monitor, 'updatedAt'>, now: number): number {
  return Math.max(now, m.updatedAt + 1);
}

/** Why a beat counts as a failure, or null when it is healthy. */
export function failureOf(beat: Beat, deafAfterPolls: number): { reason: string; deaf: boolean } | null {
  const polling = beat.polling;
  if (beat.status === 'error') {
    const reason = typeof polling?.['reason'] === 'string' ? polling['reason'] : 'the check-in reported status "error"';
    // An SDK error check-in is about a deaf polling loop, unless it is the last one of a loop that ended (`stopped`).
    return { reason, deaf: polling !== undefined && polling['stopped'] !== true };
  }
  if (!polling || beat.status !== 'ok') return null;
  // A poll window is the longer of the beat interval and the long-poll timeout: a healthy long poll
  // with nothing to deliver answers once per timeout (grammY's default 30 s when the SDK does not say).
  const interval = typeof polling['interval_seconds'] === 'number' ? polling['interval_seconds'] : 20;
  const pollTimeout = typeof polling['poll_timeout_seconds'] === 'number' ? polling['poll_timeout_seconds'] : DEFAULT_POLL_TIMEOUT_SECONDS;
  const intervalMs = Math.max(interval, pollTimeout) * 1000;
  const lastOk = typeof polling['last_get_updates_ok_at'] === 'string' ? Date.parse(polling['last_get_updates_ok_at']) : NaN;
  const at = beat.receivedAt ?? beat.at;
  if (Number.isFinite(lastOk) && at - lastOk > deafAfterPolls * intervalMs) {
    return { reason: `no successful getUpdates for ${Math.round((at - lastOk) / 1000)} s (${deafAfterPolls} poll windows)`, deaf: true };
  }
  return null;
}

/** `lastReason` prefix of a monitor the bot paused itself (its `paused` check-in); its next check-in resumes it. */
export const BOT_PAUSED = 'stopped by the bot: ';

/**
 * The bot's polling loop ended on purpose: shown as paused, without an alert, and nothing is
 * expected until the bot checks in again. A monitor a person paused stays theirs.
 */
function pausedByBot(m: Monitor, t: Transition, beat: Beat): Transition {
  if (m.status === 'paused') return t;
  const said = typeof beat.polling?.['reason'] === 'string' ? beat.polling['reason'] : 'the bot stopped polling';
  const reason = `${BOT_PAUSED}${said}`;
  Object.assign(t.set, { status: 'paused', deadline: null, failures: 0, successes: 0, lastReason: reason });
  t.flip = { at: beat.at, from: m.status, to: 'paused', reason };
  return t;
}

/** The transition a beat causes (always one: the ping time and deadline move), with what its bot signals change. */
export function onBeat(m: Monitor, beat: Beat, ctx: HeartbeatContext): Transition {
  const t = beatTransition(m, beat, ctx);
  if (beat.signals) applySignals(m, t, beat.signals, beat, ctx);
  return t;
}

/**
 * The bot signals of a check-in, in the same conditional update as the beat: each alert and its
 * recovery is written once, with the state that decided it. A paused monitor records them without
 * judging (nothing is judged while paused).
 */
function applySignals(m: Monitor, t: Transition, report: SignalsReport, beat: Beat, ctx: HeartbeatContext): void {
  const judge = (t.set.status ?? m.status) !== 'paused';
  const { state, events } = judgeSignals(m.signals, report, ctx.signals, beat.receivedAt ?? beat.at, judge);
  t.set.signals = state;
  for (const e of events) {
    const text = signalText(ctx.who, e, ctx.url);
    t.notify = [...(t.notify ?? []), notification(m, e.kind, text, beat.at, { signal: e.signal, value: e.value, detail: e.detail, ...(e.lastedMs === undefined ? {} : { lastedMs: e.lastedMs }) })];
  }
}

function beatTransition(m: Monitor, beat: Beat, ctx: HeartbeatContext): Transition {
  const now = beat.at;
  const base: Transition = { stateId: m.stateId, expect: { status: m.status, updatedAt: m.updatedAt }, set: { lastPingAt: now, updatedAt: nextVersion(m, now) } };
  if (beat.polling) Object.assign(base.set, { polling: beat.polling }, conflictUpdate(m, beat.polling, now, ctx, base));
  if (beat.status === 'paused') return pausedByBot(m, base, beat);
  if (m.status === 'paused') {
    if (!m.lastReason?.startsWith(BOT_PAUSED)) return base; // paused by a person: only they resume it
    // The bot stopped on purpose and polls again: watched again from a clean state, as a new monitor.
    Object.assign(base.set, { status: 'new', downSince: null, downReason: null, alertSent: false, lastReason: null });
    const resumed = beatTransition({ ...m, status: 'new', failures: 0, successes: 0, alertSent: false, downSince: null }, beat, ctx);
    resumed.expect = base.expect;
    resumed.set = { ...base.set, ...resumed.set };
    resumed.flip = { at: now, from: 'paused', to: resumed.set.status ?? 'new', reason: resumed.flip?.reason ?? 'the bot checked in again' };
    return resumed;
  }
  // A live process, healthy or not, moves the silence deadline: silence is judged separately from failures.
  base.set.deadline = nextExpectedAt(m, now);
  if (beat.status === 'in_progress') return base;
  const failure = failureOf(beat, ctx.deafAfterPolls);
  return failure ? failed(m, base, failure, ctx) : succeeded(m, base, now, ctx);
}

function succeeded(m: Monitor, t: Transition, now: number, ctx: HeartbeatContext): Transition {
  const successes = m.successes + 1;
  Object.assign(t.set, { failures: 0, successes, lastOkAt: now, lastReason: null });
  if (m.status !== 'down') {
    if (m.status !== 'up') t.flip = { at: now, from: m.status, to: 'up', reason: 'heartbeat' };
    t.set.status = 'up';
    return t;
  }
  if (successes < m.recoveryThreshold) return t;
  Object.assign(t.set, { status: 'up', downSince: null, downReason: null, alertSent: false });
  t.flip = { at: now, from: 'down', to: 'up', reason: 'heartbeat' };
  const downtime = now - (m.downSince ?? now);
  // Recovery is said only where the down alert was (seed 001: the flag is cleared and it says so).
  if (m.alertSent) t.notify = [...(t.notify ?? []), notification(m, 'recovered', recoveredText(ctx.who, downtime, ctx.url), now, { downtimeMs: downtime })];
  return t;
}

function failed(m: Monitor, t: Transition, failure: { reason: string; deaf: boolean }, ctx: HeartbeatContext): Transition {
  const now = t.set.lastPingAt!;
  const failures = m.failures + 1;
  Object.assign(t.set, { failures, successes: 0, lastReason: failure.reason });
  if (m.status === 'down' || failures < m.failureThreshold) return t;
  const kind = failure.deaf ? 'deaf' : 'failing';
  Object.assign(t.set, { status: 'down', downSince: now, downReason: `${kind}: ${failure.reason}`, alertSent: true });
  t.flip = { at: now, from: m.status, to: 'down', reason: `${kind}: ${failure.reason}` };
  const text = failure.deaf ? deafText(ctx.who, failure.reason, ctx.url) : downText(ctx.who, m, failure.reason, ctx.url, now);
  t.notify = [...(t.notify ?? []), notification(m, kind, text, now, { reason: failure.reason })];
  return t;
}

/** The sweeper found the deadline passed: up → late, late → down (with the one down alert). */
export function onDeadline(m: Monitor, now: number, ctx: HeartbeatContext): Transition | null {
  if (m.kind !== 'heartbeat' || m.deadline === null || m.deadline > now) return null;
  const base: Transition = { stateId: m.stateId, expect: { status: m.status, updatedAt: m.updatedAt }, set: { updatedAt: nextVersion(m, now) } };
  if (m.status === 'up' || m.status === 'new') {
    Object.assign(base.set, { status: 'late', deadline: m.deadline + m.graceMs });
    base.flip = { at: m.deadline, from: m.status, to: 'late', reason: 'heartbeat overdue' };
    return base;
  }
  if (m.status === 'late') return missed(m, base, now, ctx);
  // down or paused: nothing is scheduled.
  base.set.deadline = null;
  return base;
}

/**
 * The grace after an expected check-in ran out: one failure. Below the failure threshold the
 * monitor stays late and waits for the next expected check-in (plus grace); at it, it goes down
 * with the one down alert, dated from this deadline.
 */
function missed(m: Monitor, t: Transition, now: number, ctx: HeartbeatContext): Transition {
  const silentFor = now - (m.lastPingAt ?? m.createdAt);
  const failures = m.failures + 1;
  const silence = `no heartbeat for ${Math.round(silentFor / 1000)} s`;
  const reason = m.failureThreshold > 1 ? `${failures} check-ins missed or failed in a row (${silence})` : silence;
  Object.assign(t.set, { failures, successes: 0, lastReason: reason });
  if (failures < m.failureThreshold) {
    const missedSlot = m.deadline! - m.graceMs;
    t.set.deadline = nextExpectedAt(m, missedSlot) + m.graceMs;
    return t;
  }
  Object.assign(t.set, { status: 'down', deadline: null, downSince: m.deadline, downReason: reason, alertSent: true });
  t.flip = { at: m.deadline!, from: 'late', to: 'down', reason };
  t.notify = [notification(m, 'down', downText(ctx.who, m, reason, ctx.url, now), now, { reason, silentForMs: silentFor })];
  return t;
}

/**
 * 409 Conflicts: the SDK's per-process counter grows while two pollers fight. One alert when a
 * streak outlasts a deploy overlap (BOTPULSE_LOCK_CONFLICT_ALERT_SECONDS); a quiet beat ends it.
 */
function conflictUpdate(m: Monitor, polling: Record<string, unknown>, now: number, ctx: HeartbeatContext, t: Transition): Partial<Monitor> {
  const conflicts = typeof polling['conflicts'] === 'number' ? polling['conflicts'] : 0;
  const samePid = m.polling?.['pid'] === polling['pid'] && m.polling?.['host'] === polling['host'];
  const before = samePid && typeof m.polling?.['conflicts'] === 'number' ? (m.polling['conflicts'] as number) : 0;
  const grew = conflicts - before;
  if (grew <= 0) return { conflictSince: null, conflictAlerted: false };
  const since = m.conflictSince ?? now;
  const update: Partial<Monitor> = { conflictsTotal: m.conflictsTotal + grew, conflictSince: since };
  if (!m.conflictAlerted && now - since >= ctx.conflictAlertMs) {
    update.conflictAlerted = true;
    const holder = `host ${String(polling['host'] ?? '?')} pid ${String(polling['pid'] ?? '?')}`;
    t.notify = [...(t.notify ?? []), notification(m, 'conflict', conflictText(ctx.who, holder, now - since, ctx.url), now, { conflicts: m.conflictsTotal + grew })];
  }
  return update;
}

/** A monitor's notification; with an environment, its fingerprint and payload name it (each environment alerts on its own). */
export function notification(m: Pick<Monitor, 'id' | 'projectId' | 'slug' | 'environment'>, kind: string, text: string, now: number, extra: Record<string, unknown> = {}): NewNotification {
  const fingerprint = m.environment === null ? `monitor:${m.id}` : `monitor:${m.id}:${m.environment}`;
  const payload = { kind, monitor: m.slug, ...(m.environment === null ? {} : { environment: m.environment }), ...extra };
  return { projectId: m.projectId, monitorId: m.id, fingerprint, kind, text, payload, createdAt: now };
}
