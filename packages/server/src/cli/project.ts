import { presentProject } from '../http/present.js';
import { printJson, withStore } from './context.js';

export async function projectCreate(name: string, opts: { json?: boolean; slug?: string; prefix?: string }): Promise<void> {
  await withStore(async (store, config) => {
    const project = await store.createProject({
      name,
      ...(opts.slug ? { slug: opts.slug } : {}),
      ...(opts.prefix ? { shortIdPrefix: opts.prefix } : {}),
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
