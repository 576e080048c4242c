import type { Kysely } from 'kysely';
import type { Project } from './model.js';
import { toProject } from './rows.js';
import type { Database } from './schema.js';

/** Project reads and edits written once in Kysely for every store (the dialects agree on them). */

export async function listProjects(db: Kysely<Database>): Promise<Project[]> {
  return (await db.selectFrom('projects').selectAll().orderBy('id').execute()).map(toProject);
}

/** By id (a number, or digits) or slug; an id past 2^53 names no project. */
export async function getProject(db: Kysely<Database>, idOrSlug: number | string): Promise<Project | null> {
  const query = db.selectFrom('projects').selectAll();
  const asNumber = typeof idOrSlug === 'number' ? idOrSlug : /^\d+$/.test(idOrSlug) ? Number(idOrSlug) : null;
  if (asNumber !== null && !Number.isSafeInteger(asNumber)) return null;
  const row = await (asNumber !== null ? query.where('id', '=', asNumber) : query.where('slug', '=', String(idOrSlug))).executeTakeFirst();
  return row ? toProject(row) : null;
}

export async function updateProject(db: Kysely<Database>, id: number, patch: Partial<Pick<Project, 'name' | 'shortIdPrefix' | 'linkTemplates'>>): Promise<Project> {
  const values: Record<string, string> = {};
  if (patch.name !== undefined) values.name = patch.name;
  if (patch.shortIdPrefix !== undefined) values.short_id_prefix = patch.shortIdPrefix.toUpperCase();
  if (patch.linkTemplates !== undefined) values.link_templates = JSON.stringify(patch.linkTemplates);
  if (Object.keys(values).length) await db.updateTable('projects').set(values).where('id', '=', id).execute();
  const project = await getProject(db, id);
  if (!project) throw new Error(`no project with id ${id}`);
  return project;
}
