import type { Level } from 'pino';
import type { LogTemplate } from '../store/logs.js';
import type { PackedLines, PackedTemplates } from './packed-lines.js';

/** What the main thread gives the log-line thread at start (config can hold no functions: patterns go as their sources). */
export interface LineThreadData {
  scrub: { extraKeys: string[]; extraPatterns: string[] };
  maxProjects?: number;
  maxTemplates?: number;
  logLevel: Level | 'silent';
}

export type ToLineThread =
  /** An NDJSON body (its bytes transferred): parse, scrub, template; `seenAt` is the logs' clock now. */
  | { type: 'parse'; id: number; body: Uint8Array; projectId: number; receivedAt: number; seenAt: number }
  /** Lines parsed on the main thread (Sentry `log` items): their templates only. */
  | { type: 'assign'; id: number; projectId: number; messages: string[]; seenAt: number }
  /** The answer to a `load`: a project's stored templates, most used first. */
  | { type: 'loaded'; id: number; templates: Pick<LogTemplate, 'template' | 'count'>[] | null; error?: string };

export type FromLineThread =
  | { type: 'ready' }
  | { type: 'parsed'; id: number; lines: PackedLines }
  | { type: 'assigned'; id: number; templates: PackedTemplates }
  /** A request failed: `status` set when it is the sender's fault (a 400 of parseNdjson), else a server error. */
  | { type: 'failed'; id: number; error: string; status?: number }
  /** The thread needs a project's stored templates to seed its miner (once per project after a start). */
  | { type: 'load'; id: number; projectId: number; limit: number };
