import { createHash } from 'node:crypto';
import { jsonItem, serializeEnvelope, type Dsn, type EnvelopeItem } from '@botpulse/protocol';
import type { UpstreamKind } from '../store/upstream.js';

/**
 * The tag a Botpulse puts on every item it forwards, and never forwards an item that carries it:
 * with A forwarding to B and B to A, each event is stored once on each. A tag because it is the
 * one place every Sentry (and Botpulse) keeps with the event, and shows it: "this came through a
 * Botpulse". Its value is the forwarding server's public URL.
 */
export const FORWARDED_TAG = 'botpulse.forwarded';

/** The tags seed 000's ErrorTracker sets, carried over from wherever the event holds them. */
export const CARRIED_TAGS = ['origin', 'gen_request_id'] as const;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** True if a Botpulse forwarded this payload already (it came to us from another Botpulse). */
export function wasForwarded(payload: Json): boolean {
  return isObject(payload['tags']) && FORWARDED_TAG in payload['tags'];
}

/**
 * Where a value for a carried tag may sit when it is not a tag: seed 000's ErrorTracker passes
 * `origin` as an argument and the GenRequest in its payload, which a Sentry SDK sends as `extra`
 * (`extra.origin`, `extra.payload.gen_request_id`) or as a context of its own
 * (`contexts.<name>.origin`). The first found wins; tags win over all.
 */
function carriedValue(payload: Json, key: string): string | null {
  const extra = isObject(payload['extra']) ? payload['extra'] : {};
  const places: unknown[] = [extra[key], isObject(extra['payload']) ? extra['payload'][key] : undefined];
  if (isObject(payload['contexts'])) for (const ctx of Object.values(payload['contexts'])) if (isObject(ctx)) places.push(ctx[key]);
  for (const value of places) {
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  }
  return null;
}

/** The payload with the carried tags set as tags and our mark added. */
export function prepareForUpstream(payload: Json, kind: UpstreamKind, forwardedBy: string): Json {
  if (kind === 'check_in') return payload; // a check-in has no tags (see docs/upstream.md)
  if (kind === 'log') return markLogs(payload, forwardedBy);
  const tags: Record<string, unknown> = isObject(payload['tags']) ? { ...payload['tags'] } : {};
  for (const key of CARRIED_TAGS) {
    if (tags[key] !== undefined && tags[key] !== null && tags[key] !== '') continue;
    const value = carriedValue(payload, key);
    if (value !== null) tags[key] = value;
  }
  tags[FORWARDED_TAG] = forwardedBy;
  return { ...payload, tags };
}

/** Log items carry attributes, not tags: the mark is an attribute of each. */
function markLogs(payload: Json, forwardedBy: string): Json {
  if (!Array.isArray(payload['items'])) return payload;
  const items = payload['items'].map((item) =>
    isObject(item) ? { ...item, attributes: { ...(isObject(item['attributes']) ? item['attributes'] : {}), [FORWARDED_TAG]: { type: 'string', value: forwardedBy } } } : item,
  );
  return { ...payload, items };
}

/** Logs forwarded by a Botpulse carry the mark as an attribute. */
export function logsWereForwarded(payload: Json): boolean {
  return Array.isArray(payload['items']) && payload['items'].some((i) => isObject(i) && isObject(i['attributes']) && FORWARDED_TAG in i['attributes']);
}

/** One envelope per item, as SDKs send them (an envelope holds at most one event). */
export function envelopeFor(kind: UpstreamKind, eventId: string | null, payload: Json, now: number): Buffer {
  const item: EnvelopeItem =
    kind === 'log'
      ? jsonItem('log', payload, { item_count: Array.isArray(payload['items']) ? payload['items'].length : 0, content_type: 'application/vnd.sentry.items.log+json' })
      : jsonItem(kind, payload);
  const headers: Record<string, unknown> = { sent_at: new Date(now).toISOString(), sdk: { name: 'botpulse.forwarder', version: '1' } };
  if (eventId && kind !== 'log') headers['event_id'] = eventId;
  return serializeEnvelope({ headers, items: [item] });
}

export function authHeader(dsn: Dsn): string {
  return `Sentry sentry_version=7, sentry_key=${dsn.publicKey}, sentry_client=botpulse-forwarder/1`;
}

/**
 * Sampling decided by the event id, not by chance: a retry, a restart or a second process makes
 * the same decision for the same event.
 */
export function sampled(key: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  const n = createHash('sha1').update(key).digest().readUInt32BE(0);
  return n / 0x1_0000_0000 < rate;
}
