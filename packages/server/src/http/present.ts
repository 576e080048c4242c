import { formatDsn, type Dsn } from '@botpulse/protocol';
import { normalizePayload } from '../digest/shape.js';
import type { Issue, IssueHistoryEntry, Project, StoredEvent } from '../store/model.js';

/** JSON shapes the API (and the CLI's --json) return: ISO times, DSN spelled out. */

export function dsnFor(project: Project, publicUrl: string, publicKey = project.publicKey): string {
  const url = new URL(publicUrl);
  const dsn: Dsn = {
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    publicKey,
    host: url.hostname,
    port: url.port,
    path: url.pathname.replace(/\/+$/, ''),
    projectId: String(project.id),
  };
  return formatDsn(dsn);
}

export function presentProject(project: Project, publicUrl: string) {
  return {
    id: project.id,
    slug: project.slug,
    name: project.name,
    dsn: dsnFor(project, publicUrl),
    shortIdPrefix: project.shortIdPrefix,
    linkTemplates: project.linkTemplates,
    createdAt: iso(project.createdAt),
    // After a key rotation: the old DSN, accepted until then.
    previousDsn: project.previousPublicKey && (project.previousKeyExpiresAt ?? 0) > Date.now() ? dsnFor(project, publicUrl, project.previousPublicKey) : null,
    previousDsnExpiresAt: project.previousPublicKey && (project.previousKeyExpiresAt ?? 0) > Date.now() ? iso(project.previousKeyExpiresAt!) : null,
    deletingSince: isoOrNull(project.deletingAt),
  };
}

export function presentIssue(issue: Issue) {
  return {
    ...issue,
    firstSeen: iso(issue.firstSeen),
    lastSeen: iso(issue.lastSeen),
    resolvedAt: isoOrNull(issue.resolvedAt),
    ignoreUntil: isoOrNull(issue.ignoreUntil),
    count: issue.eventCount,
  };
}

export function presentHistoryEntry(entry: IssueHistoryEntry) {
  return { ...entry, at: iso(entry.at) };
}

/**
 * The payload in its documented shapes (what was changed, as sent, in `_meta`): also for events
 * stored before the digest normalised shapes, so an API client reads one shape only.
 */
export function presentEvent(event: StoredEvent) {
  return { ...event, payload: normalizePayload(event.payload), timestamp: iso(event.timestamp), receivedAt: iso(event.receivedAt) };
}

/** ISO 8601; a stored time no Date can hold (never written by the digest) is answered as null, not a 500. */
const iso = (ms: number) => (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : null);
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));
