import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Alerting } from '../alerts/alerting.js';
import { LoopSlicer } from '../lib/loop-slicer.js';
import type { Monitor, MonitorSource, MonitorStore, RefusalReason, Transition } from '../store/monitors.js';
import type { Project } from '../store/model.js';
import type { SpoolItemInput, SpoolRow, Store } from '../store/store.js';
import { DEFAULT_ENVIRONMENT, environmentOf, monitorConfigSettings, slugCandidates } from './checkin.js';
import type { Clock } from './clock.js';
import type { MonitoringSettings } from './config.js';
import { RawItemCursor } from './consumer.js';
import { changedSettings } from './definition.js';
import { onBeat, onDeadline, type Beat, type HeartbeatContext } from './heartbeat.js';
import { readBotSignals, signalLimits } from './signals.js';
import { bucketOf, emptyBuckets, itemDurationsMs } from './latency.js';
import { MonitorNotifier } from './notify.js';
import { Prober } from './probe.js';
import { Thresholds } from './thresholds.js';
import { reportFailure } from '../lib/failures.js';

export interface MonitorsDeps {
  config: MonitoringSettings;
  store: Store;
  monitors: MonitorStore;
  alerting: Alerting;
  logger: Logger;
  clock: Clock;
}

const EVALUATOR_LEASE = 'monitors:evaluator';
/** Monitors judged per turn of the event loop by the sweep, at most (a flip with its alert is a transaction). */
export const SWEEP_SLICE = 50;
/** Parked check-ins applied per turn of the event loop, at most (each is a few reads and a conditional write). */
const CHECK_IN_BATCH = 50;
/** A crashed evaluator (no clean release) is replaced after at most this long (or 3 ticks). */
const EVALUATOR_LEASE_MIN_MS = 10_000;

/** Counters for /metrics and the benchmark. */
export interface MonitorStats {
  ticks: number;
  lastTickMs: number;
  sweptTotal: number;
  checkInsTotal: number;
  transactionsTotal: number;
  /** Parked `span` items read (each may hold many spans; only segment spans feed latency). */
  spanItemsTotal: number;
  /** The last tick's phases (ms): draining check-ins and transactions, then the deadline sweep. */
  lastConsumeMs: number;
  lastSweepMs: number;
  /** Parts of check-ins' `contexts.bot_signals` that could not be read and were left out. */
  signalPartsIgnored: number;
  /** Parts of check-ins' monitor_config left out as unreadable (an unknown interval unit, say). */
  configPartsIgnored: number;
}

/** One tick's cost, for the /metrics histogram and the debug log (the monitors benchmark reads both). */
export interface TickTiming {
  totalMs: number;
  consumeMs: number;
  sweepMs: number;
  swept: number;
}

/**
 * The monitors of one process: ONE loop (no timer per monitor) that, each tick, drains new
 * check-ins and transactions, moves monitors whose stored deadline passed (conditional updates
 * into the flip history, the down alert in the same transaction), probes due /health URLs,
 * evaluates threshold rules and delivers notifications.
 */
export class Monitors {
  readonly notifier: MonitorNotifier;
  readonly prober: Prober;
  readonly thresholds: Thresholds;
  readonly stats: MonitorStats = { ticks: 0, lastTickMs: 0, sweptTotal: 0, checkInsTotal: 0, transactionsTotal: 0, spanItemsTotal: 0, lastConsumeMs: 0, lastSweepMs: 0, signalPartsIgnored: 0, configPartsIgnored: 0 };
  startedAt = 0;
  /** When this server was last alive before this start (null: first start). */
  previousAliveAt: number | null = null;
  /** This process holds the evaluator lease (see holdEvaluatorLease). */
  evaluating = false;
  private triedLease = false;
  private readonly workerId: string;
  private readonly checkIns: RawItemCursor;
  private readonly transactions: RawItemCursor;
  private readonly spans: RawItemCursor;
  private readonly refusalLog = new Map<string, { loggedAt: number; since: number }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private readonly projects = new Map<number, Project>();

