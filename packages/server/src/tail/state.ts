import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** Which file (device, inode, birth time, truncation generation) and how far it was acknowledged. */
export interface FilePosition {
  dev: string;
  ino: string;
  birth: string;
  /** Bumped each time the file is seen truncated, so line ids of re-used offsets differ. */
  generation: number;
  offset: number;
}

interface StateFile {
  version: 1;
  files: Record<string, FilePosition>;
}

/**
 * The offsets `botpulse tail` keeps: one position per followed path, written atomically (temp
 * file, fsync, rename, fsync of the directory) after each acknowledged batch, so a crash leaves
 * either the old or the new position and never a torn file.
 */
export class TailState {
  private constructor(
    readonly path: string,
    private readonly data: StateFile,
  ) {}

  static async load(path: string): Promise<TailState> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new TailState(path, { version: 1, files: {} });
      throw err;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new Error(`the state file ${path} is not JSON; move it away to start over`);
    }
    if (!data || typeof data !== 'object' || (data as StateFile).version !== 1 || typeof (data as StateFile).files !== 'object') {
      throw new Error(`the state file ${path} is not a botpulse tail state (version 1)`);
    }
    return new TailState(path, data as StateFile);
  }

  get(file: string): FilePosition | undefined {
    return this.data.files[resolve(file)];
  }

  async save(file: string, position: FilePosition): Promise<void> {
    this.data.files[resolve(file)] = position;
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${process.pid}.tmp`;
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(this.data, null, 2) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.path);
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/** `$XDG_STATE_HOME/botpulse/tail-<hash of the absolute path>.json` (`~/.local/state/...` without it). */
export function defaultStatePath(file: string): string {
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  const hash = createHash('sha256').update(resolve(file)).digest('hex').slice(0, 16);
  return join(base, 'botpulse', `tail-${hash}.json`);
}
