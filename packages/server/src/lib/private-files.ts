import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';

/**
 * Botpulse's data (events with their payloads, sessions, the first-start secrets) is readable by
 * its owner only: the data directory 0700, its files 0600. Files are created with that mode;
 * files and directories left looser by an older version are tightened, and reported so the
 * caller can log what it changed.
 */
export interface Tightened {
  path: string;
  /** Octal modes, e.g. `644` → `600`. */
  from: string;
  to: string;
}

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;
/** Group and other permission bits. */
const SHARED_BITS = 0o077;
const STICKY = 0o1000;

/**
 * Creates `dir` (and missing parents) as 0700, or tightens it when group or others have access.
 * A directory with the sticky bit (`/tmp`, pointed at by mistake) is shared by design and left
 * alone: closing it would break every other user of it.
 */
export function privateDirectory(dir: string): Tightened[] {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  if (statSync(dir).mode & STICKY) return [];
  return tighten(dir, PRIVATE_DIR);
}

/**
 * Makes `path` private: created empty as 0600 when `create` and missing, tightened when it exists
 * with group or other bits. SQLite creates a database's `-wal`, `-shm` and `-journal` files with
 * the mode of the database file, so creating that one private is enough for them.
 */
export function privateFile(path: string, { create = false } = {}): Tightened[] {
  if (create) closeSync(openSync(path, 'a', PRIVATE_FILE));
  return tighten(path, PRIVATE_FILE);
}

function tighten(path: string, mode: number): Tightened[] {
  let current: number;
  try {
    current = statSync(path).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  if ((current & SHARED_BITS) === 0) return [];
  const next = current & mode;
  chmodSync(path, next);
  return [{ path, from: current.toString(8), to: next.toString(8) }];
}