  constructor(readonly deps: MonitorsDeps) {
    const workerId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.workerId = workerId;
    this.checkIns = new RawItemCursor(deps.store, deps.monitors, 'check_in', CHECK_IN_BATCH);
    this.transactions = new RawItemCursor(deps.store, deps.monitors, 'transaction');
    this.spans = new RawItemCursor(deps.store, deps.monitors, 'span');
    this.notifier = new MonitorNotifier({ ...deps, workerId, projectDown: (id) => this.projectDown(id) });
    // The prober and the rules get what they use, not the whole service (no import cycle back here).
    this.prober = new Prober({
      monitors: deps.monitors,
      apply: (t) => this.apply(t),
      context: (m) => this.context(m),
      now: () => this.clock.now(),
      timeoutMs: deps.config.monitors.probe.timeoutMs,
      onProbe: (id, result) => this.onProbe?.(id, result),
      onHistoryFailure: (id, err) => reportFailure(deps.logger, 'probe_history', err, "could not keep a probe's response time; the probe's result is applied anyway", { monitor: id }, 'warn'),
    });
    this.thresholds = new Thresholds({
      store: deps.store,
      monitors: deps.monitors,
      countEventsSince: (...args) => deps.alerting.alerts.countEventsSince(...args),
      config: deps.config,
      now: () => this.clock.now(),
    });
  }

  get clock(): Clock {
    return this.deps.clock;
  }

  /** Records the server's own start; the first tick takes the evaluator lease if it is free. */
  async start(): Promise<void> {
    const now = this.clock.now();
    this.startedAt = now;
    const alive = await this.deps.monitors.getValue('server:alive_at');
    this.previousAliveAt = alive ? Number(alive) : null;
    await this.deps.monitors.setValue('server:started_at', String(now));
    this.stopped = false;
    this.schedule(0);
  }

  /**
   * One evaluator across every server on the database (a lease, renewed each tick): check-ins
   * and transactions are consumed once, deadlines swept once, probes and threshold rules run
   * once. Every server still answers pings and forwards notifications.
   */
  private async holdEvaluatorLease(): Promise<boolean> {
    const ttlMs = Math.max(EVALUATOR_LEASE_MIN_MS, 3 * this.deps.config.monitors.tickMs);
    const was = this.evaluating;
    const atStart = !this.triedLease;
    this.triedLease = true;
    this.evaluating = await this.deps.alerting.alerts.lease(EVALUATOR_LEASE, this.workerId, Date.now(), ttlMs);
    if (this.evaluating && !was) await this.becameEvaluator(atStart);
    return this.evaluating;
  }

