/**
 * Latency histograms with fixed log-spaced buckets (4 per doubling, 1 ms to ~2 min): mergeable
 * by adding counts, so per-minute rows of any span combine into one percentile without keeping
 * raw samples. A percentile is the geometric middle of its bucket: at most ±9 % off.
 */
const PER_DOUBLING = 4;
export const BUCKET_COUNT = 17 * PER_DOUBLING + 1; // 2^17 ms ≈ 131 s; the last bucket holds the rest

/** Upper bound (ms) of bucket i. */
export function bucketUpperMs(i: number): number {
  return 2 ** (i / PER_DOUBLING);
}

export function bucketOf(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(BUCKET_COUNT - 1, Math.ceil(Math.log2(ms) * PER_DOUBLING));
}

export function emptyBuckets(): number[] {
  return new Array<number>(BUCKET_COUNT).fill(0);
}

export function mergeInto(target: number[], source: readonly number[]): number[] {
  source.forEach((n, i) => (target[i] = (target[i] ?? 0) + n));
  return target;
}

/** The q-quantile (0..1) in ms, or null without samples. */
export function quantileMs(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i] ?? 0;
    if (seen >= rank) return i === 0 ? 1 : Math.sqrt(bucketUpperMs(i - 1) * bucketUpperMs(i));
  }
  return bucketUpperMs(buckets.length - 1);
}
