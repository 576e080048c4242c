import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { inflateSync } from 'node:zlib';
import { parseEnvelope, EnvelopeParseError, type Envelope, type EnvelopeItem } from '@botpulse/protocol';
import { badRequest, tooLarge } from '../lib/errors.js';
import type { NewLogLine } from '../store/logs.js';
import type { ClientDiscard, SpoolItemInput } from '../store/store.js';
import { parseClientReport } from './client-report.js';
import { sentryLogItem } from './log-lines.js';

export interface IntakeOptions {
  maxEventBytes: number;
  maxAttachmentBytes: number;
  /**
   * Removes secrets from a parsed item in place, and from text. Runs here, before the spool
   * write, so a bot token never reaches the disk, not even in the spool or the WAL.
   */
  scrubber: { scrubEvent(value: object): unknown; scrubString(text: string): string };
}

/** What one request brought: items to spool, items only counted, and the id to answer with. */
export interface Intake {
  eventId: string | null;
  /** The envelope header `dsn`, which authenticates the envelope when no key came with the request. */
  dsn?: string;
  items: SpoolItemInput[];
  counts: Record<string, number>;
  /** What the sender's client reports say it dropped (with the time the drops were reported). */
  discards?: { discards: ClientDiscard[]; at: number }[];
  /** The records of `log` items, as lines for the log store (scrubbed); records that are no line are counted as `log_rejected`. */
  logLines: NewLogLine[];
}

/**
 * JSON items kept raw for the monitors: check-ins, and for the latency statistics transactions
 * and `span` items (span v2 containers from `@sentry/node` 11 and sentry-python's streaming mode,
 * whose segment spans are what transactions were). `log` items become log lines (docs/logs.md).
 */
const PARKED_KINDS = new Set(['transaction', 'check_in', 'span']);

/**
 * Item types of the Sentry protocol (develop.sentry.dev "Envelope Items", and Relay's `ItemType`).
 * Those not stored are counted under their own name; any other type under UNKNOWN_ITEM_TYPE, so a
 * client inventing names cannot grow `item_counts`, `/health` or `/metrics` (nor store a secret
 * written as a type name).
 */
export const KNOWN_ITEM_TYPES: ReadonlySet<string> = new Set([
  'event', 'transaction', 'attachment', 'session', 'sessions', 'client_report', 'user_report', 'feedback',
  'check_in', 'log', 'otel_log', 'span', 'otel_span', 'otel_traces_data', 'trace_metric', 'profile', 'profile_chunk',
  'replay_event', 'replay_recording', 'replay_video', 'statsd', 'metric_buckets', 'metric_meta', 'security',
  'raw_security', 'nel', 'form_data', 'unreal_report',
]);
export const UNKNOWN_ITEM_TYPE = 'unknown';

/**
 * Turns an envelope body into spool items. Validates what must be valid for the event to be
 * digestible later (size, UTF-8, JSON) so that a 200 is never followed by a silent drop.
 */
export function intakeEnvelope(body: Buffer, projectId: number, limits: IntakeOptions, receivedAt: number): Intake {
  const envelope = parseOrReject(body);
  const headerId = absent(envelope.headers.event_id) ? null : normalizeEventId(envelope.headers.event_id);
  const intake: Intake = { eventId: headerId, items: [], counts: {}, logLines: [] };
  if (typeof envelope.headers.dsn === 'string') intake.dsn = envelope.headers.dsn;
  let headerIdUsed = false;

  envelope.items.forEach((item, index) => {
    const kind = item.headers.type;
    if (kind === 'event') {
      const value = checkJsonItem(item, index, limits.maxEventBytes);
      const payloadId = value.event_id;
      // The envelope header's id wins for the (single) event item, as in Relay.
      const eventId = (!headerIdUsed && headerId) || (absent(payloadId) ? randomHexId() : normalizeEventId(payloadId));
      // The digest keeps the first event of an id and drops the others as SDK retries: a second
      // event item with the same id would be answered 200 and then dropped. Refused instead.
      if (intake.items.some((spooled) => spooled.kind === 'event' && spooled.eventId === eventId)) {
        throw badRequest(`item ${index + 1} (event) has the event id ${eventId} of an earlier event item; an envelope holds one event per id`);
      }
      headerIdUsed = true;
      intake.eventId ??= eventId;
      intake.items.push({ projectId, kind, eventId, receivedAt, payload: scrubbedJson(value, limits) });
    } else if (kind === 'log') {
      addLogItem(intake, checkJsonItem(item, index, limits.maxEventBytes), projectId, limits, receivedAt);
    } else if (PARKED_KINDS.has(kind)) {
      const value = checkJsonItem(item, index, limits.maxEventBytes);
      intake.items.push({ projectId, kind, eventId: headerId, receivedAt, payload: scrubbedJson(value, limits) });
    } else if (kind === 'attachment') {
      addAttachment(intake, item, headerId, projectId, limits, receivedAt);
    } else if (kind === 'client_report') {
      addClientReport(intake, item, limits, receivedAt);
    } else {
      // session(s), client_report, profile, replay...: accepted, counted
      count(intake, KNOWN_ITEM_TYPES.has(kind) ? kind : UNKNOWN_ITEM_TYPE);
    }
  });
  return intake;
}

