import { roleAtLeast } from '../../store/model.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ClientError } from '../../lib/errors.js';
import { withQueryParameter } from '../../lib/safe-redirect.js';
import { parseDuration } from '../../lib/time.js';
import { ISSUE_STATUSES, type Actor, type Issue, type IssueStatus, type Project, type StoredEvent } from '../../store/model.js';
import { FORBIDDEN_FINGERPRINT, forbiddenKey } from '../../logs/rules.js';
import { queryString } from '../html.js';
import { MAX_NOTE_LENGTH } from '../../store/issue-story.js';
import type { StatusChange } from '../../store/store.js';
import { pageContext, safeNext, sendHtml, sessionOf, type WebDeps } from '../context.js';
import type { GithubService } from '../../github/service.js';
import { readListState, toSearch } from '../query.js';
import { hourlySeries } from '../views/components.js';
import { issueListPage } from '../views/issue-list.js';
import { issuePage, type IssueLogLines } from '../views/issue-page.js';
import { ownEntry } from '../../lib/own-entry.js';

const HOUR = 3_600_000;
const EVENTS_PER_PAGE = 20;
const CHART_HOURS = 14 * 24;

type IdParams = { Params: { id: string } };

export function issueRoutes(app: FastifyInstance, deps: WebDeps): void {
  app.get('/issues', async (req, reply) => {
    const state = readListState(req.query as Record<string, unknown>);
    const now = deps.now();
    const projects = await deps.store.listProjects();
    const project = projects.find((p) => p.slug === state.project);
    const search = toSearch(state, now, projects, sessionOf(req).login);
    const [result, statusCounts, releases, quarantine] = await Promise.all([
      deps.store.searchIssues(search),
      deps.store.issueStatusCounts(project?.id),
      deps.store.listReleases(project?.id, 30),
      deps.store.quarantineSummary(),
    ]);
    const hourly = await deps.store.issueHourlyCounts(result.issues.map((i) => i.id), Math.floor(now / HOUR) - 23);
    const flash = flashMessage((req.query as { done?: string }).done);
    const data = {
      state, ...result, statusCounts, hourly, projects, releases: releases.map((r) => r.version), ...(flash ? { flash } : {}),
      ...(quarantine.rows ? { quarantine: { rows: quarantine.rows, latestError: quarantine.latest?.error ?? null } } : {}),
      ...(deps.upstreamLines?.().length ? { upstream: deps.upstreamLines() } : {}),
    };
    return sendHtml(reply, issueListPage(pageContext(deps, req), data));
  });

  app.post('/issues/bulk', async (req: FastifyRequest<{ Body: Record<string, unknown> }>, reply) => {
    const body = req.body ?? {};
    const ids = [body.ids].flat().map((v) => Number(v)).filter((n) => Number.isInteger(n) && n > 0).slice(0, 500);
    const change = { ...bulkChange(String(body.action ?? '')), actor: userActor(req) };
    let changed = 0;
    for (const id of ids) {
      // An id from a stale page may be gone (never from this form otherwise): skip it, don't fail the rest.
      if (!(await deps.store.getIssue(id))) continue;
      await deps.store.setIssueStatus(id, change);
      changed += 1;
    }
    return reply.redirect(withQueryParameter(safeNext(body.back), 'done', `${change.status}:${changed}`), 303);
  });

  app.get('/issues/:id', async (req: FastifyRequest<IdParams & { Querystring: { event?: string; before?: string; done?: string } }>, reply) => {
    const issue = await issueOr404(deps, req.params.id);
    const project = (await deps.store.getProject(issue.projectId))!;
    const before = /^\d+$/.test(req.query.before ?? '') ? Number(req.query.before) : undefined;
    const now = deps.now();
    const [events, picked, hourly, tags, history, users] = await Promise.all([
      deps.store.listEvents(issue.id, { limit: EVENTS_PER_PAGE + 1, ...(before !== undefined ? { before } : {}) }),
      req.query.event ? deps.store.getEvent(issue.projectId, req.query.event) : Promise.resolve(null),
      deps.store.issueHourlyCounts([issue.id], Math.floor(now / HOUR) - CHART_HOURS + 1),
      deps.store.issueTags(issue.id),
      deps.store.issueHistory(issue.id),
      deps.store.userLogins(),
    ]);
    const page = events.slice(0, EVENTS_PER_PAGE);
    const event = picked && picked.issueId === issue.id ? picked : (page[0] ?? (await deps.store.latestEvent(issue.id)));
    const series = hourlySeries(hourly.get(issue.id) ?? [], now, CHART_HOURS);
    const flash = flashMessage(req.query.done);
    const logLines = await matchingLogLines(deps, issue, project, event);
    return sendHtml(
      reply,
      issuePage(pageContext(deps, req), {
        issue,
        project,
        event,
        events: page,
        olderThan: events.length > EVENTS_PER_PAGE ? page[page.length - 1]!.id : null,
        chart: { startMs: series.startHour * HOUR, stepMs: HOUR, counts: series.counts },
        tags,
        history,
        users,
        ...(flash ? { flash } : {}),
        ...(logLines ? { logLines } : {}),
        ...(deps.github ? { github: await githubView(deps.github, issue, project) } : {}),
      }),
    );
  });

  app.post('/issues/:id/github', async (req: FastifyRequest<IdParams>, reply) => {
    const issue = await issueOr404(deps, req.params.id);
    if (!deps.github) throw new ClientError(404, 'GitHub is not set up on this Botpulse (docs/github.md).');
    await deps.github.requestCreate(issue, `dashboard:${sessionOf(req).login}`);
    return reply.redirect(`/issues/${issue.id}?done=github:1`, 303);
  });

  app.post('/issues/:id/status', async (req: FastifyRequest<IdParams & { Body: Record<string, unknown> }>, reply) => {
    const issue = await issueOr404(deps, req.params.id);
    const change = { ...statusChange(req.body ?? {}, deps.now()), actor: userActor(req) };
    await deps.store.setIssueStatus(issue.id, change);
    return reply.redirect(`/issues/${issue.id}?done=${change.status}:1`, 303);
  });

  /**
   * An event's attachment, as a download: always application/octet-stream with nosniff and
   * Content-Disposition: attachment, so a bot's HTML or SVG file is never rendered on this origin.
   */
  app.get('/issues/:id/events/:eventId/attachments/:n', async (req: FastifyRequest<{ Params: { id: string; eventId: string; n: string } }>, reply) => {
    // A bot's attachments may hold users' data: members and admins download them, viewers do not.
    if (!roleAtLeast(sessionOf(req).role, 'member')) throw new ClientError(403, 'Your role (viewer) cannot download attachments: it needs a member or an admin.');
    const issue = await issueOr404(deps, req.params.id);
    const event = await deps.store.getEvent(issue.projectId, req.params.eventId);
    const index = /^\d{1,4}$/.test(req.params.n) ? Number(req.params.n) : -1;
    const attachment = event && event.issueId === issue.id && index >= 0 ? await deps.store.getAttachment(issue.projectId, event.eventId, index) : null;
    if (!attachment) throw new ClientError(404, `Event ${req.params.eventId} of ${issue.shortId} has no attachment ${req.params.n}; it may have been pruned.`);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('x-content-type-options', 'nosniff')
      .header('content-disposition', contentDisposition(attachment.filename))
      .header('cache-control', 'private, no-store')
      .send(attachment.data);
  });

  app.post('/issues/:id/assign', async (req: FastifyRequest<IdParams & { Body: Record<string, unknown> }>, reply) => {
    const issue = await issueOr404(deps, req.params.id);
    const wanted = typeof req.body?.assignee === 'string' ? req.body.assignee.trim() : '';
    const assignee = wanted === 'me' ? sessionOf(req).login : wanted || null;
    if (assignee !== null && !(await deps.store.getUser(assignee))) {
      throw new ClientError(400, `There is no dashboard user "${assignee}"; an issue is assigned to a user who can log in.`);
    }
    await deps.store.assignIssue(issue.id, assignee, userActor(req));
    return reply.redirect(`/issues/${issue.id}?done=${assignee ? 'assigned' : 'unassigned'}:1`, 303);
  });

  app.post('/issues/:id/notes', async (req: FastifyRequest<IdParams & { Body: Record<string, unknown> }>, reply) => {
    const issue = await issueOr404(deps, req.params.id);
    const text = typeof req.body?.text === 'string' ? req.body.text.trim() : '';
    if (!text) throw new ClientError(400, 'A note needs some text.');
    if (text.length > MAX_NOTE_LENGTH) throw new ClientError(400, `A note is at most ${MAX_NOTE_LENGTH} characters; this one has ${text.length}.`);
    await deps.store.addIssueHistory(issue.id, userActor(req), 'note', { text });
    return reply.redirect(`/issues/${issue.id}?done=noted:1#history`, 303);
  });
}

