import { bucketOf, emptyBuckets, mergeInto, quantileMs } from '../lib/histogram.js';
import type { OperationLatencyMinute, RuleLine } from '../store/logs.js';

/** Longest operation name kept (longer ones are cut), and distinct operations per project per batch before the rest share `(other)`. */
const MAX_OPERATION_CHARS = 100;
const MAX_OPERATIONS_PER_BATCH = 100;
export const OTHER_OPERATION = '(other)';
/** A duration above a day is no request's: not counted. */
const MAX_DURATION_MS = 86_400_000;

/**
 * The latency statistics of log lines that carry `operation` and `duration_ms` (seed 002's
 * structured fields): per project, operation and arrival minute, the same mergeable histogram the
 * transactions feed (lib/histogram.ts; monitors/service.ts `recordLatency`), so percentiles over
 * any span come from adding minutes. `duration_ms` must be a number of milliseconds (`45`, `45.2`).
 */
export function operationLatencies(lines: readonly Pick<RuleLine, 'projectId' | 'receivedAt' | 'operation' | 'durationMs'>[]): OperationLatencyMinute[] {
  const rows = new Map<string, OperationLatencyMinute>();
  const operations = new Map<number, Set<string>>();
  // The row of the line before: a batch is mostly one project's lines of a few operations in one minute.
  let last: { projectId: number; operation: string | null; minute: number; row: OperationLatencyMinute } | null = null;
  for (const line of lines) {
    const ms = durationOf(line.durationMs ?? undefined);
    if (ms === null) continue;
    if (last && last.projectId === line.projectId && last.operation === line.operation && last.minute === Math.floor(line.receivedAt / 60_000) * 60_000) {
      last.row.buckets[bucketOf(ms)]! += 1;
      last.row.count += 1;
      last.row.sumMs += ms;
      continue;
    }
    const named = line.operation?.trim();
    if (!named) continue;
    const seen = operations.get(line.projectId) ?? new Set<string>();
    operations.set(line.projectId, seen);
    let operation = named.slice(0, MAX_OPERATION_CHARS);
    if (!seen.has(operation) && seen.size >= MAX_OPERATIONS_PER_BATCH) operation = OTHER_OPERATION;
    seen.add(operation);
    const minute = Math.floor(line.receivedAt / 60_000) * 60_000;
    const key = `${line.projectId}\u0000${operation}\u0000${minute}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { projectId: line.projectId, operation, minute, buckets: emptyBuckets(), count: 0, sumMs: 0 }));
    row.buckets[bucketOf(ms)]! += 1;
    row.count += 1;
    row.sumMs += ms;
    last = { projectId: line.projectId, operation: line.operation, minute, row };
  }
  return [...rows.values()];
}

function durationOf(value: string | undefined): number | null {
  if (value === undefined || !value.trim()) return null;
  const ms = Number(value);
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_DURATION_MS ? ms : null;
}

/** One operation's percentiles over a span of minutes (ms; null without samples). */
export interface OperationPercentiles {
  operation: string;
  count: number;
  avgMs: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Adds the minutes of each operation and reads its percentiles; busiest operation first. */
export function operationPercentiles(rows: readonly OperationLatencyMinute[]): OperationPercentiles[] {
  const merged = new Map<string, { buckets: number[]; count: number; sumMs: number }>();
  for (const r of rows) {
    const acc = merged.get(r.operation) ?? { buckets: emptyBuckets(), count: 0, sumMs: 0 };
    mergeInto(acc.buckets, r.buckets);
    acc.count += r.count;
    acc.sumMs += r.sumMs;
    merged.set(r.operation, acc);
  }
  return [...merged]
    .map(([operation, a]) => ({
      operation,
      count: a.count,
      avgMs: a.count ? Math.round(a.sumMs / a.count) : 0,
      p50: round(quantileMs(a.buckets, 0.5)),
      p95: round(quantileMs(a.buckets, 0.95)),
      p99: round(quantileMs(a.buckets, 0.99)),
    }))
    .sort((x, y) => y.count - x.count || (x.operation < y.operation ? -1 : 1));
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 10) / 10;
}
