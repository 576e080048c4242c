import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { LoopSlicer } from '../lib/loop-slicer.js';
import type { AlertStore } from '../store/alerts.js';
import type { Monitor, MonitorStore, RuleState } from '../store/monitors.js';
import type { Project } from '../store/model.js';
import type { Store } from '../store/store.js';
import type { MonitoringSettings } from './config.js';
import { humanDuration, thresholdText } from './format.js';
import { emptyBuckets, mergeInto, quantileMs } from './latency.js';

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
/** Verdicts stepped (or resolved rules read) per turn of the event loop. */
const THRESHOLD_SLICE = 100;
/** Stale heartbeats read per page. */
const STALE_PAGE = 500;
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

/** What the rules read and write, handed in by the monitors service (service.ts), never the service itself. */
export interface ThresholdDeps {
  store: Pick<Store, 'listProjects'>;
  monitors: MonitorStore;
  /** The project's events since a time, counted up to a limit (AlertStore.countEventsSince). */
  countEventsSince: AlertStore['countEventsSince'];
  config: MonitoringSettings;
  now(): number;
}

export class Thresholds {
  private lastRun = 0;

  constructor(private readonly deps: ThresholdDeps) {}

  async evaluate(): Promise<void> {
    const now = this.deps.now();
    if (now - this.lastRun < Math.min(MIN_INTERVAL_MS, this.deps.config.monitors.tickMs)) return;
    this.lastRun = now;
    for (const project of await this.deps.store.listProjects()) {
      const verdicts = await this.verdicts(project, now);
      if (verdicts.length === 0) continue;
      const states = new Map((await this.deps.monitors.ruleStates({ projectId: project.id })).map((s) => [s.fingerprint, s]));
      // Thousands of heartbeats going stale at once are thousands of rule-state writes.
      const slicer = new LoopSlicer(THRESHOLD_SLICE);
      for (const verdict of verdicts) {
        await this.step(project, verdict, states.get(verdict.fingerprint) ?? null, now);
        await slicer.step();
      }
    }
  }

  /**
   * The project's verdicts. Reads only what can breach: the uptime monitors' gauges, and for
   * heartbeat age only the stale monitors plus those whose rule is not inactive yet (to resolve
   * them), so a project with thousands of healthy heartbeats costs two indexed counts, not a
   * read of every monitor each evaluation.
   */
  async verdicts(project: Project, now: number): Promise<RuleVerdict[]> {
    const store = this.deps.monitors;
    const t = this.deps.config.monitors.thresholds;
    const out: RuleVerdict[] = [];
    const fp = (rule: string) => `rule:${project.id}:${rule}`;
    if (t.latencyP95) {
      const p95 = await this.latencyP95(project.id, now);
      const limit = t.latencyP95;
      out.push({ rule: 'latency_p95', fingerprint: fp('latency_p95'), breached: p95 === null ? null : p95 > limit.value, value: p95, forMs: limit.forMs, notify: true, describe: (v) => `update latency p95 ${v === null ? '?' : humanMs(v)} (limit ${humanMs(limit.value)} for ${humanDuration(limit.forMs)})` });
    }
    if (t.errors && (await store.countMonitors({ projectId: project.id })) > 0) {
      const limit = t.errors;
      const count = await this.deps.countEventsSince({ projectId: project.id }, Date.now() - limit.forMs, limit.value + 1);
      out.push({ rule: 'errors', fingerprint: fp('errors'), breached: count > limit.value, value: count, forMs: 0, notify: true, describe: (v) => `${v ?? '?'} errors within ${humanDuration(limit.forMs)} (limit ${limit.value})` });
    }
    if (t.queueDepth) {
      const limit = t.queueDepth;
      const probes = await store.listMonitors({ projectId: project.id, kind: 'uptime' });
      const depths = probes.map((m) => m.gauges?.['queue_size'] ?? m.gauges?.['queue_depth']).filter((v): v is number => typeof v === 'number');
      const depth = depths.length ? Math.max(...depths) : null;
      out.push({ rule: 'queue_depth', fingerprint: fp('queue_depth'), breached: depth === null ? null : depth > limit.value, value: depth, forMs: limit.forMs, notify: true, describe: (v) => `queue depth ${v ?? '?'} (limit ${limit.value} for ${humanDuration(limit.forMs)})` });
    }
    if (t.heartbeatAgeMs !== null) out.push(...(await this.heartbeatAgeVerdicts(project, now, t.heartbeatAgeMs)));
    return out;
  }

  private async heartbeatAgeVerdicts(project: Project, now: number, limitMs: number): Promise<RuleVerdict[]> {
    const store = this.deps.monitors;
    // One rule per monitor state (environment); states carried over from before environments keep their monitor's id.
    const fingerprint = (stateId: number) => `rule:${project.id}:heartbeat_age:${stateId}`;
    const verdict = (id: number, slug: string, ageMs: number | null, breached: boolean): RuleVerdict => ({
      rule: 'heartbeat_age',
      fingerprint: fingerprint(id),
      breached,
      value: ageMs === null ? null : ageMs / 1000,
      forMs: 0,
      notify: false,
      describe: (v) => `${slug}: last heartbeat ${v ?? '?'} s ago (limit ${limitMs / 1000} s)`,
    });
    // Read in pages with a turn of the event loop between them: a whole fleet can go stale at once.
    const out: RuleVerdict[] = [];
    for (let after = 0; ; ) {
      const stale = await store.listMonitors({ projectId: project.id, kind: 'heartbeat', active: true, pingedBefore: now - limitMs, afterStateId: after, limit: STALE_PAGE });
      for (const m of stale) out.push(verdict(m.stateId, named(m), now - m.lastPingAt!, true));
      if (stale.length < STALE_PAGE) break;
      after = stale.at(-1)!.stateId;
      await yieldToLoop();
    }
    const staleIds = new Set(out.map((v) => v.fingerprint));
    // Rules that were breached and are not any more: their monitor pinged again, was paused or deleted.
    const slicer = new LoopSlicer(THRESHOLD_SLICE);
    for (const state of await store.ruleStates({ projectId: project.id, rule: 'heartbeat_age', activeOnly: true })) {
      if (staleIds.has(state.fingerprint)) continue;
      await slicer.step();
      const id = Number(state.fingerprint.slice(state.fingerprint.lastIndexOf(':') + 1));
      const m = await store.getState(id);
      out.push(verdict(id, m ? named(m) : `monitor ${id}`, m?.lastPingAt ? now - m.lastPingAt : null, false));
    }
    return out;
  }

  /** p95 over the last minute's histograms (merged), ms. */
  async latencyP95(projectId: number, now: number): Promise<number | null> {
    const rows = await this.deps.monitors.latency(projectId, Math.floor((now - WINDOW_MS) / 60_000) * 60_000, now);
    const merged = emptyBuckets();
    for (const r of rows) mergeInto(merged, r.buckets);
    return quantileMs(merged, 0.95);
  }

  private async step(project: Project, v: RuleVerdict, stored: RuleState | null, now: number): Promise<void> {
    const store = this.deps.monitors;
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
    const url = `${this.deps.config.publicUrl}/monitors`;
    await this.deps.monitors.enqueue({ projectId: project.id, monitorId: null, fingerprint: v.fingerprint, kind, text: thresholdText({ project: project.name }, firing, v.describe(v.value), url), payload: { kind, rule: v.rule, value: v.value }, createdAt: now });
  }
}

/** `poller` or `poller (staging)`. */
function named(m: Pick<Monitor, 'slug' | 'environment'>): string {
  return m.environment ? `${m.slug} (${m.environment})` : m.slug;
}

function humanMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}