  /**
   * Gives every monitor a full period (and its grace) from now before it can be judged, when
   * nobody was evaluating: silence while Botpulse itself was down is not the bot's fault. That is
   * always so when this process leads from its first tick (no other server was evaluating while
   * it started), and on a takeover only if the last evaluator stopped ticking a while ago (not
   * after a clean hand-over from a server that just stopped).
   */
  private async becameEvaluator(atStart: boolean): Promise<void> {
    const now = this.clock.now();
    const alive = await this.deps.monitors.getValue('server:alive_at');
    const silentMs = alive ? now - Number(alive) : Infinity;
    const gap = 2 * this.deps.config.monitors.tickMs + 5000;
    if (!atStart && silentMs <= gap) {
      this.deps.logger.info('took over monitor evaluation from a server that just stopped');
      return;
    }
    await this.deps.monitors.postponeDeadlines((m) => (m.status === 'late' ? now + m.periodMs + m.graceMs : now + m.periodMs));
    if (silentMs > gap && Number.isFinite(silentMs)) {
      this.deps.logger.info({ downForMs: silentMs }, 'monitors were not evaluated for a while; every monitor gets a full period before it is judged');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.prober.idle();
    if (this.evaluating) await this.deps.alerting.alerts.releaseLease(EVALUATOR_LEASE, this.workerId);
    this.evaluating = false;
  }

  /** Run the next tick now (a ping arrived, a test wants it). */
  kick(): void {
    if (!this.stopped && !this.running) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.tick()
        .catch((err) => reportFailure(this.deps.logger, 'monitor_tick', err, 'monitor tick failed; the next tick tries again'))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.schedule(this.deps.config.monitors.tickMs);
        });
    }, ms);
    this.timer.unref();
  }

  /** One pass. Order matters: check-ins first, so a beat that arrived is never judged missing. */
  async tick(): Promise<void> {
    const started = performance.now();
    if (!(await this.holdEvaluatorLease())) {
      await this.notifier.deliverDue();
      return;
    }
    await this.consume();
    const consumed = performance.now();
    const swept = await this.sweep();
    const sweptAt = performance.now();
    await this.thresholds.evaluate();
    await this.notifier.deliverDue();
    await this.deps.monitors.setValue('server:alive_at', String(this.clock.now()));
    this.stats.ticks += 1;
    this.stats.lastTickMs = performance.now() - started;
    this.stats.lastConsumeMs = consumed - started;
    this.stats.lastSweepMs = sweptAt - consumed;
    const timing: TickTiming = { totalMs: this.stats.lastTickMs, consumeMs: this.stats.lastConsumeMs, sweepMs: this.stats.lastSweepMs, swept };
    this.onTick?.(timing);
    this.deps.logger.debug({ tick: timing }, 'monitor tick');
  }

  /** Set by the metrics module: every tick's timing. */
  onTick: ((timing: TickTiming) => void) | null = null;

  async consume(): Promise<void> {
    this.stats.checkInsTotal += await this.checkIns.drain((rows) => this.applyCheckIns(rows));
    this.stats.transactionsTotal += await this.transactions.drain((rows) => this.recordLatency('transaction', rows));
    this.stats.spanItemsTotal += await this.spans.drain((rows) => this.recordLatency('span', rows));
  }

  /**
   * Monitors whose deadline passed: heartbeats flip, uptime monitors get probed. In slices of
   * SWEEP_SLICE with a turn of the event loop between them: when thousands go late at once (the
   * bots lost their network), each flip is a write, and pings must still be answered meanwhile.
   * A ping between slices is safe: transitions are conditional on the state they were computed from.
   */
  async sweep(): Promise<number> {
    const now = this.clock.now();
    let moved = 0;
    const slicer = new LoopSlicer(SWEEP_SLICE);
    for (;;) {
      const due = await this.deps.monitors.dueMonitors(now, SWEEP_SLICE);
      for (const m of due) {
        if (m.kind === 'uptime') await this.prober.claim(m, now);
        else if (await this.apply(onDeadline(m, now, await this.context(m)))) moved += 1;
        await slicer.step();
      }
      if (due.length < SWEEP_SLICE) break;
    }
    this.stats.sweptTotal += moved;
    return moved;
  }

  private async applyCheckIns(rows: SpoolRow[]): Promise<void> {
    const refused = new RefusalBatch();
    const slicer = new LoopSlicer(CHECK_IN_BATCH);
    for (const row of rows) {
      await slicer.step();
      let item: Record<string, unknown>;
      try {
        item = JSON.parse(row.payload.toString('utf8')) as Record<string, unknown>;
      } catch (err) {
        // Intake parks only valid JSON objects; a row that cannot be read is counted, never retried forever.
        refused.add(row.projectId, 'slug', null, `raw item ${row.id} is not readable JSON: ${(err as Error).message}`);
        continue;
      }
      const status = item['status'] === 'error' || item['status'] === 'in_progress' || item['status'] === 'paused' ? item['status'] : 'ok';
      const contexts = isObject(item['contexts']) ? item['contexts'] : undefined;
      const polling = isObject(contexts?.['polling']) ? contexts['polling'] : undefined;
      const signals = readBotSignals(contexts?.['bot_signals'], row.receivedAt);
      if (signals?.ignoredCount) this.noteIgnoredSignals(row.projectId, item['monitor_slug'], signals.ignoredCount, signals.ignored);
      const outcome = await this.checkIn(row.projectId, {
        slug: item['monitor_slug'],
        environment: item['environment'],
        source: 'checkin',
        config: item['monitor_config'],
        beat: { at: this.clock.now(), status, polling, receivedAt: row.receivedAt, signals },
      });
      if ('refused' in outcome) refused.add(row.projectId, outcome.refused, outcome.slug, outcome.message);
      else if (outcome.configProblem) refused.add(row.projectId, 'schedule', outcome.monitor.slug, outcome.configProblem);
      else if (outcome.configIgnored.length) this.noteIgnoredConfig(row.projectId, outcome.monitor.slug, outcome.configIgnored);
    }
    await this.recordRefusals(refused);
  }

  /**
   * One check-in (Sentry `check_in` or plain ping): finds the monitor by its slug (as sent if a
   * monitor of that exact slug exists, else Sentry's slugified form), creates it on first sight
   * within the project's limit, applies the check-in's monitor_config to the settings nobody set by
   * hand, and applies the beat to the state of the check-in's environment.
   */
  async checkIn(projectId: number, input: CheckInInput): Promise<CheckInOutcome> {
    const { exact, slug } = slugCandidates(input.slug);
    const existing = (exact && (await this.deps.monitors.findMonitor(projectId, exact))) || (slug && (await this.deps.monitors.findMonitor(projectId, slug))) || null;
    if (!existing && !slug) return { refused: 'slug', slug: typeof input.slug === 'string' ? input.slug.slice(0, 100) : null, message: unusableSlugMessage(input.slug) };
    const { settings, problem, ignored } = input.source === 'checkin' ? monitorConfigSettings(input.config) : { settings: {}, problem: null, ignored: [] };
    let monitor = existing;
    if (!monitor) {
      if (problem) return { refused: 'schedule', slug, message: `monitor "${slug}" not created: ${problem}` };
      const max = this.deps.config.monitors.checkInMonitorLimit;
      const made = await this.deps.monitors.ensureMonitor(
        { projectId, slug: slug!, kind: 'heartbeat', source: input.source, periodMs: this.deps.config.monitors.periodMs, graceMs: this.deps.config.monitors.graceMs, ...settings },
        input.beat.at,
        { max, sources: AUTO_SOURCES },
      );
      if (!made.monitor) return { refused: 'limit', slug, message: limitMessage(slug!, max) };
      monitor = made.monitor;
    } else if (input.source === 'checkin' && !problem && monitor.source !== 'config') {
      monitor = await this.applyMonitorConfig(monitor, settings, input.beat.at);
    }
    return { monitor: await this.beat(monitor, environmentOf(input.environment), input.beat), configProblem: problem, configIgnored: ignored };
  }

  /**
   * A check-in's monitor_config upserts the settings (Sentry), except those a person set through
   * the API or the dashboard (`manualFields`); a config-file monitor is never edited by check-ins.
   */
  private async applyMonitorConfig(m: Monitor, settings: Partial<Monitor>, now: number): Promise<Monitor> {
    if (Object.keys(changedSettings(m, settings, m.manualFields)).length === 0) return m;
    const updated = await this.deps.monitors.updateSettings(
      m.id,
      (current) => {
        if (current.source === 'config') return null;
        const set = changedSettings(current, settings, current.manualFields);
        return Object.keys(set).length ? { set } : null;
      },
      now,
    );
    return updated ?? m;
  }

  /** A beat for one environment of a monitor: applies the state machine to that environment's state. */
  private async beat(monitor: Monitor, environment: string, beat: Beat): Promise<Monitor> {
    const state = await this.deps.monitors.ensureEnvironment(monitor.id, environment, beat.at);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = attempt === 0 ? state : await this.deps.monitors.getState(state.stateId);
      if (!current) return state;
      const t = onBeat(current, beat, await this.context(current));
      if (await this.apply(t)) return (await this.deps.monitors.getState(state.stateId)) ?? current;
    }
    throw new Error(`monitor ${monitor.slug} (${environment}): too many concurrent changes`);
  }

  /** A plain ping for (project, slug) in `environment` (tools and tests): the monitor's state, or an error saying why it was refused. */
  async ping(projectId: number, slug: string, beat: Beat, environment?: string): Promise<Monitor> {
    const outcome = await this.checkIn(projectId, { slug, environment, source: 'ping', beat });
    if ('refused' in outcome) throw new Error(outcome.message);
    return outcome.monitor;
  }

  /**
   * Before the 200 of an envelope: the check-ins the monitors would refuse (no usable slug, or a
   * new monitor beyond the project's limit, counting the new slugs of this envelope too) are taken
   * out of `items` and named in the answer; `record()` counts and logs them once the rest is spooled.
   * The consumer checks again when it applies the parked ones (another envelope may have come first).
   */
  async screenCheckIns(projectId: number, items: SpoolItemInput[]): Promise<CheckInScreen> {
    const refused = new RefusalBatch();
    const keep: SpoolItemInput[] = [];
    const max = this.deps.config.monitors.checkInMonitorLimit;
    let room: number | null = null;
    const admitted = new Set<string>();
    for (const item of items) {
      if (item.kind !== 'check_in') {
        keep.push(item);
        continue;
      }
      let raw: unknown;
      try {
        raw = (JSON.parse(item.payload.toString('utf8')) as Record<string, unknown>)['monitor_slug'];
      } catch {
        keep.push(item); // intake checked the JSON; the consumer reports anything it cannot read
        continue;
      }
      const { exact, slug } = slugCandidates(raw);
      if ((exact && (await this.deps.monitors.findMonitor(projectId, exact))) || (slug && (admitted.has(slug) || (await this.deps.monitors.findMonitor(projectId, slug))))) {
        keep.push(item);
        continue;
      }
      if (!slug) {
        refused.add(projectId, 'slug', typeof raw === 'string' ? raw.slice(0, 100) : null, unusableSlugMessage(raw));
        continue;
      }
      room ??= max - (await this.deps.monitors.countProjectMonitors(projectId, AUTO_SOURCES));
      if (admitted.size < room) {
        admitted.add(slug);
        keep.push(item);
        continue;
      }
      refused.add(projectId, 'limit', slug, limitMessage(slug, max));
    }
    return { items: keep, warnings: refused.summaries(), record: () => this.recordRefusals(refused) };
  }

  /** Counts refused check-ins in the store (the monitors page and /metrics show them) and logs them, at most once a minute per project and reason. */
  async recordRefusals(batch: RefusalBatch): Promise<void> {
    const now = this.clock.now();
    for (const r of batch.entries()) {
      await this.deps.monitors.countRefusal(r.projectId, r.reason, now, r.lastSlug, r.lastMessage, r.count);
      const key = `${r.projectId}:${r.reason}`;
      const log = this.refusalLog.get(key) ?? { loggedAt: 0, since: 0 };
      log.since += r.count;
      if (Date.now() - log.loggedAt >= 60_000) {
        this.deps.logger.warn({ projectId: r.projectId, reason: r.reason, refused: log.since, examples: r.examples, last: r.lastMessage }, 'check-ins refused');
        log.loggedAt = Date.now();
        log.since = 0;
      }
      this.refusalLog.set(key, log);
    }
  }

  /**
   * Parts of a check-in's bot signals that could not be read: left out (the check-in itself is
   * applied), counted (/metrics, the monitor's card) and logged at most once a minute per project.
   */
  private noteIgnoredSignals(projectId: number, slug: unknown, count: number, examples: string[]): void {
    this.stats.signalPartsIgnored += count;
    this.logAtMostOnceAMinute(`${projectId}:signals`, count, (since) =>
      this.deps.logger.warn({ projectId, monitor: typeof slug === 'string' ? slug.slice(0, 100) : null, ignored: since, examples }, 'unreadable parts of check-in bot signals left out'),
    );
  }

  /**
   * Parts of a check-in's monitor_config this server cannot read (a later SDK's interval unit, a
   * margin that is no number): left out, the rest of the config and the check-in applied; counted
   * (/metrics) and logged at most once a minute per project, with what was left out.
   */
  private noteIgnoredConfig(projectId: number, slug: string, parts: string[]): void {
    this.stats.configPartsIgnored += parts.length;
    this.logAtMostOnceAMinute(`${projectId}:monitor_config`, parts.length, (since) =>
      this.deps.logger.warn({ projectId, monitor: slug, ignored: since, parts }, 'unreadable parts of a check-in monitor_config left out'),
    );
  }

  private logAtMostOnceAMinute(key: string, count: number, write: (since: number) => void): void {
    const log = this.refusalLog.get(key) ?? { loggedAt: 0, since: 0 };
    log.since += count;
    if (Date.now() - log.loggedAt >= 60_000) {
      write(log.since);
      log.loggedAt = Date.now();
      log.since = 0;
    }
    this.refusalLog.set(key, log);
  }

  async apply(t: Transition | null): Promise<boolean> {
    if (!t) return false;
    const applied = await this.deps.monitors.transition(t);
    if (applied && t.notify?.length) this.kickNotifier();
    return applied;
  }

  private kickNotifier(): void {
    // Not awaited: the transition is committed with its notification, which the next tick forwards if this fails.
    this.notifier.deliverDue().catch((err) => reportFailure(this.deps.logger, 'monitor_notify', err, 'monitor notification failed; the next tick forwards it'));
  }

  /** Per project and arrival minute, one histogram row (not one row per transaction or span). */
  private async recordLatency(kind: 'transaction' | 'span', rows: SpoolRow[]): Promise<void> {
    const minute = Math.floor(this.clock.now() / 60_000) * 60_000;
    const perProject = new Map<number, { buckets: number[]; count: number; sum: number }>();
    for (const row of rows) {
      for (const ms of itemDurationsMs(kind, row.payload)) {
        const acc = perProject.get(row.projectId) ?? { buckets: emptyBuckets(), count: 0, sum: 0 };
        acc.buckets[bucketOf(ms)]! += 1;
        acc.count += 1;
        acc.sum += ms;
        perProject.set(row.projectId, acc);
        this.onLatency?.(row.projectId, ms);
      }
    }
    for (const [projectId, acc] of perProject) await this.deps.monitors.addLatency(projectId, minute, acc.buckets, acc.count, acc.sum);
  }

  /** Set by the metrics module: every transaction's (and segment span's) duration, for the Prometheus histogram. */
  onLatency: ((projectId: number, ms: number) => void) | null = null;
  /** Set by the metrics module: every probe's result. */
  onProbe: ((monitorId: number, result: import('./probe.js').ProbeResult) => void) | null = null;

  /**
   * The project's bot is down, which explains (and holds: inhibition) its latency, error, queue and
   * health-check alerts. Only a heartbeat down in production (Sentry's default environment) or in a
   * state not tied to an environment counts: a staging bot left stopped must not hold production's alerts.
   */
  async projectDown(projectId: number): Promise<boolean> {
    return (await this.deps.monitors.countMonitors({ projectId, kind: 'heartbeat', status: 'down', environments: [null, DEFAULT_ENVIRONMENT] })) > 0;
  }

  async project(projectId: number): Promise<Project | null> {
    const hit = this.projects.get(projectId);
    if (hit) return hit;
    const project = await this.deps.store.getProject(String(projectId));
    if (project) this.projects.set(projectId, project);
    return project;
  }

  async context(m: Pick<Monitor, 'projectId' | 'slug' | 'id' | 'environment' | 'updateLagMs' | 'updateLagForMs'>): Promise<HeartbeatContext> {
    const project = await this.project(m.projectId);
    return {
      who: { project: project?.name ?? `project ${m.projectId}`, slug: m.slug, environment: m.environment },
      url: `${this.deps.config.publicUrl}/monitors#monitor-${m.id}`,
      deafAfterPolls: this.deps.config.monitors.deafAfterPolls,
      conflictAlertMs: this.deps.config.monitors.conflictAlertMs,
      signals: signalLimits(m, this.deps.config.monitors.thresholds),
    };
  }
}

