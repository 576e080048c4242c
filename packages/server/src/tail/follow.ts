import { createHash } from 'node:crypto';
import { readFileSync, type BigIntStats } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { RawLine } from './records.js';
import type { FilePosition } from './state.js';

export type FileIdentity = Omit<FilePosition, 'offset'>;

export interface FollowOptions {
  /** Where to resume (from the state file), if anywhere. */
  saved?: FilePosition;
  /** Without a saved position: read the file from its beginning (default) or only what is appended. */
  fromEnd?: boolean;
  pollMs?: number;
  chunkBytes?: number;
  /** After a rotation, the old file is read until it has been quiet this long (default 2 s)... */
  rotateGraceMs?: number;
  /** ...or, if it keeps growing, this long (default 30 s). */
  rotateMaxMs?: number;
  /** Longest line kept; the rest of a longer line is consumed but not kept. */
  maxLineBytes: number;
  onLine(line: RawLine): void;
  /** The file was rotated or truncated: what came before belongs to another source. */
  onBoundary(): void;
  /** Called at each end of file, before polling again (the joiner flushes an idle record). */
  onIdle(): void;
  /** Resolves when the buffer has room again (backpressure: a full buffer stops reading). */
  waitForRoom(): Promise<void>;
  /** Non-fatal troubles (permission denied, file missing) worth a line on stderr. */
  warn(message: string): void;
}

/**
 * Follows a file like `tail -F`: reads to the end, polls for more, notices rotation (the path now
 * names another inode: the old file is read until it has been quiet for a moment, then the new one) and truncation (the file shrank below
 * the read position: read again from 0 under a new generation), waits for a missing file to come
 * back. After a restart it resumes at the saved offset, and if the file was rotated meanwhile it
 * finds the old one by its inode in the same directory and finishes it first.
 */
export class FileFollower {
  private handle: FileHandle | undefined;
  private identity: FileIdentity | undefined;
  private sourceId = '';
  private pos = 0;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private partialStart = 0;
  private partialOverflow = false;
  private stopped = false;
  /** When the path was first seen naming another file (0: not rotated), and when the file last grew. */
  private rotationSeenAt = 0;
  private lastGrowthAt = 0;
  private lastWarning = '';
  private wake: (() => void) | undefined;
  /** Identity of every source id handed out (the last few), so an acknowledged line maps back to a position. */
  private readonly identities = new Map<string, FileIdentity>();

  constructor(
    readonly path: string,
    private readonly opts: FollowOptions,
  ) {}

  /** The position at the end of an acknowledged line of this source. */
  positionOf(sourceId: string, end: number): FilePosition | undefined {
    const identity = this.identities.get(sourceId);
    return identity && { ...identity, offset: end };
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  async run(): Promise<void> {
    try {
      await this.openFirst();
      while (!this.stopped) {
        await this.opts.waitForRoom();
        if (this.stopped) break;
        if (!this.handle) {
          await this.reopen();
          if (!this.handle) await this.sleep();
          continue;
        }
        if ((await this.readChunk()) > 0) continue;
        this.opts.onIdle();
        if (await this.truncated()) continue;
        if (await this.rotated()) continue;
        await this.sleep();
      }
    } finally {
      await this.handle?.close();
    }
  }

  private async openFirst(): Promise<void> {
    const saved = this.opts.saved;
    const current = await statOrUndefined(this.path);
    if (saved && current && sameFile(current, saved)) {
      await this.openAt(this.path, identityOf(current, saved.generation), saved.offset);
      return;
    }
    if (saved) {
      const rotated = await findByInode(dirname(this.path), saved);
      if (rotated) {
        // Rotated while we were away: finish the old file; rotated() then moves on to the new one.
        await this.openAt(rotated, identityOf(await stat(rotated, { bigint: true }), saved.generation), saved.offset);
        return;
      }
      this.opts.warn(`the file acknowledged last (inode ${saved.ino}) is gone; starting ${basename(this.path)} from its beginning`);
    }
    if (current) await this.openAt(this.path, identityOf(current, 0), this.opts.fromEnd && !saved ? Number(current.size) : 0);
    else this.opts.warn(`${this.path} does not exist yet; waiting for it`);
  }

  private async openAt(path: string, identity: FileIdentity, offset: number): Promise<void> {
    try {
      this.handle = await open(path, 'r');
    } catch (err) {
      this.warnOnce(`cannot open ${path}: ${(err as Error).message}; trying again`);
      return;
    }
    const opened = await this.handle.stat({ bigint: true });
    // The path may have been replaced between stat and open: trust the descriptor.
    this.identity = opened.ino.toString() === identity.ino ? identity : identityOf(opened, 0);
    this.pos = Number(opened.size) < offset ? 0 : offset;
    if (Number(opened.size) < offset) this.identity = { ...this.identity, generation: this.identity.generation + 1 };
    this.setSource();
  }

  private setSource(): void {
    const id = this.identity!;
    this.sourceId = createHash('sha256').update(`${machineId()}\0${id.dev}\0${id.ino}\0${id.birth}\0${id.generation}`).digest('hex').slice(0, 20);
    this.identities.set(this.sourceId, id);
    if (this.identities.size > 64) this.identities.delete(this.identities.keys().next().value!);
    this.partial = [];
    this.partialBytes = 0;
    this.partialStart = this.pos;
    this.partialOverflow = false;
  }

  private async readChunk(): Promise<number> {
    const size = this.opts.chunkBytes ?? 64 * 1024;
    const buffer = Buffer.allocUnsafe(size);
    const { bytesRead } = await this.handle!.read(buffer, 0, size, this.pos);
    if (bytesRead === 0) return 0;
    this.lastGrowthAt = Date.now();
    this.split(buffer.subarray(0, bytesRead));
    return bytesRead;
  }

  /** Splits read bytes into lines at `\n`; an unfinished last line waits for its end in `partial`. */
  private split(chunk: Buffer): void {
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl >= 0; nl = chunk.indexOf(10, from)) {
      this.keep(chunk.subarray(from, nl));
      const end = this.pos + nl + 1;
      this.emitPartial(end);
      from = nl + 1;
    }
    this.keep(chunk.subarray(from));
    this.pos += chunk.length;
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    const room = this.opts.maxLineBytes - this.partialBytes;
    if (part.length > room) this.partialOverflow = true;
    const kept = part.length > room ? part.subarray(0, Math.max(0, room)) : part;
    if (kept.length === 0) return;
    this.partial.push(Buffer.from(kept)); // copy: the read buffer is reused
    this.partialBytes += kept.length;
  }

