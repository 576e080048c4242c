import type { SentryEvent } from '@botpulse/protocol';
import { currentGrouping } from '../grouping/index.js';
import { encodePayload } from '../store/payload.js';
import type { DigestedRow, SpoolRow } from '../store/store.js';
import { normalizeEvent } from './normalize.js';

export interface DigestOptions {
  /** Told about rows that were accepted but cannot be digested (a bug: ingestion validates). */
  onRejected?: (row: SpoolRow, err: Error) => void;
}

/**
 * Turns spool rows into store writes: parse → normalise → fingerprint → compress. (Secrets were
 * scrubbed at intake, before the spool write.) Pure CPU work with no I/O, so the store can run it
 * right before its write transaction.
 */
export function createRowDigester(options: DigestOptions): (rows: SpoolRow[]) => DigestedRow[] {
  const digestOne = (row: SpoolRow): DigestedRow => {
    if (row.kind === 'attachment') {
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
    const raw = JSON.parse(row.payload.toString('utf8')) as SentryEvent;
    const event = normalizeEvent(raw, { ...(row.eventId ? { eventId: row.eventId } : {}), receivedAt: row.receivedAt });
    const grouping = currentGrouping.fingerprint(event.payload);
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
  };
  return (rows) =>
    rows.map((row) => {
      try {
        return digestOne(row);
      } catch (err) {
        options.onRejected?.(row, err as Error);
        return { kind: 'rejected', spoolId: row.id, projectId: row.projectId, reason: 'undigestible' };
      }
    });
}
