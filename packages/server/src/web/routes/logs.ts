import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { searchQuery } from '../../http/log-routes.js';
import { ClientError } from '../../lib/errors.js';
import { parseDuration, parseTime } from '../../lib/time.js';
import { parseStoredLogRules, resolveLogRules } from '../../logs/config.js';
import { editLogRules, resetLogRules, type LogRuleEdit } from '../../logs/rule-edits.js';
import { ruleRows, type RuleRow } from '../../logs/rule-view.js';
import type { LogLine, LogQuery } from '../../store/logs.js';
import type { Project } from '../../store/model.js';
import { pageContext, sendHtml, type WebDeps } from '../context.js';
import { queryString, render } from '../html.js';
import { logRulesPage, type LogRulesPageData } from '../views/log-rules.js';
import { lineRow, LOG_PAGE_LINES, logsPage, QUICK_RANGES, type LogFilters } from '../views/logs.js';
import { ownEntry } from '../../lib/own-entry.js';

type Query = Record<string, string | string[] | undefined>;
type LogsRequest = FastifyRequest<{ Querystring: Query }>;
type FormRequest = FastifyRequest<{ Body: Record<string, string | undefined> }>;

/** Lines a follow poll returns at most; a full answer means lines were skipped (the page says so). */
const FOLLOW_BATCH = 200;

/**
 * The Logs pages (docs/logs.md "The Logs page"): a project's lines newest first with the API's
 * filters, a time range and live follow (`/logs/follow`, polled by the page's script with an
 * `after` cursor), the rules' states, and the rule editor (`/logs/rules`).
 */
export function logRoutes(app: FastifyInstance, deps: WebDeps): void {
  app.get('/logs', async (req: LogsRequest, reply) => {
    const { projects, project } = await pickProject(deps, req.query.project);
    if (!project || !deps.logs) {
      return sendHtml(reply, logsPage(pageContext(deps, req), { projects, project, lines: [], issues: new Map(), filters: emptyFilters(), kept: Boolean(deps.logs), rules: [], olderThan: null, follow: false }));
    }
    const { query, filters } = lineQuery(project.id, req.query, deps.now());
    const lines = await deps.logs.searchLines({ ...query, limit: LOG_PAGE_LINES });
    const follow = filters.to === null && query.beforeId === undefined;
    return sendHtml(
      reply,
      logsPage(pageContext(deps, req), {
        projects,
        project,
        lines,
        issues: await issuesOf(deps, project, lines),
        filters,
        kept: true,
        rules: await rulesOf(deps, project),
        olderThan: lines.length === LOG_PAGE_LINES ? lines[lines.length - 1]!.id : null,
        follow,
      }),
    );
  });

  // Live follow: the lines after `after` that pass the page's filters, as rendered rows (the same
  // escaping as the page), newest first. `gap` says more arrived than one answer carries.
  app.get('/logs/follow', async (req: LogsRequest) => {
    const { project } = await pickProject(deps, req.query.project);
    if (!project || !deps.logs) throw new ClientError(404, 'no project or no log lines kept');
    const after = Number(typeof req.query.after === 'string' ? req.query.after : '0');
    if (!Number.isSafeInteger(after) || after < 0) throw new ClientError(400, 'after must be a line id');
    const { query } = lineQuery(project.id, { ...req.query, before: undefined }, deps.now());
    const lines = await deps.logs.searchLines({ ...query, afterId: after, limit: FOLLOW_BATCH });
    const issues = await issuesOf(deps, project, lines);
    return {
      html: render(lines.map((l) => lineRow(project, l, l.eventId ? issues.get(l.eventId) : undefined))),
      newest: lines[0]?.id ?? after,
      count: lines.length,
      gap: lines.length === FOLLOW_BATCH,
    };
  });

  app.get('/logs/rules', async (req: LogsRequest, reply) => {
    const { projects, project } = await pickProject(deps, req.query.project);
    if (!project) throw new ClientError(404, 'No project yet: create one on the Projects page.');
    const done = typeof req.query.done === 'string' ? ownEntry(DONE, req.query.done) : undefined;
    return sendHtml(reply, logRulesPage(pageContext(deps, req), { ...(await rulesPageData(deps, projects, project)), ...(done ? { flash: done } : {}) }));
  });

  const edits: Record<string, (body: Record<string, string | undefined>) => LogRuleEdit> = {
    forbidden: forbiddenEdit,
    'rate-limited': rateEdit,
    'error-rate': (b) => ({ kind: 'errorRate', value: b.action === 'off' ? null : { count: formNumber('count', b.count), windowMinutes: formNumber('window minutes', b.window_minutes) } }),
    enabled: (b) => ({ kind: 'enabled', value: b.enabled === '1' }),
  };
  for (const [path, toEdit] of Object.entries(edits)) {
    app.post(`/logs/rules/${path}`, async (req: FormRequest, reply) => {
      const project = await formProject(deps, req.body.project);
      return refusedOnPage(deps, req, reply, project, async () => {
        await editLogRules(editorOf(deps), project, toEdit(req.body));
        return doneKey(path, req.body.action);
      });
    });
  }
  app.post('/logs/rules/reset', async (req: FormRequest, reply) => {
    const project = await formProject(deps, req.body.project);
    await resetLogRules(editorOf(deps), project);
    return reply.redirect(`/logs/rules${queryString({ project: project.slug, done: 'reset' })}`, 303);
  });
}

