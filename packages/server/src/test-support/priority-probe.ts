import { getPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { FORWARDER_NICE, lowerThreadPriority } from '../upstream/thread.js';

/** A worker thread that lowers its priority as the forwarder thread does, and says what it got (upstream/poster.test.ts). */
const tid = lowerThreadPriority(FORWARDER_NICE);
parentPort!.postMessage({ tid, nice: tid === null ? null : getPriority(tid), wanted: FORWARDER_NICE });
