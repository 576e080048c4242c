import type { ClientDiscard } from '../store/store.js';

/**
 * Sentry client reports (`client_report` envelope items): what an SDK discarded before sending,
 * `{timestamp, discarded_events: [{reason, category, quantity}]}`. Sent by @botpulse/sdk,
 * @sentry/node and sentry-python alike. Reasons and categories are kept as the SDK names them
 * (the protocol grows new ones), within a safe shape; an entry that does not fit is counted,
 * never a reason to refuse the envelope (it may carry an event).
 */
export interface ParsedClientReport {
  discards: ClientDiscard[];
  /** Entries that were not `{reason, category, quantity ≥ 1}` with sane names. */
  invalid: number;
  /** The report's own time (ms), when it has a usable one. */
  timestamp: number | undefined;
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_ENTRIES = 500;
/** One report never claims more than this per entry: a corrupt number must not swamp the totals. */
const MAX_QUANTITY = 1_000_000_000;

/** Reads a client report; null when the item is not a JSON object with a `discarded_events` list. */
export function parseClientReport(payload: Buffer): ParsedClientReport | null {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const entries = (value as { discarded_events?: unknown }).discarded_events;
  if (entries !== undefined && !Array.isArray(entries)) return null;
  const report: ParsedClientReport = { discards: [], invalid: 0, timestamp: reportTime((value as { timestamp?: unknown }).timestamp) };
  const totals = new Map<string, ClientDiscard>();
  for (const [index, entry] of (entries ?? []).entries()) {
    const discard = index < MAX_ENTRIES ? readEntry(entry) : null;
    if (!discard) {
      report.invalid += 1;
      continue;
    }
    const key = `${discard.reason}\u0000${discard.category}`;
    const seen = totals.get(key);
    if (seen) seen.quantity = Math.min(MAX_QUANTITY, seen.quantity + discard.quantity);
    else totals.set(key, discard);
  }
  report.discards = [...totals.values()];
  return report;
}

function readEntry(entry: unknown): ClientDiscard | null {
  if (typeof entry !== 'object' || entry === null) return null;
  const { reason, category, quantity } = entry as Record<string, unknown>;
  if (typeof reason !== 'string' || !NAME.test(reason) || typeof category !== 'string' || !NAME.test(category)) return null;
  if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1) return null;
  return { reason, category, quantity: Math.min(quantity, MAX_QUANTITY) };
}

/** ISO string or Unix seconds, as the protocol allows. */
function reportTime(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}