/** `attachment; filename="…"` with an ASCII fallback and the exact name in RFC 5987 form. */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_').slice(0, 150) || 'attachment';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename.slice(0, 150))}`;
}

/** The dashboard user behind a request, for the issue's history. */
function userActor(req: FastifyRequest): Actor {
  return { kind: 'user', name: sessionOf(req).login };
}

async function githubView(github: GithubService, issue: Issue, project: Project) {
  const settings = await github.settings(project);
  return { link: await github.links.getLink(issue.id), configured: settings.repo !== null && settings.token !== null, disabled: settings.disabled };
}

async function issueOr404(deps: WebDeps, id: string): Promise<Issue> {
  const issue = /^\d+$/.test(id) ? await deps.store.getIssue(Number(id)) : null;
  if (!issue) throw new ClientError(404, `There is no issue ${id}; it may have been deleted.`);
  return issue;
}

function bulkChange(action: string): StatusChange {
  if (action === 'resolve') return { status: 'resolved' };
  if (action === 'resolve_next') return { status: 'resolved', inNextRelease: true };
  if (action === 'ignore') return { status: 'ignored' };
  if (action === 'in_progress') return { status: 'in_progress' };
  throw new ClientError(400, `unknown bulk action "${action}"`);
}

/** The issue page's forms: a status, with a fix release for resolve and a time or count for ignore. */
export function statusChange(body: Record<string, unknown>, now: number): StatusChange {
  const status = String(body.status ?? '') as IssueStatus;
  if (!ISSUE_STATUSES.includes(status)) throw new ClientError(400, `"${status}" is not a status`);
  const text = (key: string) => (typeof body[key] === 'string' ? (body[key] as string).trim() : '');
  if (status === 'resolved' && body.inNextRelease) return { status, inNextRelease: true };
  if (status === 'resolved') return { status, inRelease: text('inRelease').slice(0, 200) || null };
  if (status !== 'ignored') return { status };
  const count = Number.parseInt(text('ignoreForEvents'), 10);
  return {
    status,
    ignoreUntil: text('ignoreFor') ? now + parseDuration(text('ignoreFor')) : null,
    ignoreForEvents: Number.isInteger(count) && count > 0 ? count : null,
  };
}

