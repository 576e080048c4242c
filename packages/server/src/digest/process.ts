import { createHash } from 'node:crypto';
import type { SentryEventPayload } from '@botpulse/protocol';
import { currentGrouping } from '../grouping/index.js';
import { encodePayload } from '../store/payload.js';
import type { DigestedRow, SpoolRow } from '../store/store.js';
import { normalizeEvent } from './normalize.js';

export interface DigestOptions {
  /**
   * Told about an event that could not be digested normally (a bug: normalisation is total).
   * It is stored all the same, as an "unreadable event" issue with the payload as spooled.
   */
  onRejected?: (row: SpoolRow, err: Error) => void;
}

/**
 * Turns spool rows into store writes: parse → normalise → fingerprint → compress. (Secrets were
 * scrubbed at intake, before the spool write.) Pure CPU work with no I/O, so the store can run it
 * right before its write transaction.
 *
 * Every event row becomes a stored event: a 200 was answered for it. normalizeEvent reads any
 * JSON object without throwing; should digesting still fail (a bug), the event is stored as an
 * "unreadable event" with its payload kept, and `onRejected` logs why.
 */
export function createRowDigester(options: DigestOptions): (rows: SpoolRow[]) => DigestedRow[] {
  return (rows) =>
    rows.map((row) => {
      if (row.kind === 'attachment') return digestAttachment(row);
      try {
        return digestEvent(row);
      } catch (err) {
        options.onRejected?.(row, err as Error);
        return digestUnreadable(row, err as Error);
      }
    });
}

function digestAttachment(row: SpoolRow): DigestedRow {
  const meta = (row.meta ?? {}) as { filename?: string; contentType?: string | null };
  return {
    kind: 'attachment',
    spoolId: row.id,
    projectId: row.projectId,
    eventId: row.eventId ?? '',
    filename: meta.filename ?? 'attachment',
    contentType: meta.contentType ?? null,
    data: row.payload,
  };
}

function digestEvent(row: SpoolRow): DigestedRow {
  const raw = JSON.parse(row.payload.toString('utf8')) as SentryEventPayload;
  const event = normalizeEvent(raw, { ...(row.eventId ? { eventId: row.eventId } : {}), receivedAt: row.receivedAt });
  // Grouping v1 is frozen and reads the event as sent, not the normalised payload: a field the
  // shape pass rewrites (a numeric `type` becomes text) must not move events to another issue.
  const grouping = currentGrouping.fingerprint(groupable(raw));
  return {
    kind: 'event',
    spoolId: row.id,
    projectId: row.projectId,
    receivedAt: row.receivedAt,
    event,
    fingerprint: grouping.hash,
    groupingVersion: currentGrouping.version,
    compressedPayload: encodePayload(event.payload),
  };
}

/**
 * The event as grouping v1 may read it. v1 turns each `fingerprint` part into text with
 * `String()`, which throws for an object like `{"toString": 1}`; such parts are left out, as Relay
 * leaves out fingerprint parts that are no text, number or boolean. Every event v1 could group
 * before is passed unchanged, so its hash (and its issue) stay the same.
 */
function groupable(event: SentryEventPayload): SentryEventPayload {
  const parts: unknown = event.fingerprint;
  if (!Array.isArray(parts) || parts.every(stringifies)) return event;
  return { ...event, fingerprint: parts.filter(stringifies) };
}

function stringifies(part: unknown): boolean {
  try {
    String(part);
    return true;
  } catch {
    return false;
  }
}

/**
 * The last resort for an event whose digest threw: stored under one issue per error message,
 * titled so on the dashboard, with the spooled payload (already scrubbed) kept for inspection.
 */
function digestUnreadable(row: SpoolRow, err: Error): DigestedRow {
  const text = row.payload.toString('utf8');
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    payload = { botpulse_unparsed_payload: text };
  }
  const reason = `${err.name}: ${err.message}`.slice(0, 150);
  const event = normalizeEvent({}, { ...(row.eventId ? { eventId: row.eventId } : {}), receivedAt: row.receivedAt });
  event.title = `Unreadable event (${reason})`;
  event.tags = { ...event.tags, 'botpulse.digest_error': reason };
  event.payload = { ...(isRecord(payload) ? payload : { botpulse_unparsed_payload: payload }), event_id: event.eventId };
  return {
    kind: 'event',
    spoolId: row.id,
    projectId: row.projectId,
    receivedAt: row.receivedAt,
    event,
    fingerprint: createHash('md5').update(`botpulse-unreadable\u0000${err.name}`).digest('hex'),
    groupingVersion: currentGrouping.version,
    compressedPayload: encodePayload(event.payload),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
