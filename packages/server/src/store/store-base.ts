import type { Kysely } from 'kysely';
import * as access from './access-queries.js';
import { capIssues, projectStorage, type CapResult, type IssueCaps } from './issue-caps.js';
import { getAttachment, getEvent, listEvents } from './issue-queries.js';
import type { IssueStory } from './issue-story.js';
import type { Actor, ApiTokenSummary, Issue, IssueHistoryEntry, Project, ReleaseSummary, Role, StoredAttachment, StoredEvent, UserSummary } from './model.js';
import * as deletion from './project-deletion.js';
import { createProject, getProject, listProjects, updateProject } from './project-queries.js';
import { toSpoolRow, type SpoolDbRow } from './rows.js';
import type { Database } from './schema.js';
import type { NewProject, SpoolRow, StatusChange, Store } from './store.js';

/** The Store methods both databases answer with the same code (below). */
type SharedMethod =
  | 'createProject' | 'listProjects' | 'getProject' | 'updateProject' | 'rotateProjectKey'
  | 'startProjectDeletion' | 'deleteProjectChunk' | 'projectDataLeft' | 'deleteProject'
  | 'listRawItems'
  | 'setIssueStatus' | 'assignIssue' | 'addIssueHistory' | 'issueHistory' | 'releaseSummaries'
  | 'userLogins' | 'setUserTelegram' | 'loginForTelegram'
  | 'latestEvent' | 'listEvents' | 'getEvent' | 'capIssues' | 'projectStorage' | 'getAttachment'
  | 'createApiToken' | 'verifyApiToken' | 'findApiToken' | 'listApiTokens' | 'revokeApiToken'
  | 'addUser' | 'getUser' | 'listUsers' | 'removeUser' | 'setUserRole' | 'setUserPassword';

/**
 * What SqliteStore and PostgresStore share: the methods that only hand their arguments to the
 * dialect-neutral query modules (Kysely builder queries) or to the IssueStory. Written once here so
 * the two stores cannot drift apart in them; each store keeps only what its database does its own way.
 */
export abstract class StoreBase implements Pick<Store, SharedMethod | 'getIssue'> {
  /** The store's connection, typed by the schema, for the builder-written queries. */
  protected abstract readonly kysely: Kysely<Database>;
  protected abstract readonly story: IssueStory;
  /** Whether a failed INSERT broke a unique constraint (each driver says so in its own way). */
  protected abstract isUniqueViolation(err: unknown): boolean;
  abstract getIssue(id: number): Promise<Issue | null>;

  // ── projects ──────────────────────────────────────────────────────────────

  async createProject(input: NewProject): Promise<Project> {
    return createProject(this.kysely, input, (err) => this.isUniqueViolation(err));
  }

  async listProjects(): Promise<Project[]> {
    return listProjects(this.kysely);
  }

  async getProject(idOrSlug: number | string): Promise<Project | null> {
    return getProject(this.kysely, idOrSlug);
  }

  async updateProject(id: number, patch: Partial<Pick<Project, 'name' | 'shortIdPrefix' | 'linkTemplates'>>): Promise<Project> {
    return updateProject(this.kysely, id, patch);
  }

  async rotateProjectKey(id: number, graceMs: number, now: number): Promise<Project> {
    return access.rotateProjectKey(this.kysely, id, graceMs, now);
  }

  async startProjectDeletion(id: number, now: number): Promise<Project | null> {
    return deletion.startProjectDeletion(this.kysely, id, now);
  }

  async deleteProjectChunk(id: number, limit: number): Promise<{ done: boolean; deleted: number }> {
    return deletion.deleteProjectChunk(this.kysely, id, limit);
  }

  async projectDataLeft(id: number): Promise<{ events: number; issues: number }> {
    return deletion.projectDataLeft(this.kysely, id);
  }

  async deleteProject(id: number): Promise<void> {
    if (!(await this.startProjectDeletion(id, Date.now()))) return;
    while (!(await this.deleteProjectChunk(id, 5_000)).done);
  }

  // ── parked raw items ──────────────────────────────────────────────────────