const DONE: Record<string, string> = {
  resolved: 'Resolved', ignored: 'Ignored', in_progress: 'Marked in progress', new: 'Reopened', assigned: 'Assigned', unassigned: 'Unassigned', noted: 'Added a note to',
  github: 'Asked GitHub for an issue for',
};

/** `?done=resolved:3` after a redirect → "Resolved 3 issues." */
function flashMessage(done: unknown): string | undefined {
  const m = typeof done === 'string' ? /^(\w+):(\d+)$/.exec(done) : null;
  const verb = m ? ownEntry(DONE, m[1]!) : undefined;
  if (!verb) return undefined;
  const n = Number(m![2]);
  return `${verb} ${n} issue${n === 1 ? '' : 's'}.`;
}

/** Lines an issue page shows of a log-born issue (the newest; the Logs page has the rest). */
const ISSUE_LOG_LINES = 20;

/**
 * The lines that matched the forbidden pattern a log-born issue stands for (docs/logs.md), newest
 * first: the pattern from the event's fingerprint (logs/evaluator.ts forbiddenEvent), else its tag.
 */
async function matchingLogLines(deps: WebDeps, issue: Issue, project: Project, event: StoredEvent | null): Promise<IssueLogLines | null> {
  if (!deps.logs || !event) return null;
  const fingerprint = (event.payload as { fingerprint?: unknown }).fingerprint;
  const pattern = Array.isArray(fingerprint) && fingerprint[0] === FORBIDDEN_FINGERPRINT && typeof fingerprint[1] === 'string'
    ? fingerprint[1]
    : event.tags['log.rule'] === 'forbidden' ? event.tags['log.pattern'] : undefined;
  if (!pattern) return null;
  const rule = forbiddenKey(pattern);
  const lines = await deps.logs.searchLines({ projectId: issue.projectId, rule, limit: ISSUE_LOG_LINES });
  return { pattern, lines, href: `/logs${queryString({ project: project.slug, rule })}`, limit: ISSUE_LOG_LINES };
}
