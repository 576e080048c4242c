import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ClientError } from '../lib/errors.js';
import { requireApiToken } from '../http/api-access.js';
import type { Monitor, MonitorStore } from '../store/monitors.js';
import { projectAcceptsKey, type Project } from '../store/model.js';
import type { Store } from '../store/store.js';
import { checkDefinition, definitionFields, monitorPatch, patchSettings, SETTING_OF_FIELD, toNewMonitor, type MonitorPatch } from './definition.js';
import { BOT_PAUSED } from './heartbeat.js';
import { nextExpectedAt } from './schedule.js';
import { emptyBuckets, mergeInto, quantileMs } from './latency.js';
import type { LockView } from './lock-view.js';
import { RefusalBatch, type Monitors } from './service.js';
import { signalLimits } from './signals.js';

export interface MonitorRouteDeps {
  store: Store;
  monitors: Monitors;
  lockView: LockView;
  findProject: (id: string) => Promise<Project | null>;
}

/**
 * The plain ping for curl and cron: `GET|POST /api/<project>/heartbeat/<slug>?sentry_key=<key>`
 * (or X-Sentry-Auth), `&status=error` for a failed run. Authenticated like ingestion; the monitor
 * is created on its first ping with the default period and grace.
 */
export async function pingRoutes(app: FastifyInstance, deps: MonitorRouteDeps): Promise<void> {
  const handler = async (req: FastifyRequest<{ Params: { project: string; slug: string }; Querystring: { sentry_key?: string; status?: string; environment?: string } }>, reply: FastifyReply) => {
    const project = await deps.findProject(req.params.project);
    if (!project) throw new ClientError(404, `no project "${req.params.project}"`);
    const key = req.query.sentry_key ?? /sentry_key=([^,\s]+)/.exec(String(req.headers['x-sentry-auth'] ?? ''))?.[1];
    if (!key) throw new ClientError(401, 'missing authentication: add ?sentry_key=<the DSN public key>');
    if (project.deletingAt !== null) throw new ClientError(410, `project "${project.slug}" is being deleted; its pings are refused`);
    if (!projectAcceptsKey(project, key, Date.now())) throw new ClientError(403, 'wrong sentry_key for this project');
    const status = req.query.status === 'error' || req.query.status === 'fail' ? 'error' : 'ok';
    const outcome = await deps.monitors.checkIn(project.id, { slug: req.params.slug, environment: req.query.environment, source: 'ping', beat: { at: deps.monitors.clock.now(), status } });
    if ('refused' in outcome) {
      const batch = new RefusalBatch();
      batch.add(project.id, outcome.refused, outcome.slug, outcome.message);
      await deps.monitors.recordRefusals(batch);
      throw new ClientError(outcome.refused === 'limit' ? 429 : 400, outcome.message);
    }
    const m = outcome.monitor;
    return reply.send({ ok: true, monitor: m.slug, environment: m.environment, status: m.status });
  };
  app.get('/api/:project/heartbeat/:slug', handler);
  app.post('/api/:project/heartbeat/:slug', handler);
}

const newMonitor = definitionFields.extend({ project: z.string().min(1) }).superRefine(checkDefinition);

