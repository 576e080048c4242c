import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireApiToken, projectOr404 } from './api-access.js';
import { ClientError } from '../lib/errors.js';
import { parseTime } from '../lib/time.js';
import { HOUR_MS, LOG_LEVELS, type LogLevel, type LogQuery, type LogStore, type LogTemplate } from '../store/logs.js';
import { operationPercentiles } from '../logs/latency.js';
import type { Store } from '../store/store.js';
import { logRulesOverrideSchema, parseStoredLogRules, resolveLogRules } from '../logs/config.js';
import type { LogRuleEvaluator } from '../logs/evaluator.js';
import { parseState } from '../logs/evaluator.js';
import { editLogRules, resetLogRules, type LogRuleEdit } from '../logs/rule-edits.js';
import { z } from 'zod';

export interface LogRouteDeps {
  store: Store;
  logs: LogStore;
  evaluator: LogRuleEvaluator;
  /** The logs' clock (tests compress it): the templates' rate window. */
  now?: () => number;
}

type ProjectParams = { Params: { project: string } };
type SearchRequest = FastifyRequest<ProjectParams & { Querystring: Record<string, string | string[] | undefined> }>;

/**
 * Log lines and log rules under /api/v1 (docs/api.md "Logs"; same Bearer tokens as the rest):
 * search a project's lines, see and edit its rules and their states.
 */
