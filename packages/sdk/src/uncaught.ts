// Uncaught exceptions and unhandled rejections, as Sentry's Node SDK handles them by default:
// captured (level fatal, mechanism.handled false), delivered within a bounded time, and then
// Node's own behaviour kept. Listening to 'uncaughtException' / 'unhandledRejection' switches
// Node's default off (a listener means "I handle it"), so the SDK re-applies it itself:
//   - an uncaught exception ends the process with exit code 1, unless the application has its
//     own 'uncaughtException' listener (then the SDK reports and leaves the decision to it);
//   - an unhandled rejection follows the process's --unhandled-rejections mode (read from
//     process.execArgv and NODE_OPTIONS, as Node does): `throw` (Node's default) raises it as an
//     uncaught exception unless the application has its own 'unhandledRejection' listener;
//     `strict` raises it as an uncaught exception first (Node does that itself, before the
//     event); `warn` and `none` only report; `warn-with-error-code` sets the exit code to 1.
import { inspect } from 'node:util';
import type { BotpulseClient } from './client.js';
import { unwrapBotError } from './noise.js';
import { isGuarded } from './scope.js';

/** Node's `--unhandled-rejections` modes. */
export type UnhandledRejectionMode = 'throw' | 'strict' | 'warn' | 'none' | 'warn-with-error-code';

const MODES: ReadonlySet<string> = new Set(['throw', 'strict', 'warn', 'none', 'warn-with-error-code']);
const FLAG = /^--unhandled[-_]rejections(?:=(.*))?$/;

/**
 * The `--unhandled-rejections` mode of this process: the command line wins over NODE_OPTIONS
 * (as in Node), the last occurrence wins, and `throw` (Node ≥ 15's default) when neither says.
 * @example unhandledRejectionMode(['--unhandled-rejections=strict'], '') // 'strict'
 */
export function unhandledRejectionMode(execArgv: readonly string[] = process.execArgv, nodeOptions: string | undefined = process.env['NODE_OPTIONS']): UnhandledRejectionMode {
  return modeIn(execArgv) ?? modeIn(splitNodeOptions(nodeOptions ?? '')) ?? 'throw';
}

function modeIn(args: readonly string[]): UnhandledRejectionMode | undefined {
  let mode: UnhandledRejectionMode | undefined;
  for (let i = 0; i < args.length; i++) {
    const match = FLAG.exec(args[i] ?? '');
    if (!match) continue;
    const value = match[1] ?? args[i + 1];
    if (value !== undefined && MODES.has(value)) mode = value as UnhandledRejectionMode;
  }
  return mode;
}

