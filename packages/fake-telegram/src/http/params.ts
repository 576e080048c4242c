// Typed access to request parameters. Form and multipart bodies deliver everything as
// strings (numbers, booleans, JSON-serialized objects), JSON bodies deliver real values;
// Telegram accepts both for every field, so the accessors coerce.
import { badRequest } from '../errors.js';
import type { RawParams } from './body.js';

/** Fields whose value is a JSON object/array; form bodies carry them JSON-serialized. */
const JSON_FIELDS = new Set([
  'reply_markup', 'allowed_updates', 'reply_parameters', 'entities', 'caption_entities', 'commands',
  'scope', 'link_preview_options', 'menu_button', 'media', 'results', 'message_ids',
]);

/**
 * Parses JSON-serialized fields and resolves "attach://name" file references, so handlers and
 * the call log see the same shape whatever encoding the client used.
 */
export function normalizeParams(raw: RawParams): RawParams {
  const out: RawParams = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === null || value === undefined) continue;
    out[key] = JSON_FIELDS.has(key) && typeof value === 'string' ? tryJson(value) : value;
  }
  for (const [key, value] of Object.entries(out)) {
    if (typeof value === 'string' && value.startsWith('attach://') && raw[value.slice(9)] !== undefined) {
      out[key] = raw[value.slice(9)];
    }
  }
  return out;
}

function tryJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value; // left as a string; the handler reports the field as unparsable
  }
}

export class Params {
  constructor(readonly raw: RawParams) {}

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  string(name: string): string | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return undefined;
  }

  integer(name: string): number | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value.trim());
    throw badRequest(`invalid ${name} specified`);
  }

  requireInteger(name: string, whenMissing = `${name} is empty`): number {
    const value = this.integer(name);
    if (value === undefined) throw badRequest(whenMissing);
    return value;
  }

  boolean(name: string): boolean {
    const value = this.raw[name];
    return value === true || value === 'true' || value === 1 || value === '1';
  }

  /** An object/array field, given as a value or as a JSON string. */
  json<T>(name: string, errorWhenInvalid: string): T | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'object') return value as T;
    throw badRequest(errorWhenInvalid);
  }

  /** chat_id: an integer id or an "@username" string. */
  chatId(): number | string {
    const value = this.raw['chat_id'];
    if (value === undefined || value === null || value === '') throw badRequest('chat_id is empty');
    if (typeof value === 'number') return value;
    const text = String(value).trim();
    if (/^-?\d+$/.test(text)) return Number(text);
    if (text.startsWith('@')) return text;
    throw badRequest('chat not found');
  }
}
