/**
 * The log-line thread (docs/logs.md "Threads"): parses, scrubs and templates NDJSON bodies on the
 * machine's second core, so the main thread keeps only HTTP, the append and the rules. It owns
 * every project's template miner (one owner: the Sentry `log` items parsed on the main thread are
 * sent here for their templates too). It touches no database: a miner's seed is asked of the main
 * thread (`load`). Requests are handled one at a time, in the order they came.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { ClientError } from '../lib/errors.js';
import { compileUserRegex } from '../lib/user-regex.js';
import { createScrubber } from '../digest/scrub.js';
import { parseNdjson } from '../ingest/log-lines.js';
import type { NewLogLine } from '../store/logs.js';
import { packLines, packTemplates } from './packed-lines.js';
import { LogTemplater } from './templater.js';
import type { FromLineThread, LineThreadData, ToLineThread } from './line-thread-messages.js';

export function runLineThread(): void {
  const data = workerData as LineThreadData;
  const port = parentPort!;
  const post = (message: FromLineThread, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);
  const logger = pino({ level: data.logLevel, base: { service: 'botpulse', thread: 'log-lines' } });
  const scrubber = createScrubber({ extraKeys: data.scrub.extraKeys, extraPatterns: data.scrub.extraPatterns.map(compileUserRegex) });

  let seenAt = Date.now();
  let nextLoad = 0;
  const loads = new Map<number, { resolve: (t: Pick<import('../store/logs.js').LogTemplate, 'template' | 'count'>[]) => void; reject: (e: Error) => void }>();
  const templater = new LogTemplater({
    ...(data.maxProjects ? { maxProjects: data.maxProjects } : {}),
    ...(data.maxTemplates ? { maxTemplates: data.maxTemplates } : {}),
    now: () => seenAt,
    load: (projectId, limit) =>
      new Promise((resolve, reject) => {
        const id = ++nextLoad;
        loads.set(id, { resolve, reject });
        post({ type: 'load', id, projectId, limit });
      }),
  });

  async function handle(m: Exclude<ToLineThread, { type: 'loaded' }>): Promise<void> {
    seenAt = m.seenAt;
    if (m.type === 'parse') {
      const body = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength);
      const ctx = { projectId: m.projectId, receivedAt: m.receivedAt, source: 'ndjson' as const };
      const parsed = parseNdjson(body, { ...ctx, scrubber });
      await templater.prepare(parsed.lines);
      templater.assign(parsed.lines);
      const lines = packLines(parsed.lines, ctx, parsed.rejected);
      post({ type: 'parsed', id: m.id, lines }, [lines.time.buffer as ArrayBuffer, lines.level.buffer as ArrayBuffer, lines.ends.buffer as ArrayBuffer, lines.chunkOf.buffer as ArrayBuffer, lines.templates.index.buffer as ArrayBuffer]);
    } else {
      const lines = m.messages.map((message) => ({ projectId: m.projectId, message }) as NewLogLine);
      await templater.prepare(lines);
      templater.assign(lines);
      const templates = packTemplates(lines);
      post({ type: 'assigned', id: m.id, templates }, [templates.index.buffer as ArrayBuffer]);
    }
  }

  // One request at a time, in arrival order (a miner's seed is awaited before its first lines).
  let queue = Promise.resolve();
  port.on('message', (m: ToLineThread) => {
    if (m.type === 'loaded') {
      const waiting = loads.get(m.id);
      loads.delete(m.id);
      if (m.templates) waiting?.resolve(m.templates);
      else waiting?.reject(new Error(`could not read the project's templates: ${m.error ?? 'unknown error'}`));
      return;
    }
    queue = queue.then(() =>
      handle(m).catch((err: unknown) => {
        const e = err as Error;
        if (!(err instanceof ClientError)) logger.error({ err, request: m.type }, 'log-line thread could not handle a batch');
        post({ type: 'failed', id: m.id, error: `${e.name}: ${e.message}`, ...(err instanceof ClientError ? { status: err.status } : {}) });
      }),
    );
  });
  post({ type: 'ready' });
}