/** Monitor API under /api/v1, Bearer tokens like the rest (docs/api.md, docs/monitors.md). */
export async function monitorApiRoutes(app: FastifyInstance, deps: MonitorRouteDeps): Promise<void> {
  const { store } = deps;
  const ms: MonitorStore = deps.monitors.deps.monitors;
  app.addHook('onRequest', requireApiToken(store));
  const monitorOr404 = async (id: string): Promise<Monitor> => {
    const m = /^\d+$/.test(id) ? await ms.getMonitor(Number(id)) : null;
    if (!m) throw new ClientError(404, `no monitor ${id}`);
    return m;
  };

  app.get('/monitors', async (req: FastifyRequest<{ Querystring: { project?: string } }>) => {
    const project = req.query.project ? await store.getProject(req.query.project) : null;
    if (req.query.project && !project) throw new ClientError(404, `no project "${req.query.project}"`);
    const list = groupByMonitor(await ms.listMonitors(project ? { projectId: project.id } : {}));
    return { monitors: await Promise.all(list.map((states) => presentMonitor(states[0]!, deps, states))) };
  });

  app.post('/monitors', { config: { role: 'admin' } }, async (req, reply) => {
    const parsed = newMonitor.safeParse(req.body);
    if (!parsed.success) throw new ClientError(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const { project: projectRef, ...definition } = parsed.data;
    const project = await store.getProject(projectRef);
    if (!project) throw new ClientError(404, `no project "${projectRef}"`);
    if (await ms.findMonitor(project.id, definition.slug)) throw new ClientError(409, `monitor "${definition.slug}" already exists in ${project.slug}`);
    const m = await ms.createMonitor(toNewMonitor(definition, project.id, deps.monitors.deps.config.monitors, 'api'), deps.monitors.clock.now());
    deps.monitors.kick();
    return reply.code(201).send({ monitor: await presentMonitor(m, deps) });
  });

  app.get('/monitors/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const m = await monitorOr404(req.params.id);
    return { monitor: await presentMonitor(m, deps), flips: await ms.flips(m.id, { limit: 100 }), notifications: await ms.notifications({ monitorId: m.id, limit: 50 }) };
  });

  app.patch('/monitors/:id', { config: { role: 'admin' } }, async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const m = await monitorOr404(req.params.id);
    const parsed = monitorPatch.safeParse(req.body ?? {});
    if (!parsed.success) throw new ClientError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const { paused, ...settings } = parsed.data;
    if (paused === undefined && Object.keys(settings).length === 0) throw new ClientError(400, 'send {"paused": true|false} and/or settings such as {"periodSeconds": 60}');
    if (Object.keys(settings).length) await editSettings(deps.monitors, m, settings);
    if (paused !== undefined) await setPaused(deps.monitors, m.id, paused);
    return { monitor: await presentMonitor((await ms.getMonitor(m.id))!, deps) };
  });

  app.delete('/monitors/:id', { config: { role: 'admin' } }, async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const m = await monitorOr404(req.params.id);
    if (m.source === 'config') throw new ClientError(409, `monitor "${m.slug}" is declared in BOTPULSE_MONITORS: remove it there (it would come back at the next start); pause it with PATCH {"paused": true}`);
    await ms.deleteMonitor(m.id);
    return reply.code(204).send();
  });

  app.get('/monitors/:id/flips', async (req: FastifyRequest<{ Params: { id: string }; Querystring: { limit?: string } }>) => {
    const m = await monitorOr404(req.params.id);
    return { flips: await ms.flips(m.id, { limit: Math.min(1000, Number(req.query.limit ?? 100) || 100) }) };
  });

  app.get('/projects/:project/latency', async (req: FastifyRequest<{ Params: { project: string }; Querystring: { minutes?: string; step?: string } }>) => {
    const project = await store.getProject(req.params.project);
    if (!project) throw new ClientError(404, `no project "${req.params.project}"`);
    const minutes = Math.min(7 * 24 * 60, Math.max(1, Number(req.query.minutes ?? 60) || 60));
    const step = Math.min(1440, Math.max(1, Number(req.query.step ?? 1) || 1));
    return { project: project.slug, minutes, step, points: await latencySeries(ms, project.id, deps.monitors.clock.now(), minutes, step) };
  });

  app.get('/monitor-rules', async () => ({ rules: await ms.ruleStates() }));
  app.get('/monitor-notifications', async (req: FastifyRequest<{ Querystring: { limit?: string } }>) => ({ notifications: await ms.notifications({ limit: Math.min(500, Number(req.query.limit ?? 50) || 50) }) }));
}

/**
 * A person's edit (API PATCH or the dashboard's form): the values are written and marked as set by
 * hand, so later check-ins' monitor_config leave them alone; a `null` gives a setting back to the
 * check-ins. A monitor declared in BOTPULSE_MONITORS is edited in the file (409). Each environment's
 * deadline is recomputed from its last ping with the new schedule, so a shorter period counts now.
 */
export async function editSettings(monitors: Monitors, m: Monitor, patch: Omit<MonitorPatch, 'paused'>): Promise<Monitor> {
  if (m.source === 'config') throw new ClientError(409, `monitor "${m.slug}" is declared in BOTPULSE_MONITORS: change it there (the file is applied at every start)`);
  let change: ReturnType<typeof patchSettings>;
  try {
    change = patchSettings(m, patch);
  } catch (err) {
    throw new ClientError(400, (err as Error).message);
  }
  const store = monitors.deps.monitors;
  const now = monitors.clock.now();
  const updated = await store.updateSettings(m.id, () => change, now);
  if (!updated) throw new ClientError(404, `no monitor ${m.id}`);
  for (const state of await store.monitorStates(m.id)) {
    if (state.kind !== 'heartbeat' || state.status !== 'up' || state.lastPingAt === null) continue;
    const deadline = nextExpectedAt(state, state.lastPingAt);
    if (deadline !== state.deadline) await monitors.apply({ stateId: state.stateId, expect: { status: state.status, updatedAt: state.updatedAt }, set: { deadline, updatedAt: Math.max(now, state.updatedAt + 1) } });
  }
  monitors.kick();
  return updated;
}

