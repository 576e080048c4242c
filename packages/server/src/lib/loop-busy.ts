import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/**
 * Whether this thread's event loop has been busy: its utilization (the share of time spent running
 * code rather than waiting for I/O) over the last `windowMs` or more, at or above `threshold`.
 * Cheap to call often: it measures again at most once per window.
 */
export function eventLoopBusy(threshold: number, windowMs = 100): () => boolean {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  let at = performance.now();
  let busy = false;
  return () => {
    const now = performance.now();
    if (now - at >= windowMs) {
      const current = performance.eventLoopUtilization();
      busy = performance.eventLoopUtilization(current, last).utilization >= threshold;
      last = current;
      at = now;
    }
    return busy;
  };
}
