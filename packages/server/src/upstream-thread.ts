/**
 * The upstream thread's entry (upstream/worker.ts starts it with the URL main.ts gives it). Like
 * digest-thread.ts it is a composition root: it picks its stores in stores.ts.
 */
import { openUpstreamThreadStores } from './stores.js';
import { runUpstreamThread } from './upstream/thread.js';

await runUpstreamThread(openUpstreamThreadStores);
