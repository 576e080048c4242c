import { setImmediate as yieldToLoop } from 'node:timers/promises';

/**
 * Rows per statement of the long store passes (retention, postponing deadlines). SQLite runs on
 * the thread that answers HTTP: one DELETE of a day of events (millions of rows at 300 events/s)
 * would hold every ping and ingestion request for seconds, so old rows go a chunk at a time with
 * a turn of the event loop between chunks (docs/performance.md "The event loop never stalls").
 */
export const CHUNK_ROWS = 500;

/**
 * Runs `deleteUpTo(limit)` (one DELETE of at most `limit` rows, returning how many went) until a
 * chunk comes back short, yielding to the event loop after each chunk (and telling `onProgress`
 * the rows deleted so far). Returns the rows deleted.
 */
export async function deleteInChunks(deleteUpTo: (limit: number) => number, chunk = CHUNK_ROWS, onProgress?: (deletedSoFar: number) => void): Promise<number> {
  let total = 0;
  for (;;) {
    const n = deleteUpTo(chunk);
    total += n;
    if (n > 0) onProgress?.(total);
    await yieldToLoop();
    if (n < chunk) return total;
  }
}