const DONE: Record<string, string> = {
  added: 'Rule added: it applies to lines from now on.',
  saved: 'Rule saved: it applies to lines from now on.',
  deleted: 'Rule deleted.',
  off: 'Turned off.',
  on: 'Turned on.',
  reset: 'Back to the configured rules.',
};

function doneKey(path: string, action: string | undefined): string {
  if (path === 'enabled') return 'saved';
  if (action === 'add') return 'added';
  if (action === 'delete') return 'deleted';
  if (action === 'off') return 'off';
  return 'saved';
}

/** Runs an edit; a refused one shows the editor again with the reason and what was typed (never a 500). */
async function refusedOnPage(deps: WebDeps, req: FormRequest, reply: FastifyReply, project: Project, run: () => Promise<string>): Promise<unknown> {
  try {
    const done = await run();
    return await reply.redirect(`/logs/rules${queryString({ project: project.slug, done })}`, 303);
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    const projects = await deps.store.listProjects();
    const values = Object.fromEntries(Object.entries(req.body).filter((e): e is [string, string] => typeof e[1] === 'string' && e[0] !== '_csrf'));
    const data: LogRulesPageData = { ...(await rulesPageData(deps, projects, project)), error: { message: err.message, form: req.body.form ?? '', values } };
    return sendHtml(reply, logRulesPage(pageContext(deps, req), data), err.status);
  }
}

function forbiddenEdit(b: Record<string, string | undefined>): LogRuleEdit {
  const pattern = b.pattern ?? '';
  if (b.action === 'add') return { kind: 'forbidden', action: 'add', pattern };
  if (b.action === 'edit') return { kind: 'forbidden', action: 'edit', from: b.from ?? '', pattern };
  if (b.action === 'delete') return { kind: 'forbidden', action: 'delete', pattern };
  throw new ClientError(400, 'action must be add, edit or delete');
}

function rateEdit(b: Record<string, string | undefined>): LogRuleEdit {
  if (b.action === 'delete') return { kind: 'rate', action: 'delete', pattern: b.pattern ?? '' };
  const rule = { pattern: b.pattern ?? '', count: formNumber('count', b.count), windowSeconds: formNumber('window (seconds)', b.window_seconds) };
  if (b.action === 'add') return { kind: 'rate', action: 'add', rule };
  if (b.action === 'edit') return { kind: 'rate', action: 'edit', from: b.from ?? '', rule };
  throw new ClientError(400, 'action must be add, edit or delete');
}

