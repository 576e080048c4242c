import { ClientError } from '../lib/errors.js';

/**
 * One process-wide budget for the request bodies held in memory at once (bytes after
 * decompression, from the first chunk until the request is answered). The per-body caps bound one
 * request; without this, 8 parallel 95 MiB bodies still held 1.1 GB. Past the budget a request is
 * answered 503 with Retry-After at the chunk that would exceed it, never an out-of-memory crash.
 *
 * 503 rather than 429: the condition is this server's memory for a second or two, not a client
 * sending too much. Sentry SDKs read a 429 as a rate limit on every category and drop all events
 * for its duration; a 503 fails only the one envelope (and the Botpulse SDK retries it with backoff).
 */
export class BodyBudget {
  /** Bytes held by bodies being read or processed now. */
  inFlightBytes = 0;
  /** The most ever held at once since start: never above `limitBytes`. */
  peakInFlightBytes = 0;
  /** Bytes produced by decompression since start (also those of bodies refused half-way). */
  inflatedBytesTotal = 0;
  /** Requests refused because the budget was full. */
  refusedTotal = 0;

  constructor(readonly limitBytes: number) {}

  /** An account for one request; release it when the request is answered. */
  open(): BodyAccount {
    return new BodyAccount(this);
  }
}

export const BUDGET_RETRY_AFTER_SECONDS = 2;

export class BodyAccount {
  private held = 0;

  constructor(private readonly budget: BodyBudget) {}

  /** Takes `bytes` from the budget, or throws the 503 that refuses the request. */
  hold(bytes: number): void {
    const budget = this.budget;
    if (budget.inFlightBytes + bytes > budget.limitBytes) {
      budget.refusedTotal += 1;
      throw new ClientError(
        503,
        `Botpulse is holding ${mib(budget.inFlightBytes)} MiB of request bodies, its limit (BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT); retry in ${BUDGET_RETRY_AFTER_SECONDS} s`,
        { 'Retry-After': String(BUDGET_RETRY_AFTER_SECONDS) },
      );
    }
    budget.inFlightBytes += bytes;
    budget.peakInFlightBytes = Math.max(budget.peakInFlightBytes, budget.inFlightBytes);
    this.held += bytes;
  }

  inflated(bytes: number): void {
    this.budget.inflatedBytesTotal += bytes;
  }

  release(): void {
    this.budget.inFlightBytes -= this.held;
    this.held = 0;
  }
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