/** NODE_OPTIONS as Node splits it: on spaces, with double quotes grouping and backslash escapes inside them. */
function splitNodeOptions(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  let started = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted && c === '\\' && i + 1 < value.length) {
      current += value[++i];
    } else if (c === '"') {
      quoted = !quoted;
      started = true;
    } else if (c === ' ' && !quoted) {
      if (started) out.push(current);
      current = '';
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

export interface ProcessHandlerOptions {
  /** Longest wait for delivery before the process exits (default 2000 ms). */
  shutdownTimeoutMs?: number;
  /** Default: `unhandledRejectionMode()` at install time. */
  unhandledRejections?: UnhandledRejectionMode;
}

const MARK = Symbol.for('botpulse.processHandler');
type Marked = ((...args: any[]) => void) & { [MARK]?: true };

interface Installed {
  client: BotpulseClient;
  timeoutMs: number;
  mode: UnhandledRejectionMode;
  onException: Marked;
  onRejection: Marked;
}

let installed: Installed | undefined;
let shuttingDown = false;

/**
 * Installs the process handlers for `client` (one set per process: a later call moves them to
 * the later client). `init()` calls it unless `captureUncaught: false`.
 * @example installProcessHandlers(client, { shutdownTimeoutMs: 3000 })
 */
export function installProcessHandlers(client: BotpulseClient, options: ProcessHandlerOptions = {}): void {
  const timeoutMs = options.shutdownTimeoutMs ?? 2000;
  const mode = options.unhandledRejections ?? unhandledRejectionMode();
  if (installed) {
    Object.assign(installed, { client, timeoutMs, mode });
    return;
  }
  const state: Installed = {
    client,
    timeoutMs,
    mode,
    onException: Object.assign((error: unknown) => onUncaughtException(state, error), { [MARK]: true as const }),
    onRejection: Object.assign((reason: unknown) => onUnhandledRejection(state, reason), { [MARK]: true as const }),
  };
  installed = state;
  process.on('uncaughtException', state.onException);
  process.on('unhandledRejection', state.onRejection);
}

/**
 * Removes the handlers if `client` owns them (its `close()` calls this): Node's defaults apply again.
 * @example uninstallProcessHandlers(client)
 */
export function uninstallProcessHandlers(client?: BotpulseClient): void {
  if (!installed || (client && installed.client !== client)) return;
  process.off('uncaughtException', installed.onException);
  process.off('unhandledRejection', installed.onRejection);
  installed = undefined;
}

/** True when the process handlers are installed (for `guardWebhook`, which relies on them). */
export function processHandlersInstalled(): boolean {
  return installed !== undefined;
}

/** Listeners of an event other than ours (and the one Node adds for domains). */
function othersListening(event: 'uncaughtException' | 'unhandledRejection'): number {
  const listeners: Function[] = event === 'uncaughtException' ? process.listeners('uncaughtException') : process.listeners('unhandledRejection');
  return listeners.filter((l) => !(l as Marked)[MARK] && l.name !== 'domainUncaughtExceptionClear').length;
}

function onUncaughtException(state: Installed, error: unknown): void {
  const processWouldExit = othersListening('uncaughtException') === 0;
  state.client.captureFatal(error, 'onuncaughtexception', { fatal: true });
  if (processWouldExit) shutDown(state, error);
}

function onUnhandledRejection(state: Installed, reason: unknown): void {
  if (isGuarded(unwrapBotError(reason))) {
    // An update's error under guardWebhook, surfacing after the guard answered (grammY's webhook
    // timeout leaves the handler's promise dangling): reported, and the process goes on.
    state.client.captureFatal(reason, 'onunhandledrejection', { fatal: false });
    return;
  }
  const appHandlesRejections = othersListening('unhandledRejection') > 0;
  switch (state.mode) {
    case 'strict':
      // Node raised it as an uncaught exception before this event: reported and decided there.
      state.client.captureFatal(reason, 'onunhandledrejection', { fatal: true });
      return;
    case 'throw':
      if (appHandlesRejections) {
        state.client.captureFatal(reason, 'onunhandledrejection', { fatal: false });
        return;
      }
      // Node raises it as an uncaught exception (a non-Error reason wrapped in an Error).
      reason = asError(reason);
      state.client.captureFatal(reason, 'onunhandledrejection', { fatal: true });
      if (othersListening('uncaughtException') > 0) {
        (process.emit as (event: string, ...args: unknown[]) => boolean)('uncaughtException', reason, 'unhandledRejection'); // the application's listener decides
        return;
      }
      shutDown(state, reason);
      return;
    case 'warn-with-error-code':
      state.client.captureFatal(reason, 'onunhandledrejection', { fatal: false });
      if (!appHandlesRejections) {
        process.emitWarning(rejectionWarning(reason), 'UnhandledPromiseRejectionWarning');
        process.exitCode = 1;
      }
      return;
    default:
      // warn (Node prints its own warning, listener or not) and none.
      state.client.captureFatal(reason, 'onunhandledrejection', { fatal: false });
  }
}

/**
 * Prints the error as Node does, delivers what is queued (at most `timeoutMs`), then exits 1.
 * A second fatal error during the wait is reported too; the wait is not restarted.
 */
function shutDown(state: Installed, error: unknown): void {
  if (shuttingDown) return;
  shuttingDown = true;
  process.stderr.write(`${inspect(error)}\n\nNode.js ${process.version}\n`);
  // Not unref'd: this timer keeps the process alive until it exits as promised.
  const deadline = setTimeout(() => process.exit(1), state.timeoutMs + 100);
  void state.client
    .flush(state.timeoutMs)
    .catch(() => false)
    .finally(() => {
      clearTimeout(deadline);
      process.exit(1);
    });
}

function asError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  const error = new Error(rejectionWarning(reason)) as Error & { code?: string };
  error.code = 'ERR_UNHANDLED_REJECTION';
  return error;
}

function rejectionWarning(reason: unknown): string {
  return (
    'This error originated either by throwing inside of an async function without a catch block, ' +
    `or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason "${inspect(reason)}".`
  );
}
