import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (`npm run build`; the tests of the CLI run what users run). */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
/** packages/server/package.json: the version `--version` prints. */
export const SERVER_PACKAGE = fileURLToPath(new URL('../../package.json', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI (or `script`) with `env` over a clean environment: no BOTPULSE_* of the shell that
 * runs the tests leaks in. Asynchronous, as a test server may run in this very process.
 */
export function runCli(args: string[], env: Record<string, string>, input = '', script = CLI): Promise<CliRun> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOTPULSE_')));
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [script, ...args], { env: { ...clean, ...env }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

/** No stack trace, no library internals: only what a person reads. */
export function assertNoStack(run: CliRun): void {
  assert.doesNotMatch(run.stderr, /\n\s+at |ioredis|Unhandled|node:internal/, run.stderr);
}
