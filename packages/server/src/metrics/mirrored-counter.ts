import { Counter, type Registry } from 'prom-client';

/** What a mirrored counter shows: one figure, or one figure per label set (in the order given). */
export type Counts<T extends string> = number | Iterable<readonly [Partial<Record<T, string>>, number]>;

export interface MirroredCounterSpec<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  /** The figure as its owner keeps it now; it only grows. */
  read: () => Counts<T> | Promise<Counts<T>>;
}

/**
 * A Counter whose counts live elsewhere (IngestStats, a thread's health, the notifier, the
 * database): each scrape copies them, so nothing is counted twice. prom-client's Counter has no
 * set(), hence a reset() and an inc() per series, done only once the read has succeeded: a read
 * that fails (the database away) leaves the last scrape's counts, never a drop to 0 that
 * Prometheus would take for a restart (registry.ts, leaveOutFailedReads, counts the failure).
 */
export function mirroredCounter<T extends string>(register: Registry, { name, help, labelNames = [], read }: MirroredCounterSpec<T>): Counter<T> {
  return new Counter<T>({
    name,
    help,
    labelNames,
    registers: [register],
    collect() {
      const counts = read();
      if (counts instanceof Promise) return counts.then((c) => copy(this, c));
      copy(this, counts);
    },
  });
}

function copy<T extends string>(counter: Counter<T>, counts: Counts<T>): void {
  counter.reset();
  if (typeof counts === 'number') counter.inc(counts);
  else for (const [labels, n] of counts) counter.inc(labels, n);
}
