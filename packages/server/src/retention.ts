import type { Logger } from 'pino';
import type { Config } from './config/load.js';
import type { LogStore } from './store/logs.js';
import type { MonitorStore } from './store/monitors.js';
import type { Store } from './store/store.js';
import type { CapResult } from './store/issue-caps.js';
import { reportFailure } from './lib/failures.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** How often the per-issue caps run: a storm of thousands of events a second is trimmed within this. */
export const CAP_INTERVAL_MS = 10 * 60_000;
/** Per-minute latency histograms are kept as long as the latency API can ask for (7 days). */
export const LATENCY_RETENTION_MS = 7 * DAY_MS;

export interface RetentionResult {
  events: number;
  rawItems: number;
  /** Per-minute latency rows (monitor_latency) older than LATENCY_RETENTION_MS. */
  latencyMinutes: number;
  /** Log lines received more than BOTPULSE_LOG_RETENTION_DAYS ago. */
  logLines: number;
}

/**
 * Prunes old events (ERROR_LOG_RETENTION_DAYS), parked raw items (the check-ins and transactions
 * the monitors consumed, BOTPULSE_RAW_ITEM_RETENTION_HOURS), old per-minute latency rows and log
 * lines (BOTPULSE_LOG_RETENTION_DAYS), at start and then daily.
 */
export class RetentionJob {
  private timer: NodeJS.Timeout | null = null;
  private capTimer: NodeJS.Timeout | null = null;
  /** The hour of the last caps run: the next looks at the issues with events since the hour before it. */
  private capsSinceHour = 0;

  constructor(
    private readonly store: Store,
    private readonly config: Readonly<Config>,
    private readonly logger: Logger,
    private readonly monitors: MonitorStore | null = null,
    private readonly logs: LogStore | null = null,
  ) {}

  start(): void {
    void this.runOnce().then(() => this.capOnce());
    this.timer = setInterval(() => void this.runOnce(), DAY_MS);
    this.timer.unref();
    this.capTimer = setInterval(() => void this.capOnce(), CAP_INTERVAL_MS);
    this.capTimer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.capTimer) clearInterval(this.capTimer);
    this.timer = null;
    this.capTimer = null;
  }

  /**
   * Applies the per-issue caps (store/issue-caps.ts) to the issues with events since the last run
   * (the first run looks at every hour the retention keeps). Several processes on one database may
   * run it at once: deleting a row twice deletes it once.
   */
  async capOnce(now = Date.now()): Promise<CapResult> {
    const hour = Math.floor(now / HOUR_MS);
    const since = this.capsSinceHour || Math.floor((now - this.config.retentionDays * DAY_MS) / HOUR_MS);
    await this.foldStatusCounts();
    try {
      const result = await this.store.capIssues(this.config.issueCaps, since - 1);
      this.capsSinceHour = hour;
      if (result.events) this.logger.info(result, 'per-issue caps deleted events beyond what an issue keeps (its first, latest and one per hour)');
      return result;
    } catch (err) {
      reportFailure(this.logger, 'issue_caps', err, 'per-issue caps failed; will retry in 10 minutes');
      return { issues: 0, events: 0, attachments: 0 };
    }
  }

  /**
   * Folds the status deltas the people's changes left while no event came in (the digest loop
   * folds after its batches). Never waits for another folder.
   */
  private async foldStatusCounts(): Promise<void> {
    try {
      await this.store.compactIssueStatusCounts();
    } catch (err) {
      reportFailure(this.logger, 'issue_status_fold', err, 'folding the issue status deltas failed; will retry in 10 minutes');
    }
  }

  async runOnce(now = Date.now()): Promise<RetentionResult> {
    try {
      return await this.run(now);
    } catch (err) {
      reportFailure(this.logger, 'retention', err, 'retention run failed; will retry tomorrow');
      return { events: 0, rawItems: 0, latencyMinutes: 0, logLines: 0 };
    }
  }

  /**
   * One pass; rejects when the database fails (`botpulse prune` says so, the daily run logs it).
   * `progress` hears each phase start (deleted 0) and the rows deleted so far as chunks go.
   */
  async run(now = Date.now(), progress?: (phase: RetentionPhase, deletedSoFar: number, before: number) => void): Promise<RetentionResult> {
    const eventsBefore = now - this.config.retentionDays * DAY_MS;
    progress?.('events', 0, eventsBefore);
    const events = await this.store.pruneEvents(eventsBefore, (n) => progress?.('events', n, eventsBefore));
    const rawBefore = now - this.config.rawItemRetentionHours * HOUR_MS;
    progress?.('rawItems', 0, rawBefore);
    const rawItems = await this.store.pruneRawItems(rawBefore, (n) => progress?.('rawItems', n, rawBefore));
    const latencyMinutes = this.monitors ? await this.monitors.pruneLatency(Math.floor((now - LATENCY_RETENTION_MS) / 60_000) * 60_000) : 0;
    const logLines = this.logs ? await this.logs.pruneLines(now - this.config.logs.retentionDays * DAY_MS) : 0;
    if (events || rawItems || latencyMinutes || logLines) this.logger.info({ events, rawItems, latencyMinutes, logLines }, 'retention pruned old data');
    return { events, rawItems, latencyMinutes, logLines };
  }
}

export type RetentionPhase = 'events' | 'rawItems';
