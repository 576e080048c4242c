import type { Logger } from 'pino';
import type { Config } from './config/load.js';
import type { Store } from './store/store.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Prunes old events (ERROR_LOG_RETENTION_DAYS) and parked raw items, at start and then daily. */
export class RetentionJob {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    private readonly config: Readonly<Config>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), DAY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async runOnce(now = Date.now()): Promise<{ events: number; rawItems: number }> {
    try {
      const events = await this.store.pruneEvents(now - this.config.retentionDays * DAY_MS);
      const rawItems = await this.store.pruneRawItems(now - this.config.rawItemRetentionHours * HOUR_MS);
      if (events || rawItems) this.logger.info({ events, rawItems }, 'retention pruned old data');
      return { events, rawItems };
    } catch (err) {
      this.logger.error({ err }, 'retention run failed; will retry tomorrow');
      return { events: 0, rawItems: 0 };
    }
  }
}
