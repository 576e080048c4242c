import type { RuleState } from '../store/monitors.js';
import type { Project } from '../store/model.js';
import { humanDuration, thresholdText } from './format.js';
import { emptyBuckets, mergeInto, quantileMs } from './latency.js';
import type { Monitors } from './service.js';

/**
 * Threshold rules with Prometheus semantics: a condition true at an evaluation makes the rule
 * *pending*; still true after `for`, it is *firing* (one notification); false again, *resolved*
 * (one notification). "No data" (no transactions in the window) keeps the state as it is.
 *
 * - latency_p95: p95 of update/webhook durations over the last minute > value, for `for`
 * - errors: more than N events of the project in the window (for 0: the window is the duration)
 * - queue_depth: the highest `queue_size`/`queue_depth` gauge of the project's /health > value, for `for`
 * - heartbeat_age: a heartbeat monitor's last ping older than the limit. Recorded and shown, never
 *   sent (like the alert engine's "warning" tier): the down alert after period + grace is the page.
 *
 * The error-count rule watches bots: a project with no monitor does not get it. Its errors are
 * covered by the issue alerts (new issue, regression, level, frequency: docs/alerts.md), which
 * would otherwise page twice for the same burst of events.
 */
const WINDOW_MS = 60_000;
const MIN_INTERVAL_MS = 1000;

export interface RuleVerdict {
  rule: string;
  fingerprint: string;
  /** null: no data, state kept. */
  breached: boolean | null;
  value: number | null;
  forMs: number;
  describe(value: number | null): string;
  notify: boolean;
}

export class Thresholds {
  private lastRun = 0;

  constructor(private readonly monitors: Monitors) {}

  async evaluate(): Promise<void> {
    const now = this.monitors.clock.now();
    if (now - this.lastRun < Math.min(MIN_INTERVAL_MS, this.monitors.deps.config.monitors.tickMs)) return;
    this.lastRun = now;
    for (const project of await this.monitors.deps.store.listProjects()) {
      const verdicts = await this.verdicts(project, now);
      if (verdicts.length === 0) continue;
      // One read of the project's rule states, not one per verdict: a bot with thousands of
      // heartbeat monitors has thousands of heartbeat_age verdicts per evaluation.
      const states = new Map((await this.monitors.deps.monitors.ruleStates(project.id)).map((s) => [s.fingerprint, s]));
      for (const verdict of verdicts) await this.step(project, verdict, states.get(verdict.fingerprint) ?? null, now);
    }
  }

  async verdicts(project: Project, now: number): Promise<RuleVerdict[]> {
    const monitors = await this.monitors.deps.monitors.listMonitors({ projectId: project.id });
    const t = this.monitors.deps.config.monitors.thresholds;
    const out: RuleVerdict[] = [];
    const fp = (rule: string) => `rule:${project.id}:${rule}`;
    if (t.latencyP95) {
      const p95 = await this.latencyP95(project.id, now);
      const limit = t.latencyP95;
      out.push({ rule: 'latency_p95', fingerprint: fp('latency_p95'), breached: p95 === null ? null : p95 > limit.value, value: p95, forMs: limit.forMs, notify: true, describe: (v) => `update latency p95 ${v === null ? '?' : humanMs(v)} (limit ${humanMs(limit.value)} for ${humanDuration(limit.forMs)})` });
    }
    if (t.errors && monitors.length > 0) {
      const limit = t.errors;
      const count = await this.monitors.deps.alerting.alerts.countEventsSince({ projectId: project.id }, Date.now() - limit.forMs, limit.value + 1);
      out.push({ rule: 'errors', fingerprint: fp('errors'), breached: count > limit.value, value: count, forMs: 0, notify: true, describe: (v) => `${v ?? '?'} errors within ${humanDuration(limit.forMs)} (limit ${limit.value})` });
    }
    if (t.queueDepth) {
      const limit = t.queueDepth;
      const depths = monitors.map((m) => m.gauges?.['queue_size'] ?? m.gauges?.['queue_depth']).filter((v): v is number => typeof v === 'number');
      const depth = depths.length ? Math.max(...depths) : null;
      out.push({ rule: 'queue_depth', fingerprint: fp('queue_depth'), breached: depth === null ? null : depth > limit.value, value: depth, forMs: limit.forMs, notify: true, describe: (v) => `queue depth ${v ?? '?'} (limit ${limit.value} for ${humanDuration(limit.forMs)})` });
    }
    if (t.heartbeatAgeMs !== null) {
      const limitMs = t.heartbeatAgeMs;
      for (const m of monitors) {
        if (m.kind !== 'heartbeat' || m.status === 'paused' || m.lastPingAt === null) continue;
        const age = now - m.lastPingAt;
        out.push({ rule: 'heartbeat_age', fingerprint: `${fp('heartbeat_age')}:${m.id}`, breached: age > limitMs, value: age / 1000, forMs: 0, notify: false, describe: (v) => `${m.slug}: last heartbeat ${v ?? '?'} s ago (limit ${limitMs / 1000} s)` });
      }
    }
    return out;
  }

  /** p95 over the last minute's histograms (merged), ms. */
  async latencyP95(projectId: number, now: number): Promise<number | null> {
    const rows = await this.monitors.deps.monitors.latency(projectId, Math.floor((now - WINDOW_MS) / 60_000) * 60_000, now);
    const merged = emptyBuckets();
    for (const r of rows) mergeInto(merged, r.buckets);
    return quantileMs(merged, 0.95);
  }

  private async step(project: Project, v: RuleVerdict, stored: RuleState | null, now: number): Promise<void> {
    const store = this.monitors.deps.monitors;
    const prev: RuleState = stored ?? { fingerprint: v.fingerprint, projectId: project.id, rule: v.rule, state: 'inactive', since: null, value: null, updatedAt: now };
    if (v.breached === null) return;
    const next: RuleState = { ...prev, value: v.value, updatedAt: now };
    if (v.breached) {
      if (prev.state === 'inactive') Object.assign(next, { state: 'pending', since: now });
      const since = next.since ?? now;
      if (next.state === 'pending' && now - since >= v.forMs) {
        next.state = 'firing';
        if (v.notify) await this.notify(project, v, true, now);
      }
    } else {
      if (prev.state === 'firing' && v.notify) await this.notify(project, v, false, now);
      Object.assign(next, { state: 'inactive', since: null });
    }
    // Heartbeat-age verdicts (one per monitor, never sent) change value at every evaluation:
    // writing each would be thousands of writes a tick, so only their state changes are stored.
    const valueWorthStoring = v.notify && next.value !== prev.value;
    if (next.state !== prev.state || valueWorthStoring) await store.setRuleState(next);
  }

  private async notify(project: Project, v: RuleVerdict, firing: boolean, now: number): Promise<void> {
    const kind = firing ? 'threshold_firing' : 'threshold_resolved';
    const url = `${this.monitors.deps.config.publicUrl}/monitors`;
    await this.monitors.deps.monitors.enqueue({ projectId: project.id, monitorId: null, fingerprint: v.fingerprint, kind, text: thresholdText({ project: project.name }, firing, v.describe(v.value), url), payload: { kind, rule: v.rule, value: v.value }, createdAt: now });
  }
}

function humanMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}
