import { sql, type Kysely } from 'kysely';
import { asRole, type ApiTokenSummary, type Role, type UserSummary } from './model.js';
import { hashToken, newApiToken, newPublicKey } from './naming.js';
import { getProject } from './project-queries.js';
import type { Project } from './model.js';
import type { Database } from './schema.js';

/**
 * Users, API tokens and project keys, written once in Kysely for every store (the dialects agree
 * on them). Only hashes of tokens and passwords are ever stored.
 */

/** A token's `last_used_at` is written at most this often, so the API is not a stream of writes. */
const LAST_USE_EVERY_MS = 60_000;

export async function addUser(db: Kysely<Database>, login: string, passwordHash: string, role: Role | undefined): Promise<void> {
  await db
    .insertInto('users')
    .values({ login, password_hash: passwordHash, created_at: Date.now(), ...(role ? { role } : {}) })
    .onConflict((oc) => oc.column('login').doUpdateSet({ password_hash: passwordHash, ...(role ? { role } : {}) }))
    .execute();
}

export async function getUser(db: Kysely<Database>, login: string): Promise<{ login: string; passwordHash: string; role: Role } | null> {
  const row = await db.selectFrom('users').select(['login', 'password_hash', 'role']).where('login', '=', login).executeTakeFirst();
  return row ? { login: row.login, passwordHash: row.password_hash, role: asRole(row.role) } : null;
}

export async function listUsers(db: Kysely<Database>): Promise<UserSummary[]> {
  const rows = await db.selectFrom('users').select(['login', 'role', 'created_at']).orderBy('login').execute();
  return rows.map((r) => ({ login: r.login, role: asRole(r.role), createdAt: Number(r.created_at) }));
}

/** Removes the user and ends their sessions; false when there was no such user. */
export async function removeUser(db: Kysely<Database>, login: string): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    await sql`DELETE FROM web_sessions WHERE login = ${login}`.execute(tx);
    const result = await tx.deleteFrom('users').where('login', '=', login).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  });
}

export async function setUserRole(db: Kysely<Database>, login: string, role: Role): Promise<boolean> {
  const result = await db.updateTable('users').set({ role }).where('login', '=', login).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** A new password; the user's sessions end (whoever had the old password is logged out). */
export async function setUserPassword(db: Kysely<Database>, login: string, passwordHash: string): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const result = await tx.updateTable('users').set({ password_hash: passwordHash }).where('login', '=', login).executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return false;
    await sql`DELETE FROM web_sessions WHERE login = ${login}`.execute(tx);
    return true;
  });
}

export async function createApiToken(db: Kysely<Database>, label: string, role: Role | undefined): Promise<{ token: string; id: number }> {
  const token = newApiToken();
  const row = await db
    .insertInto('api_tokens')
    .values({ label, token_hash: hashToken(token), created_at: Date.now(), ...(role ? { role } : {}) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { token, id: Number(row.id) };
}

/** The token's identity, its last use noted (at most once a minute); null for an unknown or revoked token. */
export async function findApiToken(db: Kysely<Database>, token: string, now: number): Promise<ApiTokenSummary | null> {
  const row = await db.selectFrom('api_tokens').select(['id', 'label', 'role', 'created_at', 'last_used_at']).where('token_hash', '=', hashToken(token)).executeTakeFirst();
  if (!row) return null;
  const lastUsedAt = row.last_used_at === null ? null : Number(row.last_used_at);
  if (lastUsedAt === null || now - lastUsedAt >= LAST_USE_EVERY_MS) {
    await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
  }
  return { id: Number(row.id), label: row.label, role: asRole(row.role), createdAt: Number(row.created_at), lastUsedAt: lastUsedAt === null || now - lastUsedAt >= LAST_USE_EVERY_MS ? now : lastUsedAt };
}

export async function listApiTokens(db: Kysely<Database>): Promise<ApiTokenSummary[]> {
  const rows = await db.selectFrom('api_tokens').select(['id', 'label', 'role', 'created_at', 'last_used_at']).orderBy('id').execute();
  return rows.map((r) => ({ id: Number(r.id), label: r.label, role: asRole(r.role), createdAt: Number(r.created_at), lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at) }));
}

export async function revokeApiToken(db: Kysely<Database>, id: number): Promise<boolean> {
  if (!Number.isSafeInteger(id)) return false;
  const result = await db.deleteFrom('api_tokens').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * A new DSN key; the current one becomes the previous key, accepted until `now + graceMs`
 * (a key rotated twice within the grace period loses the oldest at once).
 */
export async function rotateProjectKey(db: Kysely<Database>, id: number, graceMs: number, now: number): Promise<Project> {
  await db
    .updateTable('projects')
    .set((eb) => ({ previous_public_key: eb.ref('public_key'), previous_key_expires_at: now + graceMs, public_key: newPublicKey() }))
    .where('id', '=', id)
    .execute();
  const project = await getProject(db, id);
  if (!project) throw new Error(`no project with id ${id}`);
  return project;
}
