/**
 * When a dead worker thread starts again: after `firstMs`, doubling with each death that comes
 * before the thread did any work, up to `maxMs`, so a thread that cannot start does not spin.
 * One restart waits at a time (digest/worker.ts, logs/line-worker.ts).
 */
export class RestartBackoff {
  private deaths = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly firstMs: number,
    private readonly maxMs: number,
  ) {}

  /** The thread did some work: the next death waits `firstMs` again. */
  reset(): void {
    this.deaths = 0;
  }

  /** Whether a restart is waiting. */
  get pending(): boolean {
    return this.timer !== null;
  }

  /** Runs `restart` after the next delay (replacing a restart that waits), and answers that delay. */
  schedule(restart: () => void): number {
    const delay = Math.min(this.maxMs, this.firstMs * 2 ** this.deaths);
    this.deaths += 1;
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = null;
      restart();
    }, delay);
    this.timer.unref();
    return delay;
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