  private emitPartial(end: number): void {
    const start = this.partialStart;
    let text = Buffer.concat(this.partial, this.partialBytes).toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    this.partial = [];
    this.partialBytes = 0;
    const truncated = this.partialOverflow;
    this.partialStart = end;
    this.partialOverflow = false;
    this.opts.onLine({ text, sourceId: this.sourceId, start, end, ...(truncated && { truncated }) });
  }

  /** An unfinished last line of a file we leave (rotated away, truncated) was still written: send it. */
  private finishSource(): void {
    if (this.partialBytes > 0 || this.partialOverflow) this.emitPartial(this.pos);
    this.opts.onBoundary();
  }

  private async truncated(): Promise<boolean> {
    const size = Number((await this.handle!.stat({ bigint: true })).size);
    if (size >= this.pos) return false;
    this.finishSource();
    this.opts.warn(`${basename(this.path)} was truncated; reading it again from its beginning`);
    this.identity = { ...this.identity!, generation: this.identity!.generation + 1 };
    this.pos = 0;
    this.setSource();
    return true;
  }

  /**
   * The path names a new file. The old one is followed on until it has been quiet for
   * `rotateGraceMs`: a writer may append to it between logrotate's rename and its reopen (HUP).
   * One that still grows after `rotateMaxMs` is left with a warning.
   */
  private async rotated(): Promise<boolean> {
    const current = await statOrUndefined(this.path);
    if (!current || sameFile(current, this.identity!)) {
      this.rotationSeenAt = 0;
      return false;
    }
    const now = Date.now();
    if (this.rotationSeenAt === 0) this.rotationSeenAt = now;
    const quietFor = now - Math.max(this.rotationSeenAt, this.lastGrowthAt);
    const tooLong = now - this.rotationSeenAt >= (this.opts.rotateMaxMs ?? 30_000);
    if (quietFor < (this.opts.rotateGraceMs ?? 2000) && !tooLong) return false;
    while ((await this.readChunk()) > 0) {
      if (this.stopped) return true;
    }
    if (tooLong) this.opts.warn(`the rotated ${basename(this.path)} still grows; moving on to the new file (what is written to the old one now is not read)`);
    this.finishSource();
    await this.handle!.close();
    this.handle = undefined;
    this.rotationSeenAt = 0;
    await this.openAt(this.path, identityOf(current, 0), 0);
    return true;
  }

  /** The file was missing (or unreadable): whatever appears under the path now is new, read from 0. */
  private async reopen(): Promise<void> {
    const current = await statOrUndefined(this.path);
    if (current) await this.openAt(this.path, identityOf(current, 0), 0);
  }

  /** A file that stays unreadable is said once, not at every poll. */
  private warnOnce(message: string): void {
    if (message === this.lastWarning) return;
    this.lastWarning = message;
    this.opts.warn(message);
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.opts.pollMs ?? 250);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

function identityOf(stats: BigIntStats, generation: number): FileIdentity {
  return { dev: stats.dev.toString(), ino: stats.ino.toString(), birth: stats.birthtimeNs.toString(), generation };
}

function sameFile(stats: BigIntStats, id: Pick<FileIdentity, 'dev' | 'ino' | 'birth'>): boolean {
  return stats.dev.toString() === id.dev && stats.ino.toString() === id.ino && stats.birthtimeNs.toString() === id.birth;
}

async function statOrUndefined(path: string): Promise<BigIntStats | undefined> {
  try {
    const stats = await stat(path, { bigint: true });
    return stats.isFile() ? stats : undefined;
  } catch {
    return undefined;
  }
}

/** The rotated file (`bot.log.1`, `bot.log-20240101`) still holding the saved inode, if any. */
async function findByInode(dir: string, saved: FilePosition): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  for (const name of names) {
    const candidate = join(dir, name);
    const stats = await statOrUndefined(candidate);
    if (stats && sameFile(stats, saved)) return candidate;
  }
  return undefined;
}

let cachedMachineId: string | undefined;
/** Line ids must differ between machines whose files share an inode number: the machine id goes into them. */
function machineId(): string {
  if (cachedMachineId === undefined) {
    try {
      cachedMachineId = readFileSync('/etc/machine-id', 'utf8').trim() || hostname();
    } catch {
      cachedMachineId = hostname();
    }
  }
  return cachedMachineId;
}