/** Monitors made by check-ins and pings: the ones BOTPULSE_CHECKIN_MONITOR_LIMIT counts. */
const AUTO_SOURCES: MonitorSource[] = ['checkin', 'ping'];

export interface CheckInInput {
  slug: unknown;
  environment: unknown;
  source: 'checkin' | 'ping';
  /** The check-in's monitor_config (check-ins only). */
  config?: unknown;
  beat: Beat;
}

export type CheckInOutcome = { monitor: Monitor; configProblem: string | null; configIgnored: string[] } | { refused: RefusalReason; slug: string | null; message: string };

/** What the ingest route does with an envelope's check-ins before answering (see Monitors.screenCheckIns). */
export interface CheckInScreen {
  /** The items to spool: everything but the refused check-ins. */
  items: SpoolItemInput[];
  /** One line per reason, for the answer. */
  warnings: string[];
  /** Counts and logs the refused check-ins (after the rest was spooled). */
  record(): Promise<void>;
}

function limitMessage(slug: string, max: number): string {
  return `check-in for unknown monitor "${slug}" refused: this project already has ${max} monitors made by check-ins and pings (BOTPULSE_CHECKIN_MONITOR_LIMIT); create it with POST /api/v1/monitors or raise the limit`;
}

function unusableSlugMessage(raw: unknown): string {
  if (typeof raw !== 'string') return `check-in refused: monitor_slug must be a string (got ${raw === undefined ? 'none' : typeof raw})`;
  return `check-in refused: monitor_slug ${JSON.stringify(raw.slice(0, 60))} has no letter or digit to make a slug from`;
}

