import type { HeldSpoolRows, SpoolRow } from '../store/store.js';

/** Rows in transit from the main thread: their fields, and their payloads packed in one transferred buffer. */
export interface HandedRows {
  rows: { id: number; projectId: number; kind: string; eventId: string | null; receivedAt: number; meta?: Record<string, unknown>; offset: number; length: number }[];
  payloads: ArrayBuffer;
}

/**
 * Packs committed spool rows for the digest thread: one copy of the payloads into one buffer that
 * is transferred, not cloned (a Buffer cloned alone would copy the whole body or pool slab it is
 * a view of).
 */
export function packRows(rows: SpoolRow[]): HandedRows {
  const payloads = new ArrayBuffer(rows.reduce((n, r) => n + r.payload.length, 0));
  const target = new Uint8Array(payloads);
  let offset = 0;
  const packed = rows.map((r) => {
    target.set(r.payload, offset);
    const entry = { id: r.id, projectId: r.projectId, kind: r.kind, eventId: r.eventId, receivedAt: r.receivedAt, ...(r.meta ? { meta: r.meta } : {}), offset, length: r.payload.length };
    offset += r.payload.length;
    return entry;
  });
  return { rows: packed, payloads };
}

/**
 * The digest thread's copy of the rows its own process spooled (issue 12: the PostgreSQL digest
 * then claims them without reading their payloads back). Only a cache: the spool row stays the
 * durable copy, and a row missing here is read from the database. Bounded by `maxBytes`: rows
 * handed while it is full are not kept.
 */
export class HeldRows implements HeldSpoolRows {
  private readonly rows = new Map<number, SpoolRow>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  add(handed: HandedRows): void {
    for (const r of handed.rows) {
      if (this.bytes + r.length > this.maxBytes) return;
      const { offset, length, ...fields } = r;
      this.rows.set(r.id, { ...fields, payload: Buffer.from(handed.payloads, offset, length) });
      this.bytes += length;
    }
  }

  get(id: number): SpoolRow | undefined {
    return this.rows.get(id);
  }

  /**
   * The digest committed a batch that took rows up to `id`. Rows below it that it did not take were
   * locked by another process's digest (SKIP LOCKED) or gone: dropped too (if that batch rolls
   * back, their payloads are read from the database).
   */
  release(id: number): void {
    for (const [key, row] of this.rows) {
      if (key > id) continue; // a Map iterates in insertion order, but appends of two flushes may interleave: look at all
      this.rows.delete(key);
      this.bytes -= row.payload.length;
    }
  }

  get size(): number {
    return this.rows.size;
  }
}
