// Support for the tests of the `botpulse` Python package (packages/python, issue 15): virtual
// environments with the package installed offline as a user installs it, and runners for the
// /usr/bin/python3 scripts in packages/python/tests/ (JSON lines on stdout).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { StoredEvent } from '../../../packages/server/src/store/model.js';
import type { TestServer } from '../../../packages/server/src/test-support/server.js';
import { reapOnExit } from '../support/children.js';

export const PYTHON = '/usr/bin/python3';
const PACKAGE = fileURLToPath(new URL('../../../packages/python', import.meta.url));
export const SCRIPTS = join(PACKAGE, 'tests');
export const LOCK_BOT = fileURLToPath(new URL('../sdk-support/lock-bot.ts', import.meta.url));
export const run = promisify(execFile);

const MODULES = ['sentry_sdk', 'telegram', 'django', 'celery', 'redis'];
async function missingModules(): Promise<string[]> {
  if (!existsSync(PYTHON)) return ['python3'];
  const missing: string[] = [];
  for (const name of MODULES) {
    try {
      await run(PYTHON, ['-c', `import ${name}`]);
    } catch {
      missing.push(name);
    }
  }
  return missing;
}
const missing = await missingModules();
export const skip = missing.length > 0 && `missing Python modules: ${missing.join(', ')} (apt-get install python3-sentry-sdk python3-python-telegram-bot python3-django python3-celery python3-redis python3-venv)`;
if (skip && process.env['CI']) throw new Error(`CI must have them: ${skip}`);

/** Virtual environments with the package installed offline, in a temporary directory. */
export interface Venvs {
  dir: string;
  /** --system-site-packages: Debian's sentry-sdk, telegram, django, celery, redis are visible. */
  system: string;
  /** Without system site packages: only the standard library and botpulse (no sentry-sdk); '' when not asked for. */
  bare: string;
}

/** A copy of the package source (a build must not write build/ or *.egg-info into the checkout, which other runs read). */
function copySource(dir: string): string {
  const source = join(dir, 'src');
  cpSync(PACKAGE, source, { recursive: true, filter: (path) => !/(__pycache__|\.egg-info|[/\\]build)$/.test(path) });
  return source;
}

/** Exactly as docs/python.md tells a user: `python3 -m venv --system-site-packages V && V/bin/pip install --no-build-isolation ./packages/python`. */
export async function makeUserVenv(): Promise<Venvs> {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-python-'));
  const source = copySource(dir);
  await run(PYTHON, ['-m', 'venv', '--system-site-packages', join(dir, 'system')]);
  await run(join(dir, 'system/bin/pip'), ['install', '-q', '--no-index', '--no-build-isolation', source], { timeout: 150_000 });
  return { dir, system: join(dir, 'system/bin/python'), bare: '' };
}

/**
 * Both kinds of venv, quicker: one wheel built by the system pip, installed into venvs made
 * without pip of their own (ensurepip is most of a venv's cost). The bare one has no `wheel` to
 * build with anyway, so a wheel is how a package gets there offline.
 */
export async function makeVenvs(withBare = true): Promise<Venvs> {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-python-'));
  const source = copySource(dir);
  await run(PYTHON, ['-m', 'pip', 'wheel', '-q', '--no-index', '--no-build-isolation', '--no-deps', '-w', join(dir, 'wheels'), source], { timeout: 150_000 });
  const wheel = join(dir, 'wheels', readdirSync(join(dir, 'wheels')).find((f) => f.endsWith('.whl'))!);
  await run(PYTHON, ['-m', 'venv', '--without-pip', '--system-site-packages', join(dir, 'system')]);
  if (withBare) await run(PYTHON, ['-m', 'venv', '--without-pip', join(dir, 'bare')]);
  for (const venv of withBare ? ['system', 'bare'] : ['system']) {
    await run(PYTHON, ['-m', 'pip', '--python', join(dir, venv, 'bin/python'), 'install', '-q', '--no-index', '--no-deps', wheel], { timeout: 150_000 });
  }
  return { dir, system: join(dir, 'system/bin/python'), bare: withBare ? join(dir, 'bare/bin/python') : '' };
}

export type Line = Record<string, any>;

export async function script(python: string, name: string, env: Record<string, string>, args: string[] = []): Promise<Line[]> {
  const { stdout } = await run(python, [join(SCRIPTS, name), ...args], { cwd: tmpdir(), timeout: 120_000, env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: '1' } });
  return stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
}

export async function eventsOf(server: TestServer): Promise<StoredEvent[]> {
  await server.digested();
  const { issues } = await server.botpulse.store.listIssues({ projectId: server.project.id, limit: 100 });
  const events: StoredEvent[] = [];
  for (const issue of issues) events.push(...(await server.botpulse.store.listEvents(issue.id, { limit: 100 })));
  return events;
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every file under `dir`, read as bytes. */
export function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push({ path, bytes: readFileSync(path) });
  }
  return out;
}

export interface Proc {
  child: ChildProcess;
  lines: Line[];
  waitFor(pred: (l: Line) => boolean, what: string, ms?: number): Promise<Line>;
  exited: Promise<number | null>;
}

export const REPO = fileURLToPath(new URL('../../..', import.meta.url));

/** A child process printing JSON lines (run from the repository, where `--import tsx` resolves). */
export function start(command: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = reapOnExit(spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO, env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: '1' } }));
  const lines: Line[] = [];
  const listeners = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    lines.push(JSON.parse(line) as Line);
    for (const l of listeners) l();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitFor(pred, what, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find(pred);
          if (!hit) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no line for ${what} within ${ms} ms; got ${JSON.stringify(lines)}`));
        }, ms);
        listeners.add(check);
        check();
      });
    },
  };
}

