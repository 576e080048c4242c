// Turns thrown values into Sentry `exception.values`, the way @sentry/node does: V8 stack lines
// parsed into frames (oldest first), `module` derived from the path, `in_app` for code outside
// node_modules and node internals, and source context lines. Botpulse groups by in-app frames
// and their context lines (never line numbers), so the context lines are what make grouping stable.
import { readFileSync, statSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SentryException, SentryStackFrame } from '@botpulse/protocol';
import { LruMap } from './lru.js';

/** How the error reached the SDK: `handled: false` for errors that escaped a handler. */
export interface Mechanism {
  type: string;
  handled: boolean;
  synthetic?: boolean;
  data?: Record<string, unknown>;
}

export interface StackOptions {
  /** Lines of context before and after the error line; 0 disables reading source files. Default 5. */
  contextLines?: number;
  /** Base directory for `module` names; default the directory of the main script. */
  moduleBase?: string;
  /** How deep to follow `error.cause`; default 5. */
  maxCauseDepth?: number;
}

const MAX_FRAMES = 50;
const MAX_VALUE_LENGTH = 8192;
const MAX_LINE_LENGTH = 300;
const MAX_SOURCE_BYTES = 2 * 1024 * 1024;
const FULL_MATCH = /at (?:async )?(?:(.+?)\s+\()?(?:(.+):(\d+):(\d+)?|([^)]+))\)?/;

const sourceCache = new LruMap<string, string[] | null>(64);

/**
 * Converts an error (and its `cause` chain) into Sentry exception values, oldest cause first,
 * the thrown error last.
 * @example exceptionsFromError(new Error('boom', { cause: err }), { type: 'generic', handled: true })
 */
export function exceptionsFromError(error: unknown, mechanism: Mechanism, options: StackOptions = {}): SentryException[] {
  const chain: unknown[] = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== undefined && current !== null && !seen.has(current) && chain.length <= (options.maxCauseDepth ?? 5)) {
    seen.add(current);
    chain.push(current);
    current = current instanceof Error ? (current as Error & { cause?: unknown }).cause : undefined;
  }
  const values = chain.map((item, index) => exceptionFromValue(item, index === 0 ? mechanism : chainedMechanism(index), options));
  return values.reverse();
}

function chainedMechanism(index: number): Mechanism {
  return { type: 'chained', handled: true, data: { source: 'cause', exception_id: index, parent_id: index - 1 } };
}

function exceptionFromValue(value: unknown, mechanism: Mechanism, options: StackOptions): SentryException {
  if (!(value instanceof Error)) {
    return { type: 'Error', value: describeNonError(value), mechanism: { ...mechanism, synthetic: true } };
  }
  const message = value.message.length > MAX_VALUE_LENGTH ? `${value.message.slice(0, MAX_VALUE_LENGTH)}…` : value.message;
  const exception: SentryException = { type: errorType(value), value: message, mechanism: { ...mechanism } };
  const frames = parseStack(value.stack ?? '', options);
  if (frames.length > 0) exception.stacktrace = { frames };
  return exception;
}

/**
 * The name Sentry shows: `error.name`, else the constructor name.
 * @example errorType(new TypeError('x')) // 'TypeError'
 */
export function errorType(error: Error): string {
  const name = error.name && error.name !== 'Error' ? error.name : error.constructor?.name;
  return name || 'Error';
}

function describeNonError(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return `Non-Error thrown: ${JSON.stringify(value) ?? String(value)}`;
  } catch {
    return `Non-Error thrown: ${String(value)}`;
  }
}

/**
 * Parses a V8 stack string into Sentry frames, oldest first (V8 prints the newest first).
 * @example parseStack(new Error('x').stack!).at(-1)?.function
 */
export function parseStack(stack: string, options: StackOptions = {}): SentryStackFrame[] {
  const getModule = moduleNamer(options.moduleBase);
  const frames: SentryStackFrame[] = [];
  for (const line of stack.split('\n')) {
    if (!/^\s*at /.test(line)) continue;
    const frame = parseLine(line, getModule);
    if (frame) frames.push(frame);
    if (frames.length >= MAX_FRAMES) break;
  }
  frames.reverse();
  const contextLines = options.contextLines ?? 5;
  if (contextLines > 0) for (const frame of frames) addContextLines(frame, contextLines);
  return frames;
}

