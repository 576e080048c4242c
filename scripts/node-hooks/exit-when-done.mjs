// Loaded (--import) into every test file's process by scripts/run-tests.mjs, in place of Node's
// --test-force-exit, which can lose a file's last results and still exit 0 (nodejs/node#64833).
// Once a file's tests and hooks are done its process must end by itself. If something the file
// started is still open OPEN_GRACE_MS later, this names what is open and fails the file, so a
// leak is reported instead of hanging the run or being hidden by a forced exit.
import { after } from 'node:test';

// Long enough for a file's own top-level after() hooks, which run after this one is armed, to
// stop what they stopped (servers, child processes, database clusters).
const OPEN_GRACE_MS = 60_000;

// Only in a test file's own process (the runner sets NODE_TEST_CONTEXT there), not the parent's.
if (process.env.NODE_TEST_CONTEXT) {
  after(() => {
    setTimeout(() => {
      const open = process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap');
      console.error(
        `\n# this test file's tests finished ${OPEN_GRACE_MS / 1000} s ago but its process is still held open by: ${open.join(', ')}` +
          '\n# something the file started (a server, a thread, a timer, a child process, a connection) was never closed',
      );
      process.exit(1);
    }, OPEN_GRACE_MS).unref();
  });
}
