import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { envelopeUrl } from '@botpulse/protocol';
import type { Logger } from 'pino';
import { reportFailure } from '../lib/failures.js';
import { HeldLease, TurnLoop } from '../lib/turn-loop.js';
import type { AlertStore } from '../store/alerts.js';
import { decodePayload } from '../store/payload.js';
import type { Store } from '../store/store.js';
import { UPSTREAM_KINDS, type UpstreamKind, type UpstreamStore } from '../store/upstream.js';
import type { UpstreamConfig } from './config.js';
import { authHeader, envelopeFor, logsWereForwarded, prepareForUpstream, sampled, wasForwarded } from './envelope.js';
import { UpstreamPoster, type PostAnswer } from './poster.js';
import { RateLimits } from './rate-limits.js';
import { ProjectSettings } from './settings.js';

/** One forwarder per database: servers sharing one take this lease (the pattern of the alert engine). */
const LEASE = 'upstream:forwarder';
const LEASE_MS = 30_000;

/** Why an item answered 200 here never reached the upstream (botpulse_upstream_dropped_total{reason}). */
export type DropReason = 'backlog_full' | 'rejected' | 'unreadable';
/** Why an item was not forwarded, by choice (botpulse_upstream_skipped_total{reason}). */
export type SkipReason = 'disabled' | 'sampled' | 'already_forwarded';

/** 'done': dealt with on an earlier pass that stopped at a retry before it (see doneAhead). */
type Outcome = 'sent' | 'skipped' | 'dropped' | 'retry' | 'done';

interface Item {
  id: number;
  projectId: number;
  eventId: string | null;
  load: () => Record<string, unknown>;
}

export interface ForwarderDeps {
  config: UpstreamConfig;
  /** This server's public URL: the value of the mark on what it forwards. */
  forwardedBy: string;
  upstream: UpstreamStore;
  store: Pick<Store, 'listRawItems' | 'listProjects'>;
  leases: Pick<AlertStore, 'lease' | 'releaseLease'>;
  logger: Logger;
  now?: () => number;
}

export interface ForwarderState {
  enabled: boolean;
  /** The upstream's address without its key, and which config key named it. */
  target: string | null;
  source: UpstreamConfig['dsnSource'];
  /** This process holds the forwarder lease (only the holder forwards and knows the backlog). */
  owner: boolean;
  sent: Record<UpstreamKind, number>;
  failed: number;
  rateLimited: number;
  dropped: Record<DropReason, number>;
  skipped: Record<SkipReason, number>;
  /** Items waiting per kind (as of the last turn of the owner). */
  backlog: Record<UpstreamKind, number>;
  /** Categories the upstream rate-limited, until when (ms). */
  rateLimits: Record<string, number>;
  /** A kind waits for its retry until then (ms), after a failure. */
  retryAt: Partial<Record<UpstreamKind, number>>;
  lastError: string | null;
  lastErrorAt: number | null;
  lastSentAt: number | null;
}

const perKind = (): Record<UpstreamKind, number> => ({ event: 0, transaction: 0, check_in: 0, log: 0 });

/** The state before the first pass (and of a process where forwarding is off). */
export function idleState(config: UpstreamConfig): ForwarderState {
  const { dsn } = config;
  return {
    enabled: dsn !== null,
    target: dsn ? envelopeUrl(dsn) : null,
    source: config.dsnSource,
    owner: false,
    sent: perKind(),
    failed: 0,
    rateLimited: 0,
    dropped: { backlog_full: 0, rejected: 0, unreadable: 0 },
    skipped: { disabled: 0, sampled: 0, already_forwarded: 0 },
    backlog: perKind(),
    rateLimits: {},
    retryAt: {},
    lastError: null,
    lastErrorAt: null,
    lastSentAt: null,
  };
}

/**
 * Forwards stored events (and, per project on request, parked transactions, check-ins and logs)
 * to the upstream Sentry. Reads the events table after a persisted cursor, never writes it, and
 * runs on its own timer: ingestion and the digest never wait for it (docs/upstream.md).
 */
