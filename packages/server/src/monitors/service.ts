import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Alerting } from '../alerts/alerting.js';
import type { Config } from '../config/load.js';
import type { Monitor, MonitorStore, NewMonitor, Transition } from '../store/monitors.js';
import type { Project } from '../store/model.js';
import type { SpoolRow, Store } from '../store/store.js';
import type { Clock } from './clock.js';
import { RawItemCursor } from './consumer.js';
import { changedSettings } from './definition.js';
import { onBeat, onDeadline, type Beat, type HeartbeatContext } from './heartbeat.js';
import { bucketOf, emptyBuckets } from './latency.js';
import { MonitorNotifier } from './notify.js';
import { Prober } from './probe.js';
import { Thresholds } from './thresholds.js';

export interface MonitorsDeps {
  config: Readonly<Config>;
  store: Store;
  monitors: MonitorStore;
  alerting: Alerting;
  logger: Logger;
  clock: Clock;
}

const EVALUATOR_LEASE = 'monitors:evaluator';
/** A crashed evaluator (no clean release) is replaced after at most this long (or 3 ticks). */
const EVALUATOR_LEASE_MIN_MS = 10_000;

/** Counters for /metrics and the benchmark. */
export interface MonitorStats {
  ticks: number;
  lastTickMs: number;
  sweptTotal: number;
  checkInsTotal: number;
  transactionsTotal: number;
  /** The last tick's phases (ms): draining check-ins and transactions, then the deadline sweep. */
  lastConsumeMs: number;
  lastSweepMs: number;
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
  readonly stats: MonitorStats = { ticks: 0, lastTickMs: 0, sweptTotal: 0, checkInsTotal: 0, transactionsTotal: 0, lastConsumeMs: 0, lastSweepMs: 0 };
  startedAt = 0;
  /** When this server was last alive before this start (null: first start). */
  previousAliveAt: number | null = null;
  /** This process holds the evaluator lease (see holdEvaluatorLease). */
  evaluating = false;
  private triedLease = false;
  private readonly workerId: string;
  private readonly checkIns: RawItemCursor;
  private readonly transactions: RawItemCursor;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private readonly projects = new Map<number, Project>();

  constructor(readonly deps: MonitorsDeps) {
    const workerId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.workerId = workerId;
    this.checkIns = new RawItemCursor(deps.store, deps.monitors, 'check_in');
    this.transactions = new RawItemCursor(deps.store, deps.monitors, 'transaction');
    this.notifier = new MonitorNotifier({ ...deps, workerId, projectDown: (id) => this.projectDown(id) });
    this.prober = new Prober(this);
    this.thresholds = new Thresholds(this);
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
        .catch((err) => this.deps.logger.error({ err }, 'monitor tick failed'))
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
    this.stats.transactionsTotal += await this.transactions.drain((rows) => this.recordLatency(rows));
  }

  /** Monitors whose deadline passed: heartbeats flip, uptime monitors get probed. */
  async sweep(): Promise<number> {
    const now = this.clock.now();
    let moved = 0;
    for (;;) {
      const due = await this.deps.monitors.dueMonitors(now, 500);
      for (const m of due) {
        if (m.kind === 'uptime') await this.prober.claim(m, now);
        else if (await this.apply(onDeadline(m, now, await this.context(m)))) moved += 1;
      }
      if (due.length < 500) break;
    }
    this.stats.sweptTotal += moved;
    return moved;
  }

  private async applyCheckIns(rows: SpoolRow[]): Promise<void> {
    for (const row of rows) {
      let item: Record<string, unknown>;
      try {
        item = JSON.parse(row.payload.toString('utf8')) as Record<string, unknown>;
      } catch {
        continue; // intake validated it; a row we cannot read is skipped, never retried forever
      }
      const slug = typeof item['monitor_slug'] === 'string' ? item['monitor_slug'] : null;
      if (!slug || !/^[\w.-]{1,100}$/.test(slug)) continue;
      const status = item['status'] === 'error' || item['status'] === 'in_progress' || item['status'] === 'paused' ? item['status'] : 'ok';
      const polling = (item['contexts'] as Record<string, unknown> | undefined)?.['polling'] as Record<string, unknown> | undefined;
      const config = item['monitor_config'] as Record<string, unknown> | undefined;
      await this.beat(row.projectId, slug, { at: this.clock.now(), status, polling, receivedAt: row.receivedAt }, { source: 'checkin', ...settingsFromMonitorConfig(config) });
    }
  }

