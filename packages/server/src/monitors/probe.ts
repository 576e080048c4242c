import type { Monitor, MonitorStore, Transition } from '../store/monitors.js';
import { nextVersion, notification, type HeartbeatContext } from './heartbeat.js';
import { uptimeDownText, uptimeUpText } from './format.js';
import { recordProbe } from './probe-history.js';

export interface ProbeResult {
  ok: boolean;
  error: string | null;
  /** Numeric top-level fields of a JSON answer (queue_size, ...), recorded as gauges. */
  gauges: Record<string, number> | null;
  durationMs: number;
}

/** GET the URL with a timeout: 2xx is up, anything else (status, timeout, refused) is a failure. */
export async function probe(url: string, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { 'user-agent': 'botpulse-uptime' }, redirect: 'follow' });
    const body = await response.text();
    const durationMs = performance.now() - started;
    return { ok: response.ok, error: response.ok ? null : `HTTP ${response.status}`, gauges: numericFields(body), durationMs };
  } catch (err) {
    const e = err as Error;
    const reason = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : e.cause instanceof Error ? e.cause.message : e.message;
    return { ok: false, error: reason, gauges: null, durationMs: performance.now() - started };
  }
}

function numericFields(body: string): Record<string, number> | null {
  try {
    const json = JSON.parse(body) as unknown;
    if (!json || typeof json !== 'object' || Array.isArray(json)) return null;
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(json)) if (typeof v === 'number' && Number.isFinite(v) && /^[a-zA-Z_][\w]{0,63}$/.test(k)) out[k] = v;
    return Object.keys(out).length ? out : null;
  } catch {
    return null;
  }
}

/**
 * Uptime monitors ride the same deadline column: the sweeper hands a due one here, the deadline
 * is moved one interval ahead first (a conditional update: only one process probes it), then the
 * probe runs in the background and its result is applied: down after N consecutive failures
 * (seed 002: 3), up again after the monitor's recovery threshold (1).
 */
/** What the prober needs, handed in by the monitors service (service.ts), never the service itself. */
export interface ProberDeps {
  monitors: Pick<MonitorStore, 'getMonitor' | 'getValue' | 'setValue'>;
  /** Applies a transition unless the monitor moved meanwhile (a conditional update); false if it did. */
  apply(t: Transition | null): Promise<boolean>;
  context(m: Monitor): Promise<HeartbeatContext>;
  now(): number;
  /** BOTPULSE_PROBE_TIMEOUT_SECONDS, for a monitor without its own. */
  timeoutMs: number;
  /** Every probe's result (the metrics module counts them). */
  onProbe(monitorId: number, result: ProbeResult): void;
  /** Keeping a probe's response time failed (logged; the probe's result is applied anyway). */
  onHistoryFailure(monitorId: number, err: unknown): void;
}

export class Prober {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: ProberDeps) {}

  async claim(m: Monitor, now: number): Promise<void> {
    const claimed = await this.deps.apply({ stateId: m.stateId, expect: { status: m.status, updatedAt: m.updatedAt }, set: { deadline: now + m.periodMs, updatedAt: nextVersion(m, now) } });
    if (!claimed || !m.url) return;
    const run = this.run(m.id, m.url, m.timeoutMs ?? this.deps.timeoutMs).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  async idle(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  private async run(id: number, url: string, timeoutMs: number): Promise<void> {
    const result = await probe(url, timeoutMs);
    this.deps.onProbe(id, result);
    // The response-time history is for reading; failing to keep it must not stop the probe's verdict.
    await recordProbe(this.deps.monitors, id, this.deps.now(), result).catch((err: unknown) => this.deps.onHistoryFailure(id, err));
    for (let attempt = 0; attempt < 5; attempt++) {
      const m = await this.deps.monitors.getMonitor(id);
      if (!m || m.status === 'paused') return;
      const t = await this.transition(m, result);
      if (await this.deps.apply(t)) return;
    }
  }

  private async transition(m: Monitor, r: ProbeResult): Promise<Transition> {
    const now = this.deps.now();
    const ctx = await this.deps.context(m);
    const t: Transition = { stateId: m.stateId, expect: { status: m.status, updatedAt: m.updatedAt }, set: { lastPingAt: now, updatedAt: nextVersion(m, now) } };
    if (r.gauges) t.set.gauges = r.gauges;
    if (r.ok) {
      const successes = m.successes + 1;
      Object.assign(t.set, { failures: 0, successes, lastOkAt: now, lastReason: null });
      if (m.status === 'new' || m.status === 'late') Object.assign(t, { flip: { at: now, from: m.status, to: 'up', reason: 'probe ok' } }, { set: { ...t.set, status: 'up' } });
      if (m.status === 'down' && successes >= m.recoveryThreshold) {
        Object.assign(t.set, { status: 'up', downSince: null, downReason: null, alertSent: false });
        t.flip = { at: now, from: 'down', to: 'up', reason: 'probe ok' };
        const downtime = now - (m.downSince ?? now);
        if (m.alertSent) t.notify = [notification(m, 'uptime_up', uptimeUpText(ctx.who, m.url ?? '', downtime, ctx.url), now, { downtimeMs: downtime })];
      }
      return t;
    }
    const failures = m.failures + 1;
    Object.assign(t.set, { failures, successes: 0, lastReason: r.error });
    if (m.status !== 'down' && failures >= m.failureThreshold) {
      Object.assign(t.set, { status: 'down', downSince: now, downReason: r.error, alertSent: true });
      t.flip = { at: now, from: m.status, to: 'down', reason: r.error };
      t.notify = [notification(m, 'uptime_down', uptimeDownText(ctx.who, m.url ?? '', failures, r.error ?? 'failed', ctx.url), now, { failures, error: r.error })];
    }
    return t;
  }
}
