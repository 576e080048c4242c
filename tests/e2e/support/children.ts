import type { ChildProcess } from 'node:child_process';

// The processes a test file starts (servers, bots, `botpulse tail`) must not outlive it. When a
// file runs past the runner's timeout, the runner ends it with SIGTERM: without this, its
// `botpulse serve` children kept running, holding CPU and ports for the files after it.

const live = new Set<ChildProcess>();
let installed = false;

/** Registers a child to be killed (SIGKILL) when this test process exits or is told to stop. */
export function reapOnExit<T extends ChildProcess>(child: T): T {
  install();
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', killAll);
  // A listener replaces the default action (exit at once), so exit as the signal would have.
  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(code);
    });
  }
}