  async listRawItems(kind: string, opts: { projectId?: number; after?: number; limit?: number } = {}): Promise<SpoolRow[]> {
    let query = this.kysely.selectFrom('raw_items').selectAll().where('kind', '=', kind).where('id', '>', opts.after ?? 0);
    if (opts.projectId !== undefined) query = query.where('project_id', '=', opts.projectId);
    const rows = await query.orderBy('id').limit(opts.limit ?? 100).execute();
    return rows.map((r) => toSpoolRow(r as SpoolDbRow));
  }

  // ── issues and events ─────────────────────────────────────────────────────

  async setIssueStatus(id: number, change: StatusChange): Promise<Issue> {
    await this.story.setStatus(id, change);
    return (await this.getIssue(id))!;
  }

  async assignIssue(id: number, assignee: string | null, actor: Actor): Promise<Issue> {
    await this.story.assign(id, assignee, actor);
    return (await this.getIssue(id))!;
  }

  async addIssueHistory(id: number, actor: Actor, action: 'note' | 'acknowledged' | 'linked', detail: Record<string, unknown>): Promise<void> {
    await this.story.record(id, actor, action, detail);
  }

  async issueHistory(id: number, limit?: number): Promise<IssueHistoryEntry[]> {
    return this.story.history(id, limit);
  }

  async releaseSummaries(projectId: number): Promise<ReleaseSummary[]> {
    return this.story.releases(projectId);
  }

  async userLogins(): Promise<string[]> {
    return this.story.userLogins();
  }

  async setUserTelegram(login: string, account: string | null): Promise<boolean> {
    return this.story.setUserTelegram(login, account);
  }

  async loginForTelegram(account: { id: number | string; username?: string | null }): Promise<string | null> {
    return this.story.loginForTelegram(account);
  }

  async latestEvent(issueId: number): Promise<StoredEvent | null> {
    const [event] = await listEvents(this.kysely, issueId, { limit: 1 });
    return event ?? null;
  }

  async listEvents(issueId: number, opts: { limit?: number; before?: number } = {}): Promise<StoredEvent[]> {
    return listEvents(this.kysely, issueId, opts);
  }

  async getEvent(projectId: number, eventId: string): Promise<StoredEvent | null> {
    return getEvent(this.kysely, projectId, eventId);
  }

  async capIssues(caps: IssueCaps, sinceHour: number): Promise<CapResult> {
    return capIssues(this.kysely, caps, sinceHour);
  }

  async projectStorage(projectId: number): Promise<{ events: number; payloadBytes: number }> {
    return projectStorage(this.kysely, projectId);
  }

  async getAttachment(projectId: number, eventId: string, index: number): Promise<StoredAttachment | null> {
    return getAttachment(this.kysely, projectId, eventId, index);
  }

  // ── access ────────────────────────────────────────────────────────────────

  async createApiToken(label: string, role?: Role): Promise<{ token: string; id: number }> {
    return access.createApiToken(this.kysely, label, role);
  }

  async verifyApiToken(token: string): Promise<boolean> {
    return (await access.findApiToken(this.kysely, token, Date.now())) !== null;
  }

  async findApiToken(token: string, now: number): Promise<ApiTokenSummary | null> {
    return access.findApiToken(this.kysely, token, now);
  }

  async listApiTokens(): Promise<ApiTokenSummary[]> {
    return access.listApiTokens(this.kysely);
  }

  async revokeApiToken(id: number): Promise<boolean> {
    return access.revokeApiToken(this.kysely, id);
  }

  async addUser(login: string, passwordHash: string, role?: Role): Promise<void> {
    return access.addUser(this.kysely, login, passwordHash, role);
  }

  async getUser(login: string): Promise<{ login: string; passwordHash: string; role: Role } | null> {
    return access.getUser(this.kysely, login);
  }

  async listUsers(): Promise<UserSummary[]> {
    return access.listUsers(this.kysely);
  }

  async removeUser(login: string): Promise<boolean> {
    return access.removeUser(this.kysely, login);
  }

  async setUserRole(login: string, role: Role): Promise<boolean> {
    return access.setUserRole(this.kysely, login, role);
  }

  async setUserPassword(login: string, passwordHash: string): Promise<boolean> {
    return access.setUserPassword(this.kysely, login, passwordHash);
  }
}
