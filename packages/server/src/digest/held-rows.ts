import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
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
 * The main thread's spool flushes as the digest thread sees them, in one shared 64-bit slot
 * (ingest/spool.ts onFlushWindow): `floor * 2 + inFlight`. With flushes in flight, every row of
 * theirs has an id above `floor`; with none, every row this process committed is at or below it.
 */
export class FlushWindow {
  readonly slot: BigInt64Array;

  constructor(slot?: BigInt64Array) {
    this.slot = slot ?? new BigInt64Array(new SharedArrayBuffer(8));
  }

  /** Main thread: before a flush is sent, and after a committed one was handed over. */
  set(inFlight: boolean, floor: number): void {
    Atomics.store(this.slot, 0, BigInt(floor) * 2n + (inFlight ? 1n : 0n));
  }

  read(): { inFlight: boolean; floor: number } {
    const v = Atomics.load(this.slot, 0);
    return { inFlight: (v & 1n) === 1n, floor: Number(v >> 1n) };
  }
}

/**
 * The digest thread's copy of the rows its own process spooled (issue 12: the PostgreSQL digest
 * then claims them without reading their payloads back). Only a cache: the spool row stays the
 * durable copy, and a row missing here is read from the database. Bounded by `maxBytes`: rows
 * handed while it is full are not kept.
 *
 * PostgreSQL makes a row visible to the digest's claim when it commits, a moment before the main
 * thread has the commit's answer and hands the row over; a claim that lands in between would read
 * the payload back. So, given the hand-off's port and the FlushWindow: a claimed row not held is
 * looked for again after taking, synchronously, what the port holds (receiveMessageOnPort: the
 * hand-off is posted before the window says its flush ended); if a flush is still in flight and
 * the row is above its floor, the row may be that flush's: `later`, the batch leaves it in the spool.
 */
export class HeldRows implements HeldSpoolRows {
  private readonly rows = new Map<number, SpoolRow>();
  private bytes = 0;
  /** The window's floor when the last claim was sent: release() keeps rows above it (see there). */
  private claimFloor = Infinity;

  constructor(
    private readonly maxBytes: number,
    private readonly handOff?: { port: MessagePort; window: FlushWindow },
  ) {}

  claiming(): void {
    if (this.handOff) this.claimFloor = this.handOff.window.read().floor;
  }

  add(handed: HandedRows): void {
    for (const r of handed.rows) {
      if (this.bytes + r.length > this.maxBytes) return;
      const { offset, length, ...fields } = r;
      this.rows.set(r.id, { ...fields, payload: Buffer.from(handed.payloads, offset, length) });
      this.bytes += length;
    }
  }

  get(id: number): SpoolRow | 'later' | undefined {
    const row = this.rows.get(id);
    if (row || !this.handOff) return row;
    this.drain();
    if (this.rows.has(id)) return this.rows.get(id);
    // Read after the drain, so a flush that ended before it was drained; one still in flight may own the row.
    const { inFlight, floor } = this.handOff.window.read();
    if (inFlight && id > floor) return 'later';
    this.drain(); // a flush that ended between the first drain and the read above
    return this.rows.get(id);
  }

  /** Takes the hand-offs already posted, without waiting for the thread's event loop to deliver them. */
  private drain(): void {
    for (let m = receiveMessageOnPort(this.handOff!.port); m; m = receiveMessageOnPort(this.handOff!.port)) this.add(m.message as HandedRows);
  }

  /**
   * The digest committed a batch that took rows up to `id`. Rows below it that it did not take were
   * locked by another process's digest (SKIP LOCKED) or gone: dropped too (if that batch rolls
   * back, their payloads are read from the database). Except rows above the window's floor as the
   * claim was sent: those were committed after it (or not yet), so the claim could not see them.
   */
  release(id: number): void {
    const upTo = Math.min(id, this.claimFloor);
    for (const [key, row] of this.rows) {
      if (key > upTo) continue; // a Map iterates in insertion order, but appends of two flushes may interleave: look at all
      this.rows.delete(key);
      this.bytes -= row.payload.length;
    }
  }

  get size(): number {
    return this.rows.size;
  }
}
