/**
 * A log-line thread for line-worker.test.ts that dies when asked: a body reading `exit` ends the
 * thread (as a crash would) before the real thread (run beside it) answers; any other body is
 * handled by the real thread, so the handle's restart can be seen working.
 */
import { parentPort } from 'node:worker_threads';
import { runLineThread } from './line-thread.js';
import type { ToLineThread } from './line-thread-messages.js';

parentPort!.on('message', (m: ToLineThread) => {
  if (m.type === 'parse' && Buffer.from(m.body).toString() === 'exit') process.exit(3);
});
runLineThread();