/** The legacy `/store/` body: one JSON event, or base64(+zlib) of it from old clients. */
export function intakeStoreBody(body: Buffer, projectId: number, limits: IntakeOptions, receivedAt: number): Intake {
  const json = decodeLegacyBody(body);
  const item: EnvelopeItem = { headers: { type: 'event' }, payload: json };
  const value = checkJsonItem(item, 0, limits.maxEventBytes);
  const eventId = absent(value.event_id) ? randomHexId() : normalizeEventId(value.event_id);
  return { eventId, items: [{ projectId, kind: 'event', eventId, receivedAt, payload: scrubbedJson(value, limits) }], counts: {}, logLines: [] };
}

function parseOrReject(body: Buffer): Envelope {
  try {
    return parseEnvelope(body);
  } catch (err) {
    if (err instanceof EnvelopeParseError) throw badRequest(`malformed envelope: ${err.message}`);
    throw err;
  }
}

function scrubbedJson(value: object, options: IntakeOptions): Buffer {
  options.scrubber.scrubEvent(value);
  return Buffer.from(JSON.stringify(value));
}

function checkJsonItem(item: EnvelopeItem, index: number, maxBytes: number): { event_id?: unknown } {
  const what = `item ${index + 1} (${item.headers.type})`;
  if (item.payload.length > maxBytes) {
    throw tooLarge(`${what} is ${item.payload.length} bytes; the limit is ${maxBytes}`);
  }
  if (!isUtf8(item.payload)) throw badRequest(`${what} is not valid UTF-8`);
  let value: unknown;
  try {
    value = JSON.parse(item.payload.toString('utf8'));
  } catch (err) {
    throw badRequest(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest(`${what} must be a JSON object`);
  }
  return value as { event_id?: unknown };
}

/** A `log` item's records, scrubbed, as lines; each record that cannot be a line is counted (`log_rejected`). */
function addLogItem(intake: Intake, value: object, projectId: number, limits: IntakeOptions, receivedAt: number): void {
  const parsed = sentryLogItem(value as Record<string, unknown>, { projectId, receivedAt, source: 'sentry', scrubber: limits.scrubber });
  intake.logLines.push(...parsed.lines);
  if (parsed.lines.length) intake.counts['log'] = (intake.counts['log'] ?? 0) + parsed.lines.length;
  if (parsed.rejected.length) intake.counts['log_rejected'] = (intake.counts['log_rejected'] ?? 0) + parsed.rejected.length;
}

function addAttachment(
  intake: Intake,
  item: EnvelopeItem,
  eventId: string | null,
  projectId: number,
  limits: IntakeOptions,
  receivedAt: number,
): void {
  if (!eventId) return count(intake, 'attachment_without_event');
  if (item.payload.length > limits.maxAttachmentBytes) return count(intake, 'attachment_over_limit');
  // The name and type are shown and stored as sent: a token in them is scrubbed like any text.
  const meta = {
    filename: limits.scrubber.scrubString(String(item.headers.filename ?? 'attachment')),
    contentType: typeof item.headers.content_type === 'string' ? limits.scrubber.scrubString(item.headers.content_type) : null,
  };
  // Text attachments (logs, state dumps) are scrubbed like events; binary ones are kept as sent.
  const payload = isUtf8(item.payload) ? Buffer.from(limits.scrubber.scrubString(item.payload.toString('utf8'))) : item.payload;
  intake.items.push({ projectId, kind: 'attachment', eventId, receivedAt, payload, meta });
}

/**
 * A client report is counted (as before) and its discards kept for the project's totals. An
 * unreadable report is counted as such and accepted: refusing it would refuse its envelope.
 */
function addClientReport(intake: Intake, item: EnvelopeItem, limits: IntakeOptions, receivedAt: number): void {
  count(intake, 'client_report');
  const report = item.payload.length <= limits.maxEventBytes ? parseClientReport(item.payload) : null;
  if (!report) return count(intake, 'client_report_invalid');
  if (report.invalid > 0) intake.counts['client_report_invalid_entries'] = (intake.counts['client_report_invalid_entries'] ?? 0) + report.invalid;
  if (report.discards.length === 0) return;
  // The report's own time, unless it is implausible (a replayed report may be days old; not from the future).
  const at = report.timestamp !== undefined && report.timestamp <= receivedAt + 300_000 && report.timestamp >= receivedAt - 30 * 86_400_000 ? report.timestamp : receivedAt;
  (intake.discards ??= []).push({ discards: report.discards, at: Math.round(at) });
}

function count(intake: Intake, kind: string): void {
  intake.counts[kind] = (intake.counts[kind] ?? 0) + 1;
}

/** JSON's null is no id, as a missing one: the server makes one up (as Relay does). */
function absent(id: unknown): boolean {
  return id === undefined || id === null;
}

/** Event ids are 32 hex characters; dashed UUIDs are accepted and normalised. */
export function normalizeEventId(value: unknown): string {
  const id = typeof value === 'string' ? value.replace(/-/g, '').toLowerCase() : '';
  if (!/^[0-9a-f]{32}$/.test(id)) throw badRequest(`invalid event_id ${JSON.stringify(value)}: expected 32 hex characters or a UUID`);
  return id;
}

export function randomHexId(): string {
  return randomUUID().replace(/-/g, '');
}

function decodeLegacyBody(body: Buffer): Buffer {
  const first = body.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first === 0x7b /* { */ || first === undefined) return body;
  const decoded = Buffer.from(body.toString('latin1').trim(), 'base64');
  try {
    return inflateSync(decoded);
  } catch {
    return decoded; // base64 of plain JSON; checkJsonItem reports it if it isn't
  }
}
