import { formatDsn, type Dsn } from '@botpulse/protocol';
import type { Issue, Project, StoredEvent } from '../store/model.js';

/** JSON shapes the API (and the CLI's --json) return: ISO times, DSN spelled out. */

export function dsnFor(project: Project, publicUrl: string): string {
  const url = new URL(publicUrl);
  const dsn: Dsn = {
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    publicKey: project.publicKey,
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

export function presentEvent(event: StoredEvent) {
  return { ...event, timestamp: iso(event.timestamp), receivedAt: iso(event.receivedAt) };
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));