export async function logRoutes(app: FastifyInstance, { store, logs, evaluator, now: clock = Date.now }: LogRouteDeps): Promise<void> {
  app.addHook('onRequest', requireApiToken(store));

  app.get('/projects/:project/logs', async (req: SearchRequest) => {
    const project = await projectOr404(store, req.params.project);
    const query = searchQuery(project.id, req.query);
    const lines = await logs.searchLines(query);
    const limit = query.limit ?? 100;
    return { lines, next: lines.length === limit ? lines[lines.length - 1]!.id : null };
  });

  app.get('/projects/:project/log-templates', async (req: SearchRequest) => {
    const project = await projectOr404(store, req.params.project);
    const hours = integer('hours', single(req.query['hours']) ?? '24', 1, 168);
    const limit = integer('limit', single(req.query['limit']) ?? '50', 1, 500);
    const now = clock();
    const templates = await logs.templates({ projectId: project.id, since: now - hours * HOUR_MS, limit });
    return { project: project.slug, hours, templates: templates.map((t) => presentTemplate(t, hours, project.slug)) };
  });

  app.get('/projects/:project/latency/operations', async (req: SearchRequest) => {
    const project = await projectOr404(store, req.params.project);
    const minutes = integer('minutes', single(req.query['minutes']) ?? '60', 1, 10_080);
    // Minutes of arrival (the lines' receive times, wall clock), as for the transactions' latency.
    const to = Math.floor(Date.now() / 60_000) * 60_000;
    const rows = await logs.operationLatency(project.id, to - (minutes - 1) * 60_000, to);
    return { project: project.slug, minutes, operations: operationPercentiles(rows) };
  });

  app.get('/projects/:project/log-rules', async (req: FastifyRequest<ProjectParams>) => {
    const project = await projectOr404(store, req.params.project);
    const settings = await store.getProjectSettings(project.id);
    const stored = parseStoredLogRules(settings['log_rules']);
    const rules = await evaluator.rulesFor(project.id);
    const states = (await logs.ruleStates({ projectId: project.id })).map((s) => ({ rule: s.ruleKey, firing: s.firing, updatedAt: s.updatedAt, state: parseState(s) }));
    return {
      override: stored.rules ?? {},
      ...(stored.problem ? { overrideProblem: `the stored log_rules are ignored: ${stored.problem}` } : {}),
      effective: rules?.spec ?? null,
      states,
      // How far the rules have got (a line id, all projects): lines after it wait to be judged.
      evaluatedThrough: await logs.ruleCursor(),
    };
  });

  app.put('/projects/:project/log-rules', async (req: FastifyRequest<ProjectParams>) => {
    const project = await projectOr404(store, req.params.project);
    // Patterns are compiled here (RE2): one that cannot run is refused now, with the reason.
    const parsed = logRulesOverrideSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw new ClientError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const body = req.body as Record<string, unknown>;
    await store.setProjectSetting(project.id, 'log_rules', Object.keys(body).length ? JSON.stringify(body) : null);
    evaluator.forget(project.id);
    return { override: parsed.data, effective: resolveLogRules(evaluator.config, project.slug, Object.keys(body).length ? parsed.data : null) };
  });

  // One rule at a time (the dashboard's editor does the same): the list in force is edited and
  // stored as the project's override. `?pattern=` names the rule to change or delete.
  const editor = { store, rules: evaluator };
  const edit = async (req: EditRequest, make: (body: unknown, pattern: string | undefined) => LogRuleEdit) => {
    const project = await projectOr404(store, req.params.project);
    return editLogRules(editor, project, make(req.body ?? {}, req.query.pattern));
  };
  app.post('/projects/:project/log-rules/forbidden', async (req: EditRequest, reply) => {
    reply.code(201);
    return edit(req, (body) => ({ kind: 'forbidden', action: 'add', pattern: parseBody(forbiddenBody, body).pattern }));
  });
  app.patch('/projects/:project/log-rules/forbidden', async (req: EditRequest) =>
    edit(req, (body, from) => ({ kind: 'forbidden', action: 'edit', from: named(from), pattern: parseBody(forbiddenBody, body).pattern })));
  app.delete('/projects/:project/log-rules/forbidden', async (req: EditRequest) =>
    edit(req, (_body, pattern) => ({ kind: 'forbidden', action: 'delete', pattern: named(pattern) })));
  app.post('/projects/:project/log-rules/rate-limited', async (req: EditRequest, reply) => {
    reply.code(201);
    return edit(req, (body) => ({ kind: 'rate', action: 'add', rule: parseBody(rateBody, body) }));
  });
  app.patch('/projects/:project/log-rules/rate-limited', async (req: EditRequest) =>
    edit(req, (body, from) => ({ kind: 'rate', action: 'edit', from: named(from), rule: parseBody(rateEditBody, body) })));
  app.delete('/projects/:project/log-rules/rate-limited', async (req: EditRequest) =>
    edit(req, (_body, pattern) => ({ kind: 'rate', action: 'delete', pattern: named(pattern) })));
  app.put('/projects/:project/log-rules/error-rate', async (req: EditRequest) =>
    edit(req, (body) => ({ kind: 'errorRate', value: parseBody(errorRateBody, body) })));
  app.delete('/projects/:project/log-rules/error-rate', async (req: EditRequest) => edit(req, () => ({ kind: 'errorRate', value: null })));
  app.delete('/projects/:project/log-rules', async (req: FastifyRequest<ProjectParams>) => {
    const project = await projectOr404(store, req.params.project);
    return { override: {}, effective: await resetLogRules(editor, project) };
  });
}

type EditRequest = FastifyRequest<ProjectParams & { Querystring: { pattern?: string } }>;

const forbiddenBody = z.object({ pattern: z.string() }).strict();
const rateBody = z.object({ pattern: z.string(), count: z.number().int().min(1).max(1_000_000).default(1), windowSeconds: z.number().min(1).max(86_400).default(30) }).strict();
/** An edit names only what changes (no defaults: a missing count keeps the rule's count). */
const rateEditBody = z.object({ pattern: z.string().optional(), count: z.number().int().min(1).max(1_000_000).optional(), windowSeconds: z.number().min(1).max(86_400).optional() }).strict();
const errorRateBody = z.object({ count: z.number().int().min(0).max(1_000_000), windowMinutes: z.number().min(1).max(1440) }).strict();

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ClientError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return parsed.data;
}

function named(pattern: string | undefined): string {
  if (!pattern) throw new ClientError(400, 'name the rule with ?pattern=<its pattern>');
  return pattern;
}

/**
 * The search's query string: `level` (one or a comma list), `min_level`, `logger`, `q` (words,
 * searched through the full-text index; `field:value`, `level:error` and `logger:name` inside it
 * are taken as filters), `field` (`key:value`, repeatable), `from`/`to` (ISO time or epoch
 * seconds/ms), `template` (a template id; `template:<id>` inside `q` too), `before` (an id: the
 * next page), `after` (an id: only newer lines, still newest first: a follower's cursor), `rule`
 * (the rule key a line matched, e.g. `forbidden:Queue full`), `limit` (1..1000, default 100).
 */
