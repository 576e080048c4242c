import type { Selectable } from 'kysely';
import type { Issue, IssueStatus, Level, Project, StoredEvent } from './model.js';
import type { SpoolRow } from './store.js';
import { decodePayload } from './payload.js';
import type { Database } from './schema.js';

/** Row ↔ model mapping shared by every Store implementation. */

export function formatShortId(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(3, '0')}`;
}

/** `B-001` → 1; null when the text is not a short id with this prefix. */
export function parseShortId(prefix: string, shortId: string): number | null {
  const match = /^([A-Za-z][A-Za-z0-9]*)-(\d+)$/.exec(shortId.trim());
  if (!match || match[1]!.toUpperCase() !== prefix.toUpperCase()) return null;
  return Number(match[2]);
}

export function toProject(row: Selectable<Database['projects']>): Project {
  return {
    id: Number(row.id),
    slug: row.slug,
    name: row.name,
    publicKey: row.public_key,
    shortIdPrefix: row.short_id_prefix,
    linkTemplates: JSON.parse(row.link_templates),
    groupingVersion: Number(row.grouping_version),
    createdAt: Number(row.created_at),
    previousPublicKey: row.previous_public_key ?? null,
    previousKeyExpiresAt: row.previous_key_expires_at === null || row.previous_key_expires_at === undefined ? null : Number(row.previous_key_expires_at),
    deletingAt: row.deleting_at === null || row.deleting_at === undefined ? null : Number(row.deleting_at),
  };
}

export type IssueRow = Selectable<Database['issues']> & { short_id_prefix: string };

export function toIssue(row: IssueRow): Issue {
  return {
    id: Number(row.id),
    projectId: Number(row.project_id),
    shortId: formatShortId(row.short_id_prefix, Number(row.short_number)),
    groupingVersion: Number(row.grouping_version),
    fingerprint: row.fingerprint,
    title: row.title,
    culprit: row.culprit,
    level: row.level as Level,
    status: row.status as IssueStatus,
    origin: row.origin,
    firstSeen: Number(row.first_seen),
    lastSeen: Number(row.last_seen),
    eventCount: Number(row.event_count),
    userCount: Number(row.user_count),
    firstRelease: row.first_release,
    lastRelease: row.last_release,
    resolvedAt: row.resolved_at === null ? null : Number(row.resolved_at),
    resolvedInRelease: row.resolved_in_release,
    regressed: Boolean(Number(row.regressed)),
    ignoreUntil: row.ignore_until === null ? null : Number(row.ignore_until),
    ignoreUntilCount: row.ignore_until_count === null ? null : Number(row.ignore_until_count),
    githubUrl: row.github_url,
    githubNumber: row.github_number === null || row.github_number === undefined ? null : Number(row.github_number),
    httpStatus: row.http_status === null ? null : Number(row.http_status),
    assignee: row.assignee ?? null,
    resolvedInNextRelease: Boolean(Number(row.resolved_next_release ?? 0)),
  };
}

export function toStoredEvent(
  row: Selectable<Database['events']>,
  attachments: StoredEvent['attachments'] = [],
): StoredEvent {
  return {
    id: Number(row.id),
    eventId: row.event_id,
    projectId: Number(row.project_id),
    issueId: Number(row.issue_id),
    timestamp: Number(row.timestamp),
    receivedAt: Number(row.received_at),
    level: row.level as Level,
    environment: row.environment,
    release: row.release,
    origin: row.origin,
    title: row.title,
    message: row.message,
    userKey: row.user_key,
    tags: JSON.parse(row.tags),
    payload: decodePayload(row.payload),
    attachments,
  };
}

/** A spool or raw_items row as the drivers return it (both tables have these columns). */
export type SpoolDbRow = Selectable<Database['raw_items']>;

export function toSpoolRow(r: SpoolDbRow): SpoolRow {
  return {
    id: Number(r.id),
    projectId: Number(r.project_id),
    kind: r.kind,
    eventId: r.event_id,
    receivedAt: Number(r.received_at),
    payload: r.payload,
    ...(r.meta ? { meta: JSON.parse(r.meta) as Record<string, unknown> } : {}),
  };
}