export class UpstreamForwarder {
  private readonly now: () => number;
  private readonly rateLimits = new RateLimits();
  private readonly settings: ProjectSettings;
  private readonly attempts = new Map<UpstreamKind, number>();
  /**
   * Items past a kind's cursor already dealt with (sent, skipped or dropped) in a chunk where an
   * earlier item must be retried. The cursor cannot pass the retried item, so without this they
   * would be posted (and counted) again on the next pass. At most `concurrency` ids per kind; lost
   * with the process, when the at-least-once rule of docs/upstream.md applies.
   */
  private readonly doneAhead = new Map<UpstreamKind, Set<number>>();
  /** The cursor keepUp last wrote, per kind (it writes only when the newest item moved). */
  private readonly keptAt = new Map<UpstreamKind, number>();
  private readonly state: ForwarderState;
  private readonly poster: UpstreamPoster | null;
  private readonly lease: HeldLease;
  /** Turns on its own timer, which never holds up the process's exit. */
  private readonly loop: TurnLoop;

  constructor(private readonly deps: ForwarderDeps) {
    this.now = deps.now ?? Date.now;
    this.settings = new ProjectSettings(deps.config, deps.upstream, deps.store);
    this.state = idleState(deps.config);
    this.poster = this.state.target ? new UpstreamPoster(new URL(this.state.target), deps.config.concurrency) : null;
    this.lease = new HeldLease({
      table: deps.leases,
      name: LEASE,
      holder: randomUUID(),
      ttlMs: LEASE_MS,
      now: this.now,
      changed: (held) => {
        deps.logger.info({ owner: held }, held ? 'this process forwards to the upstream Sentry' : 'another process forwards to the upstream Sentry');
        this.state.owner = held;
      },
    });
    this.loop = new TurnLoop({
      turn: () => this.turn(),
      failed: (err) => reportFailure(deps.logger, 'upstream_turn', err, 'upstream forwarding turn failed; trying again'),
      waitMs: () => deps.config.pollMs,
      unref: true,
    });
  }

  get projectSettings(): ProjectSettings {
    return this.settings;
  }

  /** A copy of the counters and state, for /metrics, /status, the dashboard and the API. */
  snapshot(): ForwarderState {
    const now = this.now();
    return structuredClone({ ...this.state, rateLimits: this.rateLimits.active(now), retryAt: Object.fromEntries(Object.entries(this.state.retryAt).filter(([, t]) => t > now)) });
  }

  start(): void {
    if (this.deps.config.dsn) this.loop.start();
  }

  /** Ends the turn in progress and hands the lease over. The cursors say where the next owner starts. */
  async stop(): Promise<void> {
    await this.loop.stop();
    this.poster?.close();
    await this.lease.release((err) => reportFailure(this.deps.logger, 'upstream_lease_release', err, 'could not release the upstream forwarder lease; another process takes over when it expires', {}, 'warn'));
  }

  /** One pass over every kind; resolves with how long to wait before the next. */
  private async turn(): Promise<number> {
    if (!(await this.lease.hold())) return this.deps.config.pollMs;
    const resolved = await this.settings.resolve();
    let wait = this.deps.config.pollMs;
    for (const kind of UPSTREAM_KINDS) {
      if (!resolved.anyForwards(kind)) {
        await this.keepUp(kind);
        continue;
      }
      const blockedUntil = this.blockedUntil(kind);
      if (blockedUntil) {
        wait = Math.min(wait, blockedUntil - this.now());
        continue;
      }
      const more = kind === 'event' ? await this.drainEvents(resolved.of) : await this.drainRaw(kind, resolved.of);
      if (more) wait = 0;
      else if (this.blockedUntil(kind)) wait = Math.min(wait, this.blockedUntil(kind) - this.now());
    }
    if (wait <= 0) await yieldToLoop();
    return Math.max(0, wait);
  }

