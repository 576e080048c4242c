// Options from code or the environment, with the seed's names: BOTPULSE_DSN / SENTRY_DSN,
// SENTRY_ENVIRONMENT, SENTRY_RELEASE (else the git commit), SENTRY_TRACES_SAMPLE_RATE with
// per-environment defaults (production 0.1, staging 0.5, development 1.0).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export type Env = Record<string, string | undefined>;

/**
 * Traces sample rate used when none is configured, by environment.
 * @example defaultTracesSampleRate('staging') // 0.5
 */
export function defaultTracesSampleRate(environment: string): number {
  const env = environment.toLowerCase();
  if (env.startsWith('prod')) return 0.1;
  if (env.startsWith('stag')) return 0.5;
  if (env.startsWith('dev') || env === 'local' || env === 'test') return 1.0;
  return 0.1;
}

/**
 * The DSN: the explicit option, else `BOTPULSE_DSN`, else `SENTRY_DSN`. Empty means disabled.
 * @example resolveDsn(undefined, { SENTRY_DSN: 'http://key@127.0.0.1:8000/1' })
 */
export function resolveDsn(option: string | null | undefined, env: Env): string | undefined {
  if (option === null) return undefined;
  const dsn = option ?? env['BOTPULSE_DSN'] ?? env['SENTRY_DSN'];
  return dsn && dsn.trim() !== '' ? dsn.trim() : undefined;
}

/**
 * `SENTRY_ENVIRONMENT`, else the seed's `ENVIRONMENT`, else `NODE_ENV`, else "production".
 * @example resolveEnvironment(undefined, process.env)
 */
export function resolveEnvironment(option: string | undefined, env: Env): string {
  return option ?? env['SENTRY_ENVIRONMENT'] ?? env['ENVIRONMENT'] ?? env['NODE_ENV'] ?? 'production';
}

/**
 * `SENTRY_RELEASE`, else the commit checked out in the working directory (if any).
 * @example resolveRelease(undefined, process.env) // 'v1.2.3' or a 40-hex commit
 */
export function resolveRelease(option: string | undefined, env: Env, cwd = process.cwd()): string | undefined {
  return option ?? env['SENTRY_RELEASE'] ?? gitCommit(cwd);
}

/** A sample rate from the option, else an environment variable, else the default; clamped to [0, 1]. */
export function resolveRate(option: number | undefined, raw: string | undefined, fallback: number): number {
  const parsed = raw !== undefined && raw.trim() !== '' ? Number(raw) : undefined;
  const value = option ?? (parsed !== undefined && Number.isFinite(parsed) ? parsed : fallback);
  return Math.min(1, Math.max(0, value));
}

const commitCache = new Map<string, string | undefined>();

/**
 * The current git commit of `cwd`: read from `.git/HEAD` (and refs or packed-refs) without
 * spawning git; only if that fails, `git rev-parse HEAD` once. Undefined outside a repository.
 * @example gitCommit() // 'e3b0c442...'
 */
export function gitCommit(cwd = process.cwd()): string | undefined {
  if (commitCache.has(cwd)) return commitCache.get(cwd);
  const commit = readCommitFromFiles(cwd) ?? runGitOnce(cwd);
  commitCache.set(cwd, commit);
  return commit;
}

function readCommitFromFiles(cwd: string): string | undefined {
  try {
    const gitDir = findGitDir(cwd);
    if (!gitDir) return undefined;
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const ref = /^ref:\s*(.+)$/.exec(head)?.[1];
    if (!ref) return undefined;
    const common = commonDir(gitDir);
    for (const dir of [gitDir, common]) {
      const loose = join(dir, ref);
      if (existsSync(loose)) return readFileSync(loose, 'utf8').trim();
    }
    const packed = join(common, 'packed-refs');
    if (!existsSync(packed)) return undefined;
    const line = readFileSync(packed, 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`));
    return line?.split(' ')[0];
  } catch {
    return undefined;
  }
}

/** `.git` is a directory, or (worktrees, submodules) a file saying `gitdir: <path>`. */
function findGitDir(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, '.git');
    if (existsSync(candidate)) {
      if (statSync(candidate).isDirectory()) return candidate;
      const pointer = /^gitdir:\s*(.+)$/m.exec(readFileSync(candidate, 'utf8'))?.[1]?.trim();
      return pointer ? resolve(dir, pointer) : undefined;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function commonDir(gitDir: string): string {
  const file = join(gitDir, 'commondir');
  return existsSync(file) ? resolve(gitDir, readFileSync(file, 'utf8').trim()) : gitDir;
}

function runGitOnce(cwd: string): string | undefined {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return /^[0-9a-f]{40}$/.test(out) ? out : undefined;
  } catch {
    return undefined;
  }
}