/** Refused check-ins of one batch, per project and reason, with a few example slugs for the log. */
export class RefusalBatch {
  private readonly byKey = new Map<string, { projectId: number; reason: RefusalReason; count: number; lastSlug: string | null; lastMessage: string; examples: string[] }>();

  add(projectId: number, reason: RefusalReason, slug: string | null, message: string): void {
    const key = `${projectId}:${reason}`;
    const entry = this.byKey.get(key) ?? { projectId, reason, count: 0, lastSlug: null, lastMessage: message, examples: [] };
    entry.count += 1;
    entry.lastSlug = slug;
    entry.lastMessage = message;
    if (slug !== null && entry.examples.length < 5 && !entry.examples.includes(slug)) entry.examples.push(slug);
    this.byKey.set(key, entry);
  }

  entries() {
    return [...this.byKey.values()];
  }

  /** "900 check-ins refused: …" per reason. */
  summaries(): string[] {
    return this.entries().map((e) => (e.count === 1 ? e.lastMessage : `${e.count} check-ins refused (${REFUSAL_TEXT[e.reason]}), e.g. ${e.examples.map((x) => `"${x}"`).join(', ') || 'none named'}; last: ${e.lastMessage}`));
  }
}

export const REFUSAL_TEXT: Record<RefusalReason, string> = {
  limit: 'unknown monitors beyond the limit of monitors made by check-ins',
  slug: 'no usable monitor slug',
  schedule: 'an impossible or unreadable schedule in monitor_config',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