  /** Until when a kind waits (a retry after a failure, or the upstream's rate limit); 0 if it may go. */
  private blockedUntil(kind: UpstreamKind): number {
    const now = this.now();
    const until = Math.max(this.state.retryAt[kind] ?? 0, this.rateLimits.limitedUntil(kind, now));
    return until > now ? until : 0;
  }

  // ── events: the events table after the cursor, up to the horizon ──────────

  private async drainEvents(settingsOf: SettingsOf): Promise<boolean> {
    const { upstream, config } = this.deps;
    const horizon = await upstream.eventHorizon();
    let cursor = await this.cursor('event', async () => horizon);
    cursor = await this.trimEvents(cursor, horizon);
    const rows = await upstream.eventsAfter(cursor, horizon, config.batch);
    this.state.backlog.event = rows.length < config.batch ? rows.length : await upstream.countEvents(cursor, horizon);
    if (rows.length === 0) return false;
    const items = rows.map((r) => ({ id: r.id, projectId: r.projectId, eventId: r.eventId, load: () => decodePayload<Record<string, unknown>>(r.payload) }));
    const { last, complete } = await this.forward('event', items, settingsOf);
    if (last > cursor) await upstream.setValue(cursorKey('event'), String(last));
    this.state.backlog.event = Math.max(0, this.state.backlog.event - items.filter((i) => i.id <= last).length);
    return complete && rows.length === config.batch;
  }

  /**
   * The bounded backlog: past BOTPULSE_UPSTREAM_BACKLOG_LIMIT events waiting, the oldest are given
   * up (counted, logged) so that an upstream gone for days cannot make us hold a growing queue.
   */
  private async trimEvents(cursor: number, horizon: number): Promise<number> {
    const { upstream } = this.deps;
    if (horizon - cursor <= this.deps.config.backlogLimit) return cursor; // ids are dense enough: no count needed
    return this.trim('event', cursor, () => upstream.countEvents(cursor, horizon), (n) => upstream.nthEventAfter(cursor, n), horizon);
  }

  /** The same bound for each raw kind (transactions, check-ins, logs), on its own count. */
  private async trimRaw(kind: UpstreamKind, cursor: number): Promise<number> {
    const { upstream } = this.deps;
    const newest = await upstream.rawItemHorizon(kind);
    if (newest - cursor <= this.deps.config.backlogLimit) return cursor; // raw kinds share ids: a bound on the count
    return this.trim(kind, cursor, () => upstream.countRawItems(kind, cursor), (n) => upstream.nthRawItemAfter(kind, cursor, n), newest);
  }

  /** Moves a kind's cursor past its oldest waiting items beyond the limit; they are counted as dropped. */
  private async trim(kind: UpstreamKind, cursor: number, count: () => Promise<number>, nth: (n: number) => Promise<number | null>, newest: number): Promise<number> {
    const { upstream, config, logger } = this.deps;
    const waiting = await count();
    if (waiting <= config.backlogLimit) return cursor;
    const over = waiting - config.backlogLimit;
    const next = (await nth(over)) ?? newest;
    await upstream.setValue(cursorKey(kind), String(next));
    this.state.dropped.backlog_full += over;
    logger.warn({ kind, dropped: over, limit: config.backlogLimit, lastError: this.state.lastError }, `upstream backlog over BOTPULSE_UPSTREAM_BACKLOG_LIMIT: the oldest ${kind} items will not be forwarded`);
    return next;
  }

  // ── transactions, check-ins, logs: parked raw items after the cursor ─────