/** Pauses (or resumes) every environment of a monitor; a state that changed meanwhile is tried again. */
export async function setPaused(monitors: Monitors, monitorId: number, paused: boolean): Promise<void> {
  const store = monitors.deps.monitors;
  const to = paused ? 'paused' : 'new';
  for (let attempt = 0; attempt < 5; attempt++) {
    let pending = 0;
    for (const state of await store.monitorStates(monitorId)) {
      // A pause the bot made (its `paused` check-in) is taken over by a person's: the bot's next check-in will not lift it.
      const pausedByBot = state.status === 'paused' && (state.lastReason?.startsWith(BOT_PAUSED) ?? false);
      if ((state.status === to && !(paused && pausedByBot)) || (!paused && state.status !== 'paused')) continue;
      const now = monitors.clock.now();
      const applied = await store.transition({
        stateId: state.stateId,
        expect: { status: state.status, updatedAt: state.updatedAt },
        set: { status: to, deadline: !paused && state.kind === 'uptime' ? now : null, failures: 0, successes: 0, lastReason: null, updatedAt: Math.max(now, state.updatedAt + 1) },
        flip: { at: now, from: state.status, to, reason: paused ? 'paused' : 'resumed' },
      });
      if (!applied) pending += 1;
    }
    if (pending === 0) return;
  }
  throw new ClientError(409, 'the monitor changed meanwhile; try again');
}

export interface LatencyPoint {
  at: number;
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Percentiles per `step` minutes over the last `minutes`, merged from per-minute histograms. */
export async function latencySeries(ms: MonitorStore, projectId: number, now: number, minutes: number, step: number): Promise<LatencyPoint[]> {
  const to = Math.floor(now / 60_000) * 60_000;
  const from = to - (minutes - 1) * 60_000;
  const rows = await ms.latency(projectId, from, to);
  const groups = new Map<number, { buckets: number[]; count: number }>();
  for (const r of rows) {
    const at = from + Math.floor((r.minute - from) / (step * 60_000)) * step * 60_000;
    const g = groups.get(at) ?? { buckets: emptyBuckets(), count: 0 };
    mergeInto(g.buckets, r.buckets);
    g.count += r.count;
    groups.set(at, g);
  }
  return [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([at, g]) => ({ at, count: g.count, p50: round(quantileMs(g.buckets, 0.5)), p95: round(quantileMs(g.buckets, 0.95)), p99: round(quantileMs(g.buckets, 0.99)) }));
}

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v * 10) / 10;
}

export type PresentedMonitor = Awaited<ReturnType<typeof presentMonitor>>;

/** Worst first: what a monitor "is" when its environments differ. */
const STATUS_RANK: Record<string, number> = { down: 0, late: 1, up: 2, new: 3, paused: 4 };

/** One entry per monitor (the store lists one per monitor and environment), in the store's order. */
export function groupByMonitor(states: Monitor[]): Monitor[][] {
  const groups = new Map<number, Monitor[]>();
  for (const s of states) groups.set(s.id, [...(groups.get(s.id) ?? []), s]);
  return [...groups.values()];
}

/**
 * A monitor as the API and the dashboard show it: its settings (with those set by hand), its lock
 * view (Redis when configured, else the SDK's check-in), each environment's state, and at the top
 * the state of its worst environment (down, late, up, new, paused), so a staging `ok` never hides
 * a production `error`.
 */
