// A small, bounded on-disk queue for envelope items that could not be sent: what is still
// waiting when the process ends (written synchronously from the 'exit' event, where nothing
// asynchronous runs any more), what does not fit the memory queue during a server outage, and
// what ran out of retries. The next start (or the same process, once the server answers again)
// sends it. One JSON file per write, named so that the oldest sorts first; a reader claims a
// file by renaming it (atomic), so two processes sharing the directory never send one twice.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env } from './config.js';

/** Options of the on-disk queue (`init({ diskQueue })`). */
export interface DiskQueueOptions {
  /** Directory. Default `BOTPULSE_DISK_QUEUE`, else `<os tmpdir>/botpulse-sdk/<hash of the DSN>`. */
  dir?: string;
  /** Total bytes kept (default 8 MiB); beyond it the oldest files are deleted and counted (`cache_overflow`). */
  maxBytes?: number;
  /** Files kept (default 1000); beyond it the oldest are deleted and counted. */
  maxFiles?: number;
}

/** An item as written to disk. Payloads are the JSON the SDK would have sent. */
export interface StoredItem {
  type: string;
  payload: string;
  headers?: Record<string, unknown>;
  eventId?: string;
}

/** Item types worth sending late: they carry their own timestamps. Check-ins and transactions do not survive a restart (a stale "ok" would lie). */
export const PERSISTED_TYPES: ReadonlySet<string> = new Set(['event', 'log', 'client_report']);

/** Why items on disk were deleted unsent (Sentry discard reasons). */
export type LossReason = 'cache_overflow' | 'internal_sdk_error';

export const DEFAULT_DISK_QUEUE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_DISK_QUEUE_FILES = 1000;

const FILE_PATTERN = /^\d{13}-\d+-\d+\.json$/;

/**
 * The directory used for a DSN when none is configured, or undefined when the queue is off
 * (`BOTPULSE_DISK_QUEUE=off`).
 * @example diskQueueDir(undefined, 'http://key@127.0.0.1:8000/1', process.env)
 */
export function diskQueueDir(option: string | undefined, dsn: string, env: Env): string | undefined {
  const configured = option ?? env['BOTPULSE_DISK_QUEUE'];
  if (configured !== undefined && ['off', 'false', '0', ''].includes(configured.trim().toLowerCase())) return undefined;
  if (configured) return configured;
  // Per DSN: two bots on one host never send each other's events (the hash keeps the key out of the path).
  return join(tmpdir(), 'botpulse-sdk', createHash('sha256').update(dsn).digest('hex').slice(0, 16));
}

/**
 * The queue itself. Every method is synchronous: it must work from `process.on('exit')`.
 * Nothing throws: a failed write returns false (the caller counts those items), files deleted
 * to stay within the bounds are reported through `onLost` (`cache_overflow`).
 * @example
 * const queue = new DiskQueue('/var/tmp/bot-queue', { onLost: (type, n) => console.log(`lost ${n} ${type}`) });
 * queue.write([{ type: 'event', payload: '{"message":"x"}', eventId: 'a'.repeat(32) }]);
 * queue.takeOldest(); // the items back, file removed
 */
export class DiskQueue {
  private sequence = 0;
  /**
   * Files and bytes on disk as this process last counted them, so that a write does not list the
   * directory every time; another process sharing it makes this an estimate, corrected by the
   * full listing each time the estimate says the bounds are passed.
   */
  private usage: { files: number; bytes: number } | undefined;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly onLost: (type: string, quantity: number, reason: LossReason) => void;
  private readonly onError: (message: string, error: unknown) => void;

  constructor(
    readonly dir: string,
    options: {
      maxBytes?: number;
      maxFiles?: number;
      /** Items deleted for good: to stay within the bounds (`cache_overflow`) or in a damaged file (`internal_sdk_error`). */
      onLost?: (type: string, quantity: number, reason: LossReason) => void;
      /** Why a file could not be written or read (the caller logs it). */
      onError?: (message: string, error: unknown) => void;
    } = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_DISK_QUEUE_BYTES;
    this.maxFiles = options.maxFiles ?? DEFAULT_DISK_QUEUE_FILES;
    this.onLost = options.onLost ?? (() => undefined);
    this.onError = options.onError ?? (() => undefined);
  }