  private async drainRaw(kind: UpstreamKind, settingsOf: SettingsOf): Promise<boolean> {
    const { upstream, store, config } = this.deps;
    let cursor = await this.cursor(kind, () => upstream.rawItemHorizon(kind));
    cursor = await this.trimRaw(kind, cursor);
    const rows = await store.listRawItems(kind, { after: cursor, limit: config.batch });
    this.state.backlog[kind] = rows.length < config.batch ? rows.length : await upstream.countRawItems(kind, cursor);
    if (rows.length === 0) return false;
    const items = rows.map((r) => ({ id: r.id, projectId: r.projectId, eventId: r.eventId, load: () => JSON.parse(r.payload.toString('utf8')) as Record<string, unknown> }));
    const { last, complete } = await this.forward(kind, items, settingsOf);
    if (last > cursor) await upstream.setValue(cursorKey(kind), String(last));
    this.state.backlog[kind] = Math.max(0, this.state.backlog[kind] - items.filter((i) => i.id <= last).length);
    return complete && rows.length === config.batch;
  }

  /**
   * A kind no project forwards keeps its cursor at its newest item, so that turning it on (the
   * API, a restart with new settings) forwards what arrives from then on, not the history.
   */
  private async keepUp(kind: UpstreamKind): Promise<void> {
    this.state.backlog[kind] = 0;
    const newest = kind === 'event' ? await this.deps.upstream.eventHorizon({ exact: false }) : await this.deps.upstream.rawItemHorizon(kind);
    if (this.keptAt.get(kind) === newest) return;
    await this.deps.upstream.setValue(cursorKey(kind), String(newest));
    this.keptAt.set(kind, newest);
  }

  /** A kind's cursor; a kind forwarded for the first time starts at its newest item (history is not sent). */
  private async cursor(kind: UpstreamKind, newest: () => Promise<number>): Promise<number> {
    const stored = await this.deps.upstream.getValue(cursorKey(kind));
    if (stored !== null) return Number(stored);
    const start = await newest();
    await this.deps.upstream.setValue(cursorKey(kind), String(start));
    return start;
  }

  // ── sending ───────────────────────────────────────────────────────────────

  /**
   * Sends items in id order, `concurrency` at a time. The cursor moves to the last item before the
   * first one that must be retried; the items after it that were dealt with are remembered in
   * doneAhead and passed over when the retry comes (a process that dies in between sends them
   * again: at least once, duplicates only there).
   */
  private async forward(kind: UpstreamKind, items: Item[], settingsOf: SettingsOf): Promise<{ last: number; complete: boolean }> {
    const { concurrency } = this.deps.config;
    const done = this.doneAheadOf(kind, items[0]?.id ?? 0);
    let last = 0;
    for (let i = 0; i < items.length; i += concurrency) {
      if (this.loop.stopping || this.blockedUntil(kind)) return { last, complete: false };
      const chunk = items.slice(i, i + concurrency);
      const outcomes = await Promise.all(chunk.map((item) => (done.has(item.id) ? 'done' : this.forwardOne(kind, item, settingsOf(item.projectId)))));
      const firstRetry = outcomes.indexOf('retry');
      if (firstRetry >= 0) {
        this.backOff(kind);
        for (const [j, outcome] of outcomes.entries()) if (j > firstRetry && outcome !== 'retry') done.add(chunk[j]!.id);
        return { last: firstRetry > 0 ? chunk[firstRetry - 1]!.id : last, complete: false };
      }
      last = chunk[chunk.length - 1]!.id;
    }
    this.attempts.delete(kind);
    delete this.state.retryAt[kind];
    done.clear();
    return { last, complete: true };
  }

  /** A kind's doneAhead set, without the ids the cursor has passed (sent, or trimmed as backlog). */
  private doneAheadOf(kind: UpstreamKind, firstWaiting: number): Set<number> {
    let done = this.doneAhead.get(kind);
    if (!done) this.doneAhead.set(kind, (done = new Set()));
    for (const id of done) if (id < firstWaiting) done.delete(id);
    return done;
  }

