/**
 * The log-line thread's entry (logs/line-worker.ts starts it with the URL main.ts gives it): parse,
 * scrub and template log lines off the main thread (logs/line-thread.ts).
 */
import { runLineThread } from './logs/line-thread.js';

runLineThread();
