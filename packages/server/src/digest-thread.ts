/**
 * The digest thread's entry (digest/worker.ts starts it with the URL main.ts gives it). Like
 * main.ts it is a composition root: a worker thread cannot be handed objects, so it picks its
 * store itself, from stores.ts, and runs the digest (digest/thread.ts) on it.
 */
import { runDigestThread } from './digest/thread.js';
import { openDigestStore } from './stores.js';

await runDigestThread(openDigestStore);
