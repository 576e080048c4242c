import { presentIssue } from '../http/present.js';
import { ISSUE_STATUSES, type IssueStatus } from '../store/model.js';
import { printJson, withStore } from './context.js';

export interface IssuesOptions {
  project: string;
  json?: boolean;
  status?: string;
  sort?: 'last_seen' | 'count' | 'users';
  limit?: string;
}

/** `botpulse issues --project <slug>`: the top issues, newest activity first by default. */
export async function listIssues(opts: IssuesOptions): Promise<void> {
  await withStore(async (store) => {
    const project = await store.getProject(opts.project);
    if (!project) throw new Error(`no project "${opts.project}"; see \`botpulse project list\``);
    const statuses = (opts.status ?? 'new,in_progress').split(',').filter(Boolean) as IssueStatus[];
    const bad = statuses.filter((s) => !ISSUE_STATUSES.includes(s));
    if (bad.length) throw new Error(`unknown status ${bad.join(', ')}; use ${ISSUE_STATUSES.join(', ')}`);
    const { issues } = await store.listIssues({
      projectId: project.id,
      status: statuses,
      sort: opts.sort ?? 'last_seen',
      limit: Number(opts.limit ?? 25),
    });
    if (opts.json) return printJson(issues.map(presentIssue));
    if (issues.length === 0) return void process.stdout.write('no issues\n');
    for (const i of issues) {
      process.stdout.write(`${i.shortId}\t${i.status}\t${i.level}\t${i.eventCount}\t${new Date(i.lastSeen).toISOString()}\t${i.title}\n`);
    }
  });
}
