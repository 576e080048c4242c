import { ISSUE_STATUSES, type IssueStatus, type Project } from '../store/model.js';
import { countBoundFor } from '../store/issue-queries.js';
import type { IssueSearch } from '../store/store.js';
import { ownEntry } from '../lib/own-entry.js';

/** The saved views: seed 004's queries, one click each. */
export const VIEWS = {
  unresolved: { label: 'Unresolved', hint: 'new and in progress, latest first' },
  mine: { label: 'Assigned to me', hint: 'unresolved issues assigned to you' },
  today: { label: 'Most frequent today', hint: 'events since 00:00 UTC, any status' },
  untracked: { label: 'Recurring, untracked', hint: '≥ 5 events, unresolved, no GitHub issue' },
  critical: { label: 'Open critical', hint: 'level critical, new or in progress' },
  http5xx: { label: 'HTTP 5xx, last hour', hint: 'last status 500–599, seen in the last hour' },
} as const;
export type ViewName = keyof typeof VIEWS;

export const PERIODS: Record<string, number> = { '1h': 3600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '14d': 14 * 86_400_000, '30d': 30 * 86_400_000 };
export const SORTS = { last_seen: 'Last seen', count: 'Events', users: 'Users', first_seen: 'First seen' } as const;
export type SortName = keyof typeof SORTS;
export const PAGE_SIZE = 50;

/** The list's state as it appears in the URL; links are built from it so filters survive navigation. */
export interface ListState {
  view: ViewName;
  /** A status, `unresolved` (new + in progress) or `all`; empty means the view's default. */
  status: string;
  q: string;
  project: string;
  level: string;
  origin: string;
  environment: string;
  release: string;
  period: string;
  sort: string;
  page: number;
}

export function readListState(query: Record<string, unknown>): ListState {
  const str = (key: string, max = 200) => (typeof query[key] === 'string' ? (query[key] as string).trim().slice(0, max) : '');
  const view = str('view') in VIEWS ? (str('view') as ViewName) : 'unresolved';
  const page = Math.max(1, Math.min(10_000, Number.parseInt(str('page'), 10) || 1));
  return {
    view,
    status: ['unresolved', 'all', ...ISSUE_STATUSES].includes(str('status')) ? str('status') : '',
    q: str('q', 500),
    project: str('project'),
    level: str('level'),
    origin: str('origin'),
    environment: str('environment'),
    release: str('release'),
    period: str('period') in PERIODS ? str('period') : '',
    sort: str('sort') in SORTS ? str('sort') : '',
    page,
  };
}

/** The URL parameters of a state, leaving defaults out so links stay short. */
export function stateParams(state: ListState, change: Partial<ListState> = {}): Record<string, string | number | undefined> {
  const s = { ...state, ...change };
  return {
    view: s.view === 'unresolved' ? undefined : s.view,
    status: s.status || undefined,
    q: s.q || undefined,
    project: s.project || undefined,
    level: s.level || undefined,
    origin: s.origin || undefined,
    environment: s.environment || undefined,
    release: s.release || undefined,
    period: s.period || undefined,
    sort: s.sort || undefined,
    page: s.page > 1 ? s.page : undefined,
  };
}

/** Turns the state into a store search: the view's conditions, then the user's filters on top. */
export function toSearch(state: ListState, now: number, projects: Project[], login?: string): IssueSearch {
  const offset = (state.page - 1) * PAGE_SIZE;
  // The count stops 1,000 past the page ("of 1,050+"): an exact one reads every match.
  const search: IssueSearch = { ...viewSearch(state.view, now), limit: PAGE_SIZE, offset, countUpTo: countBoundFor(PAGE_SIZE, offset) };
  // Nobody logged in has nothing assigned: an empty login matches no issue rather than every one.
  if (state.view === 'mine') search.assignee = login ?? '';
  if (state.status) search.status = statusFilter(state.status);
  const project = projects.find((p) => p.slug === state.project);
  if (project) search.projectId = project.id;
  if (state.level) search.level = state.level;
  if (state.origin) search.origin = state.origin;
  if (state.environment) search.environment = state.environment;
  if (state.release) search.release = state.release;
  if (state.period) search.since = now - PERIODS[state.period]!;
  if (state.sort) search.sort = state.sort as SortName;
  applyQueryText(search, state.q);
  return search;
}

function viewSearch(view: ViewName, now: number): IssueSearch {
  const open: IssueStatus[] = ['new', 'in_progress'];
  switch (view) {
    case 'today':
      return { eventsSince: startOfUtcDay(now) };
    case 'untracked':
      return { status: open, minEvents: 5, untracked: true, sort: 'count' };
    case 'critical':
      return { status: open, level: 'fatal' };
    case 'http5xx':
      return { httpStatus: { from: 500, to: 599 }, since: now - 3600_000 };
    default:
      return { status: open };
  }
}

function statusFilter(status: string): IssueStatus[] | undefined {
  if (status === 'all') return undefined;
  if (status === 'unresolved') return ['new', 'in_progress'];
  return [status as IssueStatus];
}

export function startOfUtcDay(now: number): number {
  return now - (now % 86_400_000);
}

const LEVEL_ALIASES: Record<string, string> = { critical: 'fatal', fatal: 'fatal', error: 'error', warning: 'warning', warn: 'warning', info: 'info', debug: 'debug' };

/**
 * The search box: `key:value` tokens (value may be "quoted") become filters (`is:`, `level:`,
 * `origin:`, `env:`, `release:`) or tag conditions; the remaining words are free text.
 */
export function applyQueryText(search: IssueSearch, q: string): void {
  const words: string[] = [];
  const tokens = q.match(/(?:[^\s"]+:"[^"]*"|"[^"]*"|\S+)/g) ?? [];
  for (const token of tokens) {
    const m = /^([\w.-]+):(?:"([^"]*)"|(.+))$/.exec(token);
    if (!m) {
      words.push(token.replace(/^"|"$/g, ''));
      continue;
    }
    const key = m[1]!.toLowerCase();
    const value = m[2] ?? m[3]!;
    if (key === 'is' && (ISSUE_STATUSES as string[]).concat('unresolved', 'all').includes(value)) search.status = statusFilter(value);
    else if (key === 'level') search.level = ownEntry(LEVEL_ALIASES, value.toLowerCase()) ?? value;
    else if (key === 'origin') search.origin = value;
    else if (key === 'env' || key === 'environment') search.environment = value;
    else if (key === 'release') search.release = value;
    else if (key === 'assigned' || key === 'assignee') search.assignee = value;
    else search.tags = { ...search.tags, [m[1]!]: value };
  }
  const text = words.join(' ').trim();
  if (text) search.text = text;
}
