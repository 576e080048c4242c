import type { Kysely } from 'kysely';
import type { Project } from './model.js';
import { newPublicKey, shortIdPrefixFor, slugify, SlugTakenError } from './naming.js';
import { toProject } from './rows.js';
import type { Database } from './schema.js';
import type { NewProject } from './store.js';

/** Project reads and edits written once in Kysely for every store (the dialects agree on them). */

export async function listProjects(db: Kysely<Database>): Promise<Project[]> {
  return (await db.selectFrom('projects').selectAll().orderBy('id').execute()).map(toProject);
}

/** How many times a create retries after another writer took the slug it picked. */
const SLUG_RACE_RETRIES = 5;

/**
 * A new project. A taken slug is refused (SlugTakenError names the project holding it) unless the
 * caller asks for `slugTaken: 'suffix'` (`pay-bot-2`): a person asking twice for `pay-bot` most
 * likely did not mean a second project. `isUniqueViolation` reads the dialect's error: two writers
 * may pick one slug at once, the unique index refuses the second, which looks again.
 */
export async function createProject(db: Kysely<Database>, input: NewProject, isUniqueViolation: (err: unknown) => boolean): Promise<Project> {
  const name = input.name.trim();
  if (!name) throw new Error('project name must not be empty');
  const base = slugify(input.slug ?? name);
  for (let attempt = 0; ; attempt++) {
    try {
      const row = await db
        .insertInto('projects')
        .values({
          slug: await slugFor(db, base, input.slugTaken ?? 'refuse'),
          name,
          public_key: newPublicKey(),
          short_id_prefix: (input.shortIdPrefix ?? shortIdPrefixFor(name)).toUpperCase(),
          link_templates: JSON.stringify(input.linkTemplates ?? []),
          created_at: Date.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toProject(row);
    } catch (err) {
      if (attempt >= SLUG_RACE_RETRIES || !isUniqueViolation(err)) throw err;
    }
  }
}

async function slugFor(db: Kysely<Database>, base: string, whenTaken: 'refuse' | 'suffix'): Promise<string> {
  // slugify leaves only [a-z0-9-], so the LIKE pattern has no wildcard but the trailing one.
  const rows = await db.selectFrom('projects').select(['slug', 'name']).where('slug', 'like', `${base}%`).execute();
  const holder = rows.find((r) => r.slug === base);
  if (!holder) return base;
  if (whenTaken === 'refuse') throw new SlugTakenError(base, holder.name);
  const taken = new Set(rows.map((r) => r.slug));
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
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