export function searchQuery(projectId: number, qs: Record<string, string | string[] | undefined>): LogQuery {
  const one = (name: string): string | undefined => {
    const v = qs[name];
    return Array.isArray(v) ? v[v.length - 1] : v;
  };
  const many = (name: string): string[] => {
    const v = qs[name];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  const query: LogQuery = { projectId };
  const fields: Record<string, string> = {};
  const levels: LogLevel[] = [];
  for (const l of many('level').flatMap((v) => v.split(','))) levels.push(level(l));
  const words: string[] = [];
  for (const token of (one('q') ?? '').split(/\s+/).filter(Boolean)) {
    const m = /^([\w.@-]+):(.+)$/.exec(token);
    if (!m) words.push(token);
    else if (m[1] === 'level') levels.push(level(m[2]!));
    else if (m[1] === 'logger') query.logger = m[2]!;
    // A template id is 16 hex digits; any other `template:` value is the field (Sentry's message template).
    else if (m[1] === 'template' && TEMPLATE_ID.test(m[2]!)) query.templateId = m[2]!.toLowerCase();
    else fields[m[1]!] = m[2]!;
  }
  for (const f of many('field')) {
    const at = f.indexOf(':');
    if (at <= 0) throw new ClientError(400, `field "${f}" must be key:value`);
    fields[f.slice(0, at)] = f.slice(at + 1);
  }
  if (levels.length) query.levels = levels;
  const min = one('min_level');
  if (min) query.minLevel = level(min);
  const logger = one('logger');
  if (logger) query.logger = logger;
  if (words.length) query.text = words.join(' ');
  if (Object.keys(fields).length) query.fields = fields;
  const from = one('from');
  if (from) query.from = time(from);
  const to = one('to');
  if (to) query.to = time(to);
  const template = one('template');
  if (template) {
    if (!TEMPLATE_ID.test(template)) throw new ClientError(400, 'template must be a template id (16 hex digits, from /log-templates)');
    query.templateId = template.toLowerCase();
  }
  const before = one('before');
  if (before) query.beforeId = integer('before', before, 1, Number.MAX_SAFE_INTEGER);
  const after = one('after');
  if (after) query.afterId = integer('after', after, 0, Number.MAX_SAFE_INTEGER);
  const rule = one('rule');
  if (rule) query.rule = rule;
  query.limit = integer('limit', one('limit') ?? '100', 1, 1000);
  return query;
}

const TEMPLATE_ID = /^[0-9a-f]{16}$/i;

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** A template as the API shows it: its rate over the window and where its lines are. */
export function presentTemplate(t: LogTemplate, hours: number, slug: string) {
  return {
    id: t.id,
    template: t.template,
    count: t.count,
    recent: t.recentCount,
    perHour: Math.round((t.recentCount / hours) * 10) / 10,
    firstSeen: new Date(t.firstSeen).toISOString(),
    lastSeen: new Date(t.lastSeen).toISOString(),
    newPattern: t.noticedAt !== null,
    noticedAt: t.noticedAt === null ? null : new Date(t.noticedAt).toISOString(),
    hours: t.hours.map((h) => ({ hour: new Date(h.hour).toISOString(), count: h.count })),
    lines: `/api/v1/projects/${encodeURIComponent(slug)}/logs?q=${encodeURIComponent(`template:${t.id}`)}`,
  };
}

function level(text: string): LogLevel {
  const l = text.toLowerCase() === 'warn' ? 'warning' : text.toLowerCase() === 'fatal' ? 'critical' : text.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(l)) throw new ClientError(400, `level "${text}" is not one of ${LOG_LEVELS.join(', ')}`);
  return l as LogLevel;
}

function integer(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new ClientError(400, `${name} must be an integer from ${min} to ${max}`);
  return n;
}

function time(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    return n < 1e11 ? n * 1000 : n;
  }
  return parseTime(text);
}