  /** Writes the items as one file, then trims the queue to its bounds. Returns false when nothing could be written. */
  write(items: StoredItem[]): boolean {
    if (items.length === 0) return true;
    const name = `${String(Date.now()).padStart(13, '0')}-${process.pid}-${this.sequence++}.json`;
    const size = this.writeFile(name, items);
    if (size === undefined) return false; // the caller counts these items with the reason they were spilled for
    if (!this.usage) this.usage = this.measure();
    else this.usage = { files: this.usage.files + 1, bytes: this.usage.bytes + size };
    if (this.usage.files > this.maxFiles || this.usage.bytes > this.maxBytes) this.trim();
    return true;
  }

  /** Bytes written, or undefined when the file could not be written. */
  private writeFile(name: string, items: StoredItem[]): number | undefined {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      // Written under a temporary name and renamed: a reader never sees half a file.
      const temporary = join(this.dir, `${name}.${process.pid}.tmp`);
      const body = Buffer.from(JSON.stringify(items));
      writeFileSync(temporary, body, { mode: 0o600 });
      renameSync(temporary, join(this.dir, name));
      return body.length;
    } catch (error) {
      this.onError(`could not write to the disk queue ${this.dir}`, error);
      return undefined;
    }
  }

  private measure(): { files: number; bytes: number } {
    const files = this.files();
    return { files: files.length, bytes: files.reduce((sum, f) => sum + f.size, 0) };
  }

  /** True when at least one file waits. */
  hasPending(): boolean {
    return this.files().length > 0;
  }

  /**
   * Claims the oldest file and returns up to `max` of its items (oldest first); the rest is
   * written back under the same name, so it stays first in line. Undefined when the queue is empty.
   */
  takeOldest(max = Infinity): StoredItem[] | undefined {
    for (const file of this.files()) {
      const items = this.claim(file.name);
      if (!items) continue;
      let left = 0;
      if (items.length > max) {
        const rest = items.splice(max);
        const written = this.writeFile(file.name, rest);
        if (written === undefined) items.push(...rest); // cannot put them back: take them all
        else left = written;
      }
      if (this.usage) this.usage = { files: this.usage.files - (left ? 0 : 1), bytes: Math.max(0, this.usage.bytes - file.size + left) };
      return items;
    }
    return undefined;
  }

  private claim(name: string): StoredItem[] | undefined {
    const path = join(this.dir, name);
    const claimed = `${path}.${process.pid}.claimed`;
    try {
      renameSync(path, claimed); // another process got it first: ENOENT
    } catch {
      return undefined;
    }
    let text = '';
    try {
      text = readFileSync(claimed, 'utf8');
      return parseItems(text);
    } catch (error) {
      // A damaged file (cut short by a full disk or a kill) is removed rather than retried
      // forever; what it held is counted by type, as far as its text still says.
      for (const [type, n] of countTypesInText(text)) this.onLost(type, n, 'internal_sdk_error');
      this.onError(`a damaged disk-queue file (${name}) was deleted`, error);
      return [];
    } finally {
      try {
        unlinkSync(claimed);
      } catch {
        // already gone
      }
    }
  }

  /** Oldest first. */
  private files(): { name: string; size: number }[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => FILE_PATTERN.test(n));
    } catch {
      return [];
    }
    names.sort();
    const out: { name: string; size: number }[] = [];
    for (const name of names) {
      try {
        out.push({ name, size: statSync(join(this.dir, name)).size });
      } catch {
        // claimed by another process meanwhile
      }
    }
    return out;
  }

  /** Deletes the oldest files beyond the bounds; their items are counted as lost (`cache_overflow`). */
  private trim(): void {
    const files = this.files();
    let bytes = files.reduce((sum, f) => sum + f.size, 0);
    let count = files.length;
    for (const file of files) {
      if (count <= this.maxFiles && bytes <= this.maxBytes) break;
      if (count === 1) break; // the newest file stays, even alone over the byte bound
      const items = this.claim(file.name);
      bytes -= file.size;
      count -= 1;
      for (const [type, n] of countByType(items ?? [])) this.onLost(type, n, 'cache_overflow');
    }
    this.usage = { files: count, bytes };
  }
}

function parseItems(text: string): StoredItem[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) return [];
  return value.filter(
    (item): item is StoredItem => typeof item === 'object' && item !== null && typeof item.type === 'string' && typeof item.payload === 'string',
  );
}

/** Items named in a file that no longer parses: each item is written as `{"type":"…","payload":…`. */
function countTypesInText(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/\{"type":"([a-z_]+)","payload":/g)) counts.set(match[1] as string, (counts.get(match[1] as string) ?? 0) + 1);
  return counts;
}

function countByType(items: StoredItem[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item.type, (counts.get(item.type) ?? 0) + 1);
  return counts;
}
