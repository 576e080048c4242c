import { presentProject } from '../http/present.js';
import { shortIdPrefixProblem, SlugTakenError } from '../store/naming.js';
import { printJson, withStore } from './context.js';
import { progressLine } from './progress.js';

export async function projectCreate(name: string, opts: { json?: boolean; slug?: string; prefix?: string }): Promise<void> {
  const problem = opts.prefix === undefined ? null : shortIdPrefixProblem(opts.prefix);
  if (problem) throw new Error(`${problem} (--prefix)`);
  await withStore(async (store, config) => {
    // A taken slug is refused by the store (SlugTakenError); the CLI adds how to get a new project.
    const project = await store.createProject({ name, ...(opts.slug ? { slug: opts.slug } : {}), ...(opts.prefix ? { shortIdPrefix: opts.prefix } : {}) }).catch((err: unknown) => {
      if (!(err instanceof SlugTakenError)) throw err;
      throw new Error(`${err.message}; see \`botpulse project list\`, or give the new one another name or --slug`);
    });
    const shown = presentProject(project, config.publicUrl);
    if (opts.json) return printJson(shown);
    process.stdout.write(`created project "${shown.slug}" (short ids ${shown.shortIdPrefix}-001...)\nDSN: ${shown.dsn}\n`);
  });
}

export async function projectList(opts: { json?: boolean }): Promise<void> {
  await withStore(async (store, config) => {
    const projects = (await store.listProjects()).map((p) => presentProject(p, config.publicUrl));
    if (opts.json) return printJson(projects);
    if (projects.length === 0) return void process.stdout.write('no projects yet: botpulse project create <name>\n');
    for (const p of projects) process.stdout.write(`${p.slug}\t${p.name}\t${p.dsn}\n`);
  });
}

/**
 * `botpulse project delete <slug> --yes`: the project and all its data, with progress on standard
 * error. Without --yes it only says what would go. A running server keeps answering the DSN until
 * it restarts (it caches projects), so the docs say to stop or restart it.
 */
export async function projectDelete(slug: string, opts: { yes?: boolean; json?: boolean }): Promise<void> {
  await withStore(async (store) => {
    const project = await store.getProject(slug);
    if (!project) throw new Error(`no project "${slug}"; see \`botpulse project list\``);
    if (!opts.yes) {
      const { total } = await store.listIssues({ projectId: project.id, limit: 1 });
      process.stderr.write(
        `botpulse: this deletes project "${project.slug}" ("${project.name}") with its ${total} issue(s), their events, monitors and alert state; ` +
          `its DSN stops working. Run again with --yes to delete.\n`,
      );
      process.exitCode = 2;
      return;
    }
    // The dashboard's deletion, a chunk at a time: ingestion refuses the project from the start.
    await store.startProjectDeletion(project.id, Date.now());
    const progress = progressLine(`deleting project "${project.slug}"`);
    let deleted = 0;
    for (;;) {
      const chunk = await store.deleteProjectChunk(project.id, 2000);
      deleted += chunk.deleted;
      if (chunk.done) break;
      progress.update(`${deleted} rows deleted so far`);
    }
    progress.done();
    if (opts.json) return printJson({ rows: deleted });
    const summary = `${deleted} row(s) of data`;
    process.stdout.write(`deleted project "${project.slug}" and ${summary}; its DSN is refused from now\n`);
  });
}
