import type { MonitorStore } from '../store/monitors.js';

/**
 * The response times of an uptime monitor's last probes, for the sparkline on the monitors page
 * and `probeHistory` in the API. Bounded: the newest PROBE_HISTORY_SIZE results, kept as one JSON
 * value in the monitors' key-value table (`monitor_kv`, both stores) under `probe-history:<id>`.
 * One process probes a monitor at a time (the deadline claim), so a read-modify-write is enough.
 */
export const PROBE_HISTORY_SIZE = 60;

export interface ProbeSample {
  at: number;
  /** Whole milliseconds until the answer (or the failure). */
  ms: number;
  ok: boolean;
}

const key = (monitorId: number) => `probe-history:${monitorId}`;

export async function probeHistory(store: Pick<MonitorStore, 'getValue'>, monitorId: number): Promise<ProbeSample[]> {
  const text = await store.getValue(key(monitorId));
  if (!text) return [];
  try {
    const rows = JSON.parse(text) as unknown;
    if (!Array.isArray(rows)) return [];
    return rows.flatMap((r) => (Array.isArray(r) && typeof r[0] === 'number' && typeof r[1] === 'number' ? [{ at: r[0], ms: r[1], ok: r[2] === 1 }] : []));
  } catch {
    // A value no version wrote: start again rather than fail the page.
    return [];
  }
}

export async function recordProbe(store: Pick<MonitorStore, 'getValue' | 'setValue'>, monitorId: number, at: number, result: { ok: boolean; durationMs: number }): Promise<void> {
  const kept = (await probeHistory(store, monitorId)).slice(-(PROBE_HISTORY_SIZE - 1));
  kept.push({ at, ms: Math.round(result.durationMs), ok: result.ok });
  await store.setValue(key(monitorId), JSON.stringify(kept.map((s) => [s.at, s.ms, s.ok ? 1 : 0])));
}
