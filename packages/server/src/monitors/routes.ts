import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ClientError } from '../lib/errors.js';
import type { Monitor, MonitorStore } from '../store/monitors.js';
import type { Project } from '../store/model.js';
import type { Store } from '../store/store.js';
import { checkDefinition, definitionFields, toNewMonitor } from './definition.js';
import { BOT_PAUSED } from './heartbeat.js';
import { emptyBuckets, mergeInto, quantileMs } from './latency.js';
import type { LockView } from './lock-view.js';
import type { Monitors } from './service.js';

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
  const handler = async (req: FastifyRequest<{ Params: { project: string; slug: string }; Querystring: { sentry_key?: string; status?: string } }>, reply: FastifyReply) => {
    const project = await deps.findProject(req.params.project);
    if (!project) throw new ClientError(404, `no project "${req.params.project}"`);
    const key = req.query.sentry_key ?? /sentry_key=([^,\s]+)/.exec(String(req.headers['x-sentry-auth'] ?? ''))?.[1];
    if (!key) throw new ClientError(401, 'missing authentication: add ?sentry_key=<the DSN public key>');
    if (key !== project.publicKey) throw new ClientError(403, 'wrong sentry_key for this project');
    if (!/^[\w.-]{1,100}$/.test(req.params.slug)) throw new ClientError(400, 'monitor slug: letters, digits, ".", "_" or "-", up to 100');
    const status = req.query.status === 'error' || req.query.status === 'fail' ? 'error' : 'ok';
    const monitor = await deps.monitors.beat(project.id, req.params.slug, { at: deps.monitors.clock.now(), status }, { source: 'ping' });
    return reply.send({ ok: true, monitor: monitor.slug, status: monitor.status });
  };
  app.get('/api/:project/heartbeat/:slug', handler);
  app.post('/api/:project/heartbeat/:slug', handler);
}

const newMonitor = definitionFields.extend({ project: z.string().min(1) }).superRefine(checkDefinition);

/** Monitor API under /api/v1, Bearer tokens like the rest (docs/api.md, docs/monitors.md). */
export async function monitorApiRoutes(app: FastifyInstance, deps: MonitorRouteDeps): Promise<void> {
  const { store } = deps;
  const ms: MonitorStore = deps.monitors.deps.monitors;
  app.addHook('onRequest', async (req) => {
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw new ClientError(401, 'missing API token: send "Authorization: Bearer <token>" (create one with `botpulse token create`)');
    if (!(await store.verifyApiToken(token))) throw new ClientError(403, 'API token not recognised');
  });
  const monitorOr404 = async (id: string): Promise<Monitor> => {
    const m = /^\d+$/.test(id) ? await ms.getMonitor(Number(id)) : null;
    if (!m) throw new ClientError(404, `no monitor ${id}`);
    return m;
  };

  app.get('/monitors', async (req: FastifyRequest<{ Querystring: { project?: string } }>) => {
    const project = req.query.project ? await store.getProject(req.query.project) : null;
    if (req.query.project && !project) throw new ClientError(404, `no project "${req.query.project}"`);
    const list = await ms.listMonitors(project ? { projectId: project.id } : {});
    return { monitors: await Promise.all(list.map((m) => presentMonitor(m, deps))) };
  });

  app.post('/monitors', async (req, reply) => {
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

  app.patch('/monitors/:id', async (req: FastifyRequest<{ Params: { id: string }; Body: { paused?: boolean } }>) => {
    const m = await monitorOr404(req.params.id);
    const paused = req.body?.paused;
    if (typeof paused !== 'boolean') throw new ClientError(400, 'send {"paused": true} or {"paused": false}');
    const now = deps.monitors.clock.now();
    const to = paused ? 'paused' : 'new';
    // Paused by the bot already: a person's pause still takes it over (the bot's next check-in will not resume it).
    if (m.status !== to || (paused && m.lastReason?.startsWith(BOT_PAUSED))) {
      const applied = await ms.transition({
        monitorId: m.id,
        expect: { status: m.status, updatedAt: m.updatedAt },
        set: { status: to, deadline: !paused && m.kind === 'uptime' ? now : null, failures: 0, successes: 0, lastReason: null, updatedAt: Math.max(now, m.updatedAt + 1) },
        flip: { at: now, from: m.status, to, reason: paused ? 'paused' : 'resumed' },
      });
      if (!applied) throw new ClientError(409, 'the monitor changed meanwhile; try again');
    }
    return { monitor: await presentMonitor((await ms.getMonitor(m.id))!, deps) };
  });

  app.delete('/monitors/:id', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
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

/** A monitor as the API shows it, with its lock view (Redis when configured, else the SDK's check-in). */
export async function presentMonitor(m: Monitor, deps: Pick<MonitorRouteDeps, 'lockView' | 'monitors'>) {
  const project = await deps.monitors.project(m.projectId);
  const polling = m.polling;
  const fromCheckIn = polling && typeof polling['host'] === 'string' ? { source: 'check-in', host: polling['host'], pid: polling['pid'] ?? null, env: null, ts: null } : null;
  const redis = m.kind === 'heartbeat' ? await deps.lockView.read(m.lockKey) : null;
  const lock = redis && 'holder' in redis ? (redis.holder ? { source: 'redis', ...redis.holder, key: redis.key, ttlMs: redis.ttlMs } : { source: 'redis', key: redis.key, free: true }) : (redis ?? fromCheckIn);
  return {
    id: m.id,
    project: project?.slug ?? null,
    slug: m.slug,
    kind: m.kind,
    source: m.source,
    status: m.status,
    periodSeconds: m.periodMs / 1000,
    graceSeconds: m.graceMs / 1000,
    schedule: m.schedule,
    timezone: m.timezone,
    failureThreshold: m.failureThreshold,
    recoveryThreshold: m.recoveryThreshold,
    url: m.url,
    lastPingAt: m.lastPingAt,
    lastOkAt: m.lastOkAt,
    lastReason: m.lastReason,
    downSince: m.downSince,
    downReason: m.downReason,
    alertSent: m.alertSent,
    nextDeadline: m.deadline,
    lastGetUpdatesOkAt: typeof polling?.['last_get_updates_ok_at'] === 'string' ? polling['last_get_updates_ok_at'] : null,
    conflictsTotal: m.conflictsTotal,
    conflictSince: m.conflictSince,
    lock,
    gauges: m.gauges,
  };
}
