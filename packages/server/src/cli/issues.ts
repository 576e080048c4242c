import { presentIssue } from '../http/present.js';
import { relativeTime } from '../lib/readable-time.js';
import { ISSUE_STATUSES, LEVEL_LABEL, type Issue, type IssueStatus } from '../store/model.js';
import type { ISSUE_SORTS } from './choices.js';
import { printJson, withStore } from './context.js';


export interface IssuesOptions {
  project: string;
  json?: boolean;
  status?: string;
  sort?: (typeof ISSUE_SORTS)[number];
  /** Parsed and range-checked by commander (cli/options.ts). */
  limit?: number;
}

/** `botpulse issues --project <slug>`: the top issues, newest activity first by default. */
export async function listIssues(opts: IssuesOptions): Promise<void> {
  const statuses = (opts.status ?? 'new,in_progress').split(',').map((s) => s.trim()).filter(Boolean) as IssueStatus[];
  const bad = statuses.filter((s) => !ISSUE_STATUSES.includes(s));
  if (bad.length) throw new Error(`unknown status ${bad.join(', ')}; use a comma-separated list of ${ISSUE_STATUSES.join(', ')}`);
  await withStore(async (store) => {
    const project = await store.getProject(opts.project);
    if (!project) throw new Error(`no project "${opts.project}"; see \`botpulse project list\``);
    const { issues, total } = await store.listIssues({ projectId: project.id, status: statuses, sort: opts.sort ?? 'last_seen', limit: opts.limit ?? 25 });
    if (opts.json) return printJson(issues.map(presentIssue));
    if (issues.length === 0) return void process.stdout.write(`no ${statuses.join(' or ')} issues in ${project.slug}\n`);
    process.stdout.write(issueTable(issues, Date.now()));
    if (total > issues.length) process.stdout.write(`${issues.length} of ${total}; more with --limit\n`);
  });
}

/** A table with a header; levels named as the dashboard names them (fatal reads "critical"). */
export function issueTable(issues: Issue[], now: number): string {
  const header = ['ID', 'STATUS', 'LEVEL', 'EVENTS', 'USERS', 'LAST SEEN', 'TITLE'];
  const rows = issues.map((i) => [i.shortId, i.status, LEVEL_LABEL[i.level] ?? i.level, String(i.eventCount), String(i.userCount), relativeTime(i.lastSeen, now), i.title.replace(/\s+/g, ' ')]);
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col]!.length)));
  const line = (cells: string[]) => cells.map((c, col) => (col === cells.length - 1 ? c : c.padEnd(widths[col]!))).join('  ').trimEnd() + '\n';
  return [header, ...rows].map(line).join('');
}
