import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

/**
 * Hands the event loop back during a long pass over many items: `await slicer.step()` after each
 * item yields (one setImmediate) every `every` items, or sooner once `budgetMs` went by since the
 * last turn. The server answers HTTP on the same thread that runs SQLite, and `await` on a call
 * that is synchronous underneath lets nothing else run: only a turn of the loop does. The count
 * bounds the work per turn on any machine; the time budget keeps a turn short on a slow or
 * loaded one (docs/performance.md "The event loop never stalls").
 */
export class LoopSlicer {
  private done = 0;
  private since = performance.now();

  constructor(
    private readonly every: number,
    private readonly budgetMs = 10,
  ) {}

  async step(): Promise<void> {
    this.done += 1;
    if (this.done < this.every && performance.now() - this.since < this.budgetMs) return;
    await yieldToLoop();
    this.done = 0;
    this.since = performance.now();
  }
}
