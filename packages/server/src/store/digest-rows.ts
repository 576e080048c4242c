import type { Issue, NormalizedEvent } from './model.js';
import type { DigestedRow } from './store.js';

/** Column values of the digest's writes, shared by every Store implementation. */

export type EventWrite = Extract<DigestedRow, { kind: 'event' }>;

/** Tags worth indexing per issue; more than this per event are kept in the event only. */
const MAX_INDEXED_TAGS = 24;

/**
 * Payload bytes per digest batch: about 400 events of 5 KB, 40 of 50 KB. A parsed event takes
 * several times its JSON size, so this bounds the digest's memory. Measured on SQLite at 50 KB and
 * 64 requests in flight: peak RSS 376 MB with no byte bound, 304 MB at 4 MiB, 243 MB at 2 MiB, and
 * throughput rose with each step (smaller batches stay in the CPU caches and the young heap).
 */
export const MAX_BATCH_BYTES = 2 * 1024 * 1024;

/** Kinds the digest consumes now; the others wait raw in `raw_items` for the monitors/logs work. */
export function isDigested(kind: string): boolean {
  return kind === 'event' || kind === 'attachment';
}

/** Tags indexed for `tag:value` search, plus environment and release as pseudo-tags. */
export function indexedTags(event: NormalizedEvent): [string, string][] {
  const tags: [string, string][] = [];
  if (event.environment) tags.push(['environment', event.environment]);
  if (event.release) tags.push(['release', event.release]);
  for (const [k, v] of Object.entries(event.tags)) {
    if (tags.length >= MAX_INDEXED_TAGS) break;
    if (k !== 'environment' && k !== 'release') tags.push([k, v]);
  }
  return tags;
}

/** One `issue_tags` upsert: an issue's (key, value) counted over a batch. */
export interface TagCount {
  issueId: number;
  key: string;
  value: string;
  count: number;
  lastSeen: number;
}

/** Tags are counted in memory and written once per (issue, key, value) per batch. */
export function countTags(events: { issueId: number; event: NormalizedEvent }[]): TagCount[] {
  const counts = new Map<string, TagCount>();
  for (const { issueId, event } of events) {
    for (const [key, value] of indexedTags(event)) {
      const id = `${issueId}\u0000${key}\u0000${value}`;
      const entry = counts.get(id);
      if (entry) {
        entry.count += 1;
        entry.lastSeen = Math.max(entry.lastSeen, event.timestamp);
      } else counts.set(id, { issueId, key, value, count: 1, lastSeen: event.timestamp });
    }
  }
  return [...counts.values()];
}

/** The columns of an issue the digest rewrites. */
export function issueParams(issue: Issue) {
  return {
    id: issue.id,
    title: issue.title,
    culprit: issue.culprit,
    level: issue.level,
    status: issue.status,
    origin: issue.origin,
    last_seen: issue.lastSeen,
    event_count: issue.eventCount,
    user_count: issue.userCount,
    last_release: issue.lastRelease,
    resolved_at: issue.resolvedAt,
    regressed: issue.regressed ? 1 : 0,
    ignore_until: issue.ignoreUntil,
    ignore_until_count: issue.ignoreUntilCount,
    http_status: issue.httpStatus,
  };
}

/** The columns of an `events` row. */
export function eventParams(row: EventWrite, issueId: number) {
  const e = row.event;
  return {
    project_id: row.projectId,
    issue_id: issueId,
    event_id: e.eventId,
    timestamp: e.timestamp,
    received_at: row.receivedAt,
    level: e.level,
    environment: e.environment,
    release: e.release,
    origin: e.origin,
    title: e.title,
    message: e.message,
    user_key: e.userKey,
    tg_chat_id: e.telegram?.chat_id === undefined ? null : String(e.telegram.chat_id),
    tg_user_id: e.telegram?.user_id === undefined ? null : String(e.telegram.user_id),
    tg_update_id: e.telegram?.update_id ?? null,
    http_status: e.request?.statusCode ?? null,
    url_pattern: e.request?.urlPattern ?? null,
    tags: JSON.stringify(e.tags),
    payload: row.compressedPayload,
  };
}
