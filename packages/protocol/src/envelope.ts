import { EnvelopeParseError } from './errors.js';

/** Envelope headers: the first line of an envelope. Unknown keys are kept. */
export interface EnvelopeHeaders {
  event_id?: string;
  dsn?: string;
  sent_at?: string;
  sdk?: { name?: string; version?: string };
  [key: string]: unknown;
}

/** Item headers: `type` is required, `length` optional (without it the payload ends at `\n`). */
export interface ItemHeaders {
  type: string;
  length?: number;
  filename?: string;
  content_type?: string;
  attachment_type?: string;
  [key: string]: unknown;
}

export interface EnvelopeItem {
  headers: ItemHeaders;
  payload: Buffer;
}

export interface Envelope {
  headers: EnvelopeHeaders;
  items: EnvelopeItem[];
}

const NEWLINE = 0x0a;

/**
 * Parses a whole (already decompressed) envelope. Follows the Sentry spec: items with or without
 * `length`, optional final newline, `\r` belongs to the payload, unknown item types kept.
 * Throws EnvelopeParseError with a message a client can act on.
 */
export function parseEnvelope(body: Buffer): Envelope {
  let pos = 0;
  const readLine = (): Buffer | null => {
    if (pos >= body.length) return null;
    const end = body.indexOf(NEWLINE, pos);
    const line = body.subarray(pos, end < 0 ? body.length : end);
    pos = end < 0 ? body.length : end + 1;
    return line;
  };

  const headerLine = readLine();
  if (headerLine === null || headerLine.length === 0) {
    throw new EnvelopeParseError('envelope is empty: the first line must be the envelope headers JSON');
  }
  const headers = parseJsonObject(headerLine, 'envelope headers') as EnvelopeHeaders;
  const items: EnvelopeItem[] = [];

  while (pos < body.length) {
    const line = readLine();
    if (line === null) break;
    if (line.length === 0) continue; // tolerate blank lines between items
    const itemHeaders = parseJsonObject(line, `item ${items.length + 1} headers`) as ItemHeaders;
    if (typeof itemHeaders.type !== 'string' || itemHeaders.type === '') {
      throw new EnvelopeParseError(`item ${items.length + 1} headers have no "type"`);
    }
    items.push({ headers: itemHeaders, payload: readPayload(itemHeaders, items.length + 1) });
  }
  return { headers, items };

  function readPayload(itemHeaders: ItemHeaders, index: number): Buffer {
    const length = itemHeaders.length;
    if (length === undefined || length === null) {
      return readLine() ?? Buffer.alloc(0);
    }
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) {
      throw new EnvelopeParseError(`item ${index} has an invalid "length": ${JSON.stringify(length)}`);
    }
    if (pos + length > body.length) {
      throw new EnvelopeParseError(
        `item ${index} declares length ${length} but only ${body.length - pos} bytes follow (truncated envelope?)`,
      );
    }
    const payload = body.subarray(pos, pos + length);
    pos += length;
    if (pos < body.length) {
      if (body[pos] !== NEWLINE) {
        throw new EnvelopeParseError(`item ${index}: expected a newline after ${length} payload bytes (wrong "length"?)`);
      }
      pos += 1;
    }
    return payload;
  }
}

function parseJsonObject(line: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch (err) {
    throw new EnvelopeParseError(`${what} are not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EnvelopeParseError(`${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Serializes an envelope, always writing `length` so payloads may contain newlines. */
export function serializeEnvelope(envelope: Envelope): Buffer {
  const parts: Buffer[] = [Buffer.from(JSON.stringify(envelope.headers) + '\n')];
  for (const item of envelope.items) {
    const headers = { ...item.headers, length: item.payload.length };
    parts.push(Buffer.from(JSON.stringify(headers) + '\n'), item.payload, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Convenience: an envelope item holding a JSON payload. */
export function jsonItem(type: string, payload: unknown, extra: Partial<ItemHeaders> = {}): EnvelopeItem {
  return { headers: { type, ...extra }, payload: Buffer.from(JSON.stringify(payload)) };
}