function formNumber(label: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(n)) throw new ClientError(400, `${label}: a number is needed`);
  return n;
}

function editorOf(deps: WebDeps) {
  if (!deps.logRules) throw new ClientError(404, 'Log rules are not running on this server.');
  return { store: deps.store, rules: deps.logRules };
}

async function formProject(deps: WebDeps, slug: string | undefined): Promise<Project> {
  const project = slug ? await deps.store.getProject(slug) : null;
  if (!project) throw new ClientError(404, `No project "${slug ?? ''}".`);
  return project;
}

async function pickProject(deps: WebDeps, wanted: Query[string]): Promise<{ projects: Project[]; project: Project | null }> {
  const projects = await deps.store.listProjects();
  const slug = typeof wanted === 'string' ? wanted : undefined;
  return { projects, project: projects.find((p) => p.slug === slug) ?? projects[0] ?? null };
}

async function rulesPageData(deps: WebDeps, projects: Project[], project: Project): Promise<LogRulesPageData> {
  const stored = parseStoredLogRules((await deps.store.getProjectSettings(project.id))['log_rules']);
  const spec = deps.logRules ? resolveLogRules(deps.logRules.config, project.slug, stored.rules) : null;
  if (!spec) throw new ClientError(404, 'Log rules are not running on this server.');
  return { projects, project, spec, overridden: stored.rules !== null, overrideProblem: stored.problem, rules: await rulesOf(deps, project) };
}

async function rulesOf(deps: WebDeps, project: Project): Promise<RuleRow[]> {
  if (!deps.logs || !deps.logRules) return [];
  const rules = await deps.logRules.rulesFor(project.id);
  return ruleRows(rules?.spec ?? null, await deps.logs.ruleStates({ projectId: project.id }), deps.now());
}

/** A forbidden line links to the issue its event joined (few lines have one). */
async function issuesOf(deps: WebDeps, project: Project, lines: LogLine[]): Promise<Map<string, number>> {
  const issues = new Map<string, number>();
  for (const l of lines) {
    if (!l.eventId || issues.has(l.eventId)) continue;
    const event = await deps.store.getEvent(project.id, l.eventId);
    if (event) issues.set(l.eventId, event.issueId);
  }
  return issues;
}

function emptyFilters(): LogFilters {
  return { q: '', min_level: '', logger: '', rule: '', range: '', from: null, to: null };
}

/**
 * The page's query string → the store's query: the API's (words, `field:value`, `level:`,
 * `logger:` in `q`; `min_level`; `logger`; `before`) plus `rule`, a quick `range` (15m, 1h, 24h,
 * 7d back from now) or `from`/`to`. The page's script sends times as UTC; a time without a zone
 * (the form submitted without the script) is read as UTC.
 */
export function lineQuery(projectId: number, qs: Query, now: number): { query: LogQuery; filters: LogFilters } {
  const str = (name: string) => {
    const v = qs[name];
    return (Array.isArray(v) ? v[v.length - 1] : v)?.trim() ?? '';
  };
  const range = str('range');
  if (range && !(QUICK_RANGES as readonly string[]).includes(range)) parseDuration(range); // a 400 that names the shapes
  const from = range ? now - parseDuration(range) : str('from') ? webTime(str('from')) : null;
  const to = str('to') ? webTime(str('to')) : null;
  const query = searchQuery(projectId, {
    q: str('q') || undefined,
    min_level: str('min_level') || undefined,
    logger: str('logger') || undefined,
    rule: str('rule') || undefined,
    before: str('before') || undefined,
    ...(from !== null ? { from: String(from) } : {}),
    ...(to !== null ? { to: String(to) } : {}),
  });
  return { query, filters: { q: str('q'), min_level: str('min_level'), logger: str('logger'), rule: str('rule'), range, from, to } };
}

function webTime(text: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? parseTime(`${text}Z`) : parseTime(text);
  if (Math.abs(ms) > 8.64e15) throw new ClientError(400, `"${text}" is not a time`);
  return ms;
}