  /** A beat for (project, slug): creates the monitor on first sight, applies the state machine. */
  async beat(projectId: number, slug: string, beat: Beat, create: Partial<NewMonitor> = {}): Promise<Monitor> {
    const { monitor } = await this.deps.monitors.ensureMonitor(
      { projectId, slug, kind: 'heartbeat', source: create.source ?? 'ping', periodMs: this.deps.config.monitors.periodMs, graceMs: this.deps.config.monitors.graceMs, ...create },
      beat.at,
    );
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = attempt === 0 ? monitor : await this.deps.monitors.getMonitor(monitor.id);
      if (!current) return monitor;
      const t = onBeat(current, beat, await this.context(current));
      // A check-in's monitor_config edits only monitors check-ins made (Sentry: monitor_config upserts).
      if (current.source === 'checkin' && create.source === 'checkin') Object.assign(t.set, changedSettings(current, create));
      if (await this.apply(t)) return (await this.deps.monitors.getMonitor(monitor.id)) ?? current;
    }
    throw new Error(`monitor ${slug}: too many concurrent changes`);
  }

  async apply(t: Transition | null): Promise<boolean> {
    if (!t) return false;
    const applied = await this.deps.monitors.transition(t);
    if (applied && t.notify?.length) this.kickNotifier();
    return applied;
  }

  private kickNotifier(): void {
    void this.notifier.deliverDue().catch((err) => this.deps.logger.error({ err }, 'monitor notification failed'));
  }

  /** Per project and arrival minute, one histogram row (not one row per transaction). */
  private async recordLatency(rows: SpoolRow[]): Promise<void> {
    const minute = Math.floor(this.clock.now() / 60_000) * 60_000;
    const perProject = new Map<number, { buckets: number[]; count: number; sum: number }>();
    for (const row of rows) {
      const ms = transactionDurationMs(row.payload);
      if (ms === null) continue;
      const acc = perProject.get(row.projectId) ?? { buckets: emptyBuckets(), count: 0, sum: 0 };
      acc.buckets[bucketOf(ms)]! += 1;
      acc.count += 1;
      acc.sum += ms;
      perProject.set(row.projectId, acc);
      this.onLatency?.(row.projectId, ms);
    }
    for (const [projectId, acc] of perProject) await this.deps.monitors.addLatency(projectId, minute, acc.buckets, acc.count, acc.sum);
  }

  /** Set by the metrics module: every transaction's duration, for the Prometheus histogram. */
  onLatency: ((projectId: number, ms: number) => void) | null = null;
  /** Set by the metrics module: every probe's result. */
  onProbe: ((monitorId: number, result: import('./probe.js').ProbeResult) => void) | null = null;

  async projectDown(projectId: number): Promise<boolean> {
    return (await this.deps.monitors.countMonitors({ projectId, kind: 'heartbeat', status: 'down' })) > 0;
  }

  async project(projectId: number): Promise<Project | null> {
    const hit = this.projects.get(projectId);
    if (hit) return hit;
    const project = await this.deps.store.getProject(String(projectId));
    if (project) this.projects.set(projectId, project);
    return project;
  }

  async context(m: Pick<Monitor, 'projectId' | 'slug' | 'id'>): Promise<HeartbeatContext> {
    const project = await this.project(m.projectId);
    return {
      who: { project: project?.name ?? `project ${m.projectId}`, slug: m.slug },
      url: `${this.deps.config.publicUrl}/monitors#monitor-${m.id}`,
      deafAfterPolls: this.deps.config.monitors.deafAfterPolls,
      conflictAlertMs: this.deps.config.monitors.conflictAlertMs,
    };
  }
}

/** Sentry's `monitor_config` → our settings (interval schedule, crontab + timezone, margin, thresholds). */
export function settingsFromMonitorConfig(config: Record<string, unknown> | undefined): Partial<NewMonitor> {
  if (!config || typeof config !== 'object') return {};
  const out: Partial<NewMonitor> = {};
  const schedule = config['schedule'] as Record<string, unknown> | undefined;
  const UNIT: Record<string, number> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000, month: 2_592_000_000, year: 31_536_000_000 };
  if (schedule?.['type'] === 'interval' && typeof schedule['value'] === 'number' && typeof schedule['unit'] === 'string' && UNIT[schedule['unit']]) {
    out.periodMs = Math.max(1000, schedule['value'] * UNIT[schedule['unit']]!);
  } else if (schedule?.['type'] === 'crontab' && typeof schedule['value'] === 'string') {
    out.schedule = schedule['value'];
  }
  if (typeof config['checkin_margin'] === 'number') out.graceMs = Math.max(1000, config['checkin_margin'] * 60_000);
  if (typeof config['timezone'] === 'string') out.timezone = config['timezone'];
  if (typeof config['failure_issue_threshold'] === 'number') out.failureThreshold = Math.max(1, Math.floor(config['failure_issue_threshold']));
  if (typeof config['recovery_threshold'] === 'number') out.recoveryThreshold = Math.max(1, Math.floor(config['recovery_threshold']));
  return out;
}

function transactionDurationMs(payload: Buffer): number | null {
  try {
    const t = JSON.parse(payload.toString('utf8')) as { start_timestamp?: unknown; timestamp?: unknown };
    const start = toSeconds(t.start_timestamp);
    const end = toSeconds(t.timestamp);
    if (start === null || end === null || end < start) return null;
    return (end - start) * 1000;
  } catch {
    return null;
  }
}

function toSeconds(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    return Number.isFinite(ms) ? ms / 1000 : null;
  }
  return null;
}
