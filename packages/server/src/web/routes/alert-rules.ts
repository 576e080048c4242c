import type { FastifyInstance, FastifyRequest } from 'fastify';
import { rulesOverrideSchema } from '../../alerts/config.js';
import { parseStoredRules } from '../../alerts/rules.js';
import { ClientError } from '../../lib/errors.js';
import { parseDuration } from '../../lib/time.js';
import type { Project } from '../../store/model.js';
import { pageContext, sendHtml, sessionOf, type WebDeps } from '../context.js';
import { alertRulesPage, RULE_FIELDS, type AlertRulesView } from '../views/alert-rules.js';

type Req = FastifyRequest<{ Params: { slug: string; id: string }; Body: Record<string, unknown>; Querystring: { saved?: string } }>;
const ADMIN = { config: { role: 'admin' as const } };

/**
 * A project's alert rules (its stored override over the configured rules) and its silences, with
 * the API's validation (alerts/config.ts rulesOverrideSchema): a bad value is refused, naming the field.
 */
export function alertRuleRoutes(app: FastifyInstance, deps: WebDeps): void {
  const render = async (req: Req, project: Project, extra: Partial<AlertRulesView> = {}) => {
    const alerting = deps.alerting;
    const settings = await deps.store.getProjectSettings(project.id);
    const stored = parseStoredRules(settings.alert_rules);
    const now = deps.now();
    return alertRulesPage(pageContext(deps, req), {
      project,
      enabled: !!alerting,
      effective: alerting ? await alerting.rules.forProject(project) : null,
      override: stored.problem ? {} : settings.alert_rules ? (JSON.parse(settings.alert_rules) as Record<string, unknown>) : {},
      overrideProblem: stored.problem,
      silences: alerting ? (await alerting.alerts.activeSilences(now)).filter((s) => s.projectId === project.id || s.projectId === null) : [],
      ...extra,
    });
  };

  app.get('/projects/:slug/alerts', async (req: Req, reply) => {
    const project = await projectOr404(deps, req.params.slug);
    return sendHtml(reply, await render(req, project, req.query.saved ? { flash: req.query.saved } : {}));
  });

  app.post('/projects/:slug/alerts', ADMIN, async (req: Req, reply) => {
    const project = await projectOr404(deps, req.params.slug);
    const alerting = alertingOr404(deps);
    const { override, errors } = overrideFromForm(req.body ?? {});
    // Keys the form does not edit (chat ids, the thread set on the project page) are kept.
    const stored = readJsonObject((await deps.store.getProjectSettings(project.id)).alert_rules);
    const kept = Object.fromEntries(Object.entries(stored).filter(([key]) => !RULE_FIELDS.some((f) => f.key === key)));
    const merged = { ...kept, ...override };
    const parsed = rulesOverrideSchema.safeParse(merged);
    if (errors.length || !parsed.success) {
      const named = parsed.success ? [] : parsed.error.issues.map((i) => `${labelOf(String(i.path[0] ?? ''))}: ${i.message}.`);
      return sendHtml(reply, await render(req, project, { errors: [...errors, ...named], form: req.body as Record<string, string> }), 400);
    }
    await deps.store.setProjectSetting(project.id, 'alert_rules', Object.keys(merged).length ? JSON.stringify(merged) : null);
    alerting.rules.forget(project.id);
    return reply.redirect(`/projects/${project.slug}/alerts?saved=${encodeURIComponent('Saved the alert rules.')}`, 303);
  });

  app.post('/projects/:slug/silences', ADMIN, async (req: Req, reply) => {
    const project = await projectOr404(deps, req.params.slug);
    const alerting = alertingOr404(deps);
    const duration = typeof req.body?.duration === 'string' ? req.body.duration.trim() : '';
    const reason = typeof req.body?.reason === 'string' ? req.body.reason.trim().slice(0, 500) : '';
    let ms: number;
    try {
      ms = parseDuration(duration);
    } catch {
      ms = NaN;
    }
    if (!Number.isFinite(ms) || ms <= 0) {
      return sendHtml(reply, await render(req, project, { errors: [`Silence for: "${duration}" is not a duration; use e.g. 30m, 2h or 1d.`] }), 400);
    }
    const now = deps.now();
    await alerting.alerts.addSilence({ projectId: project.id, issueId: null, endsAt: now + ms, createdBy: `dashboard:${sessionOf(req).login}`, reason: reason || null, createdAt: now });
    return reply.redirect(`/projects/${project.slug}/alerts?saved=${encodeURIComponent(`Silenced ${project.name} for ${duration}.`)}`, 303);
  });

  app.post('/projects/:slug/silences/:id/remove', ADMIN, async (req: Req, reply) => {
    const project = await projectOr404(deps, req.params.slug);
    const alerting = alertingOr404(deps);
    if (!/^\d+$/.test(req.params.id)) throw new ClientError(404, `There is no silence ${req.params.id}.`);
    await alerting.alerts.removeSilence(Number(req.params.id));
    return reply.redirect(`/projects/${project.slug}/alerts?saved=${encodeURIComponent('Ended the silence.')}`, 303);
  });
}

/** The form's non-empty fields as an override (empty: the configured value applies). */
function overrideFromForm(body: Record<string, unknown>): { override: Record<string, unknown>; errors: string[] } {
  const override: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const field of RULE_FIELDS) {
    const raw = typeof body[field.key] === 'string' ? (body[field.key] as string).trim() : '';
    if (!raw) continue;
    if (field.kind === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) errors.push(`${field.label}: "${raw}" is not a number.`);
      else override[field.key] = n;
    } else if (field.kind === 'boolean') override[field.key] = raw === 'true';
    else override[field.key] = raw;
  }
  return { override, errors };
}

function readJsonObject(text: string | undefined): Record<string, unknown> {
  try {
    const value: unknown = text ? JSON.parse(text) : {};
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function labelOf(key: string): string {
  return RULE_FIELDS.find((f) => f.key === key)?.label ?? key;
}

function alertingOr404(deps: WebDeps) {
  if (!deps.alerting) throw new ClientError(404, 'Alerting is not running in this server.');
  return deps.alerting;
}

async function projectOr404(deps: WebDeps, slug: string): Promise<Project> {
  const project = await deps.store.getProject(slug);
  if (!project) throw new ClientError(404, `There is no project "${slug}".`);
  return project;
}