export async function presentMonitor(m: Monitor, deps: Pick<MonitorRouteDeps, 'lockView' | 'monitors'>, known?: Monitor[]) {
  const project = await deps.monitors.project(m.projectId);
  const states = known ?? (await deps.monitors.deps.monitors.monitorStates(m.id));
  const all = states.length ? states : [m];
  const worst = [...all].sort((a, b) => (STATUS_RANK[a.status] ?? 9) - (STATUS_RANK[b.status] ?? 9) || (b.lastPingAt ?? 0) - (a.lastPingAt ?? 0))[0]!;
  const latest = [...all].sort((a, b) => (b.lastPingAt ?? 0) - (a.lastPingAt ?? 0))[0]!;
  const polling = latest.polling;
  const fromCheckIn = polling && typeof polling['host'] === 'string' ? { source: 'check-in', host: polling['host'], pid: polling['pid'] ?? null, env: latest.environment, ts: null } : null;
  const redis = m.kind === 'heartbeat' ? await deps.lockView.read(m.lockKey) : null;
  const lock = redis && 'holder' in redis ? (redis.holder ? { source: 'redis', ...redis.holder, key: redis.key, ttlMs: redis.ttlMs } : { source: 'redis', key: redis.key, free: true }) : (redis ?? fromCheckIn);
  return {
    id: m.id,
    project: project?.slug ?? null,
    slug: m.slug,
    kind: m.kind,
    source: m.source,
    periodSeconds: m.periodMs / 1000,
    graceSeconds: m.graceMs / 1000,
    schedule: m.schedule,
    timezone: m.timezone,
    failureThreshold: m.failureThreshold,
    recoveryThreshold: m.recoveryThreshold,
    url: m.url,
    /** The monitor's own update-lag rule (null: the server's BOTPULSE_THRESHOLD_UPDATE_LAG; 0 s: off). */
    updateLagSeconds: m.updateLagMs === null ? null : m.updateLagMs / 1000,
    updateLagMinutes: m.updateLagForMs === null ? null : m.updateLagForMs / 60_000,
    /** The rules the bot signals are judged by, as they apply to this monitor (null: off). */
    signalRules: presentRules(m, deps.monitors.deps.config.monitors.thresholds),
    /** Settings a person set (API fields): check-ins' monitor_config leaves them alone. */
    setByHand: fieldsSetByHand(m),
    ...presentState(worst),
    /** The bot signals of the environment that checked in last with any (webhook, update lag, 429s). */
    signals: [...all].filter((s) => s.signals).sort((a, b) => (b.lastPingAt ?? 0) - (a.lastPingAt ?? 0))[0]?.signals ?? null,
    /** Signal alerts firing, in any environment: `update_lag` or `webhook (staging)`. */
    signalsFiring: all.flatMap((s) => firingSignals(s).map((name) => (s.environment && all.length > 1 ? `${name} (${s.environment})` : name))),
    lastPingAt: latest.lastPingAt,
    conflictsTotal: all.reduce((n, s) => n + s.conflictsTotal, 0),
    lock,
    gauges: worst.gauges ?? latest.gauges,
    environments: all.map((s) => ({ environment: s.environment, ...presentState(s) })),
  };
}

function presentState(s: Monitor) {
  const polling = s.polling;
  return {
    status: s.status,
    lastPingAt: s.lastPingAt,
    lastOkAt: s.lastOkAt,
    lastReason: s.lastReason,
    downSince: s.downSince,
    downReason: s.downReason,
    alertSent: s.alertSent,
    nextDeadline: s.deadline,
    lastGetUpdatesOkAt: typeof polling?.['last_get_updates_ok_at'] === 'string' ? polling['last_get_updates_ok_at'] : null,
    conflictsTotal: s.conflictsTotal,
    conflictSince: s.conflictSince,
    signals: s.signals,
  };
}

/** The signal rules of a state that are firing (webhook, update_lag, throttled). */
export function firingSignals(s: Pick<Monitor, 'signals'>): string[] {
  return s.signals ? Object.entries(s.signals.rules).filter(([, r]) => r.state === 'firing').map(([name]) => name) : [];
}

function presentRules(m: Monitor, thresholds: Parameters<typeof signalLimits>[1]) {
  const l = signalLimits(m, thresholds);
  return {
    updateLag: l.lagMs === null ? null : { seconds: l.lagMs / 1000, minutes: l.lagForMs / 60_000 },
    throttle: l.throttleMs === null ? null : { secondsPerMinute: l.throttleMs / 1000, minutes: l.throttleForMs / 60_000 },
    webhookErrorRecentSeconds: l.webhookRecentMs / 1000,
  };
}

function fieldsSetByHand(m: Monitor): string[] {
  return Object.entries(SETTING_OF_FIELD)
    .filter(([, setting]) => m.manualFields.includes(setting))
    .map(([field]) => field);
}