  private async forwardOne(kind: UpstreamKind, item: Item, settings: { enabled: boolean; sampleRate: number; kinds: readonly UpstreamKind[] }): Promise<Outcome> {
    if (!settings.enabled || !settings.kinds.includes(kind)) return this.skip('disabled');
    let payload: Record<string, unknown>;
    try {
      payload = item.load();
    } catch (err) {
      this.deps.logger.error({ err, kind, id: item.id, projectId: item.projectId }, 'a stored item could not be read for the upstream; not forwarded');
      this.state.dropped.unreadable++;
      return 'dropped';
    }
    if (wasForwarded(payload) || (kind === 'log' && logsWereForwarded(payload))) return this.skip('already_forwarded');
    if (!sampled(item.eventId ?? `${kind}:${item.id}`, settings.sampleRate)) return this.skip('sampled');
    const body = envelopeFor(kind, item.eventId, prepareForUpstream(payload, kind, this.deps.forwardedBy), this.now());
    return this.post(kind, item, body);
  }

  private skip(reason: SkipReason): Outcome {
    this.state.skipped[reason]++;
    return 'skipped';
  }

  private async post(kind: UpstreamKind, item: Item, body: Buffer): Promise<Outcome> {
    const { dsn, timeoutMs } = this.deps.config;
    let res: PostAnswer;
    try {
      res = await this.poster!.post(body, { 'Content-Type': 'application/x-sentry-envelope', 'X-Sentry-Auth': authHeader(dsn!) }, timeoutMs);
    } catch (err) {
      return this.failed(`upstream unreachable: ${(err as Error).message}`);
    }
    const now = this.now();
    const limited = this.rateLimits.update(res.status, res.header, now);
    if (res.status >= 200 && res.status < 300) {
      this.state.sent[kind]++;
      this.state.lastSentAt = now;
      return 'sent';
    }
    if (res.status === 429) {
      this.state.rateLimited++;
      if (!limited) this.rateLimits.update(429, () => null, now);
      this.noteError(`upstream rate limit (429) on ${kind}`);
      return 'retry';
    }
    // 400 and 413 are about this item: retrying sends the same bytes. The rest (the key, the
    // project, the upstream itself) are about the upstream: wait and try again.
    if (res.status === 400 || res.status === 413) {
      this.state.dropped.rejected++;
      this.deps.logger.warn({ status: res.status, kind, eventId: item.eventId, projectId: item.projectId }, 'the upstream refused an item; not forwarded');
      return 'dropped';
    }
    return this.failed(`upstream answered ${res.status}`);
  }

  private failed(message: string): Outcome {
    this.state.failed++;
    this.noteError(message);
    return 'retry';
  }

  private noteError(message: string): void {
    if (message !== this.state.lastError) this.deps.logger.warn({ target: this.state.target }, `${message}; retrying with backoff`);
    this.state.lastError = message;
    this.state.lastErrorAt = this.now();
  }

  /** 1 s (BOTPULSE_UPSTREAM_RETRY_MIN_SECONDS), doubling to BOTPULSE_UPSTREAM_RETRY_MAX_SECONDS; a rate limit waits as long as it says. */
  private backOff(kind: UpstreamKind): void {
    const { retryMinMs, retryMaxMs } = this.deps.config;
    const attempt = (this.attempts.get(kind) ?? 0) + 1;
    this.attempts.set(kind, attempt);
    const delay = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(attempt - 1, 30));
    this.state.retryAt[kind] = Math.max(this.now() + delay, this.rateLimits.limitedUntil(kind, this.now()));
  }
}

type SettingsOf = (projectId: number) => { enabled: boolean; sampleRate: number; kinds: readonly UpstreamKind[] };

const cursorKey = (kind: UpstreamKind) => `cursor:${kind}`;

/**
 * Gives every kind without a cursor one at its newest item, before the server accepts anything:
 * forwarding starts with what arrives from now on (not with the history), and an event answered
 * while the forwarder's thread is still starting is not taken for history.
 */
export async function startCursors(upstream: UpstreamStore): Promise<void> {
  for (const kind of UPSTREAM_KINDS) {
    if ((await upstream.getValue(cursorKey(kind))) !== null) continue;
    const newest = kind === 'event' ? await upstream.eventHorizon() : await upstream.rawItemHorizon(kind);
    await upstream.setValue(cursorKey(kind), String(newest));
  }
}
