// The histogram itself lives in lib/ so the log rules (below monitors) build the same statistics.
export { BUCKET_COUNT, bucketOf, bucketUpperMs, emptyBuckets, mergeInto, quantileMs } from '../lib/histogram.js';

/**
 * The durations (ms) a parked item contributes to the latency statistics: a transaction's
 * (`start_timestamp` → `timestamp`), or, for a `span` item, each SEGMENT span's (the root of a
 * unit of work, what a transaction was before span streaming). `@sentry/node` 11 and sentry-python
 * with `trace_lifecycle="stream"` send span v2 containers (`{"version": 2, "items": [...]}`, item
 * content type `application/vnd.sentry.items.span.v2+json`) whose spans carry `is_segment` and
 * `start_timestamp`/`end_timestamp` in seconds; a single v1 span (`timestamp` as its end) is read
 * too. A span without `is_segment` counts when it has no parent. Child spans are not bot updates:
 * they are not counted. Unreadable payloads give nothing (intake only parks valid JSON objects).
 */
export function itemDurationsMs(kind: string, payload: Buffer): number[] {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return [];
  }
  if (!value || typeof value !== 'object') return [];
  const item = value as Record<string, unknown>;
  if (kind === 'transaction') {
    const ms = durationMs(item['start_timestamp'], item['timestamp']);
    return ms === null ? [] : [ms];
  }
  const spans = Array.isArray(item['items']) ? (item['items'] as unknown[]) : [item];
  const out: number[] = [];
  for (const span of spans) {
    if (!span || typeof span !== 'object') continue;
    const s = span as Record<string, unknown>;
    const segment = s['is_segment'] === true || (s['is_segment'] === undefined && !s['parent_span_id']);
    if (!segment) continue;
    const ms = durationMs(s['start_timestamp'], s['end_timestamp'] ?? s['timestamp']);
    if (ms !== null) out.push(ms);
  }
  return out;
}

function durationMs(start: unknown, end: unknown): number | null {
  const from = toSeconds(start);
  const to = toSeconds(end);
  if (from === null || to === null || to < from) return null;
  return (to - from) * 1000;
}

function toSeconds(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    return Number.isFinite(ms) ? ms / 1000 : null;
  }
  return null;
}