function parseLine(line: string, getModule: (path: string) => string | undefined): SentryStackFrame | undefined {
  const match = FULL_MATCH.exec(line);
  if (!match) return undefined;
  const [, rawFunction, location, lineno, colno, bare] = match;
  const isNative = bare === 'native';
  let path = location ?? (isNative ? undefined : bare);
  if (path?.startsWith('file://')) {
    try {
      path = fileURLToPath(path);
    } catch {
      // keep the URL as it is
    }
  }
  const frame: SentryStackFrame = { function: functionName(rawFunction) };
  if (path) {
    frame.filename = path;
    frame.abs_path = path;
    const module = getModule(path);
    if (module) frame.module = module;
  }
  if (lineno) frame.lineno = Number(lineno);
  if (colno) frame.colno = Number(colno);
  frame.in_app = isInApp(path, isNative);
  return frame;
}

/** Sentry's naming: `Object.method` keeps its object, `<anonymous>` methods become `?`. */
function functionName(raw: string | undefined): string {
  if (!raw) return '?';
  let name = raw;
  const objectEnd = name.indexOf('.Module');
  if (objectEnd > 0 && name.lastIndexOf('.') > objectEnd) name = name.slice(objectEnd + 1);
  if (name.endsWith('.<anonymous>')) name = `${name.slice(0, -'.<anonymous>'.length)}.?`;
  return name === '<anonymous>' ? '?' : name;
}

/**
 * Code of the app: absolute paths outside node_modules; node internals and natives are not.
 * @example isInApp('/srv/bot/src/pay.js') // true
 */
export function isInApp(path: string | undefined, isNative = false): boolean {
  if (!path || isNative) return false;
  if (path.startsWith('node:') || path.includes('/node_modules/') || path.includes('\\node_modules\\')) return false;
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('.');
}

/**
 * `module` like @sentry/node: `pkg.sub:file` under node_modules, `dir.sub:file` relative to the
 * app's base directory, else the bare file name; extensions `.js/.mjs/.cjs` dropped.
 */
function moduleNamer(base: string | undefined): (path: string) => string | undefined {
  const basePath = (base ?? (process.argv[1] ? dirname(process.argv[1]) : process.cwd())).replace(/\\/g, '/');
  return (filename) => {
    if (!filename || filename.startsWith('node:')) return undefined;
    const normalized = filename.replace(/^[A-Z]:/, '').replace(/\\/g, '/');
    let { dir, base: file, ext } = posix.parse(normalized);
    if (ext === '.js' || ext === '.mjs' || ext === '.cjs') file = file.slice(0, -ext.length);
    if (!dir) dir = '.';
    const nodeModules = dir.lastIndexOf('/node_modules');
    if (nodeModules > -1) return `${dir.slice(nodeModules + 14).replace(/\//g, '.')}:${file}`;
    if (dir.startsWith(basePath)) {
      const name = dir.slice(basePath.length + 1).replace(/\//g, '.');
      return name ? `${name}:${file}` : file;
    }
    return file;
  };
}

function addContextLines(frame: SentryStackFrame, count: number): void {
  const path = frame.abs_path;
  if (!path || frame.lineno === undefined || !(path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path))) return;
  const lines = sourceLines(path);
  const index = frame.lineno - 1;
  if (!lines || index < 0 || index >= lines.length) return;
  frame.pre_context = lines.slice(Math.max(0, index - count), index).map(clip);
  frame.context_line = clip(lines[index] ?? '');
  frame.post_context = lines.slice(index + 1, index + 1 + count).map(clip);
}

function clip(line: string): string {
  return line.length > MAX_LINE_LENGTH ? `${line.slice(0, MAX_LINE_LENGTH)}…` : line;
}

/** Source lines of a file, cached (a miss is cached too, so an unreadable file is tried once). */
function sourceLines(path: string): string[] | null {
  const cached = sourceCache.get(path);
  if (cached !== undefined) return cached;
  let lines: string[] | null = null;
  try {
    if (statSync(path).size <= MAX_SOURCE_BYTES) lines = readFileSync(path, 'utf8').split(/\r?\n/);
  } catch {
    lines = null;
  }
  sourceCache.set(path, lines);
  return lines;
}
