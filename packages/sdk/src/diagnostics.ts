// Where the SDK tells the bot author about its own trouble: a failure it handled (a broken
// beforeSend, an unwritable disk queue, a Redis refresh that failed) or items it could not keep.
// Each one is counted (`client.counters().failures`, by kind) and written through a pino-shaped
// logger (`init({ logger })`, default one `[botpulse] …` line on stderr), at most once a minute
// per kind, so that a crash loop or a long outage cannot flood the bot's own logs.
import { scrubString } from './scrub.js';

/** What the SDK writes its warnings to: pino's `warn(obj, msg)` shape, so a pino logger or `createLogger()` fits. */
export interface DiagnosticLogger {
  warn(obj: object, msg: string): void;
}

/** How often one kind of failure is written at most (the count in between is carried on the next line). */
export const DIAGNOSTIC_LOG_INTERVAL_MS = 60_000;

/** The default: one line on stderr, the details as JSON. */
export const stderrLogger: DiagnosticLogger = {
  warn: (obj, msg) => console.warn(`[botpulse] ${msg} ${JSON.stringify(obj)}`),
};

/**
 * Counts and logs the SDK's own failures.
 * @example
 * const diagnostics = new Diagnostics(stderrLogger);
 * diagnostics.report('before_send', 'beforeSend threw; the event was sent unchanged', error);
 * diagnostics.failures // { before_send: 1 }
 */
export class Diagnostics {
  /** Failures by kind since the start. */
  readonly failures: Record<string, number> = {};
  private readonly lastLogged = new Map<string, { at: number; count: number }>();

  constructor(
    private readonly logger: DiagnosticLogger | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** A failure the SDK handled: counted under `kind`, and logged (throttled). */
  report(kind: string, message: string, error?: unknown, details: Record<string, unknown> = {}): void {
    this.failures[kind] = (this.failures[kind] ?? 0) + 1;
    this.log(kind, message, error === undefined ? details : { ...details, error: describe(error) });
  }

  /** Logs without counting (for losses already counted elsewhere, e.g. client reports). */
  log(kind: string, message: string, details: Record<string, unknown> = {}): void {
    if (!this.logger) return;
    const now = this.now();
    const last = this.lastLogged.get(kind);
    if (last && now - last.at < DIAGNOSTIC_LOG_INTERVAL_MS) {
      last.count += 1;
      return;
    }
    this.lastLogged.set(kind, { at: now, count: 0 });
    const fields: Record<string, unknown> = { botpulse: kind, ...details };
    if (last?.count) fields['repeated'] = last.count; // occurrences not logged since the previous line
    try {
      this.logger.warn(fields, message);
    } catch {
      // A broken logger must not break the bot; the failure is still counted.
    }
  }
}

/** An error as one line, tokens scrubbed (a Redis or HTTP error may quote a URL). */
function describe(error: unknown): string {
  let text: string;
  try {
    text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    text = Object.prototype.toString.call(error);
  }
  return scrubString(text);
}
