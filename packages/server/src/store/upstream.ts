/**
 * What the upstream forwarder (upstream/, docs/upstream.md) reads and keeps. The events table is
 * its queue: it reads stored events after a cursor, in id order, and never writes them.
 */

/** The kinds of item a project may forward; `event` is errors and messages. */
export const UPSTREAM_KINDS = ['event', 'transaction', 'check_in', 'log'] as const;
export type UpstreamKind = (typeof UPSTREAM_KINDS)[number];

export interface UpstreamProjectSettings {
  enabled: boolean;
  /** 0..1: the share of items forwarded, decided per event id (the same event always gets the same answer). */
  sampleRate: number;
  kinds: UpstreamKind[];
}

/** A stored event as the forwarder needs it. */
export interface ForwardableEvent {
  id: number;
  projectId: number;
  eventId: string;
  /** The stored payload: scrubbed, normalised, brotli-compressed (store/payload.ts). */
  payload: Buffer;
}

export interface UpstreamStore {
  /**
   * The highest events id below which no event can still appear: every transaction that took an
   * id up to it has ended. The forwarder reads only up to it, so its cursor never passes an event
   * committed late (PostgreSQL hands ids out at insert, not at commit). `exact: false` reads the
   * newest id without waiting (enough to skip history, never to move a cursor that sends).
   */
  eventHorizon(opts?: { exact?: boolean }): Promise<number>;
  /** The newest parked raw item of a kind (0 if none): where a new cursor of that kind starts. */
  rawItemHorizon(kind: string): Promise<number>;
  /** Events with `after < id <= upTo`, in id order. */
  eventsAfter(after: number, upTo: number, limit: number): Promise<ForwardableEvent[]>;
  /** How many events have `after < id <= upTo` (what giving up that range drops). */
  countEvents(after: number, upTo: number): Promise<number>;
  /** The id of the `n`-th event after `after` (1-based), or null if there are fewer. */
  nthEventAfter(after: number, n: number): Promise<number | null>;
  /** How many parked raw items of a kind have `id > after` (a raw kind's backlog). */
  countRawItems(kind: string, after: number): Promise<number>;
  /** The id of the `n`-th parked raw item of a kind after `after` (1-based), or null if there are fewer. */
  nthRawItemAfter(kind: string, after: number, n: number): Promise<number | null>;

  getValue(key: string): Promise<string | null>;
  setValue(key: string, value: string): Promise<void>;

  /** Settings set through the API, by project id. */
  projectSettings(): Promise<Map<number, UpstreamProjectSettings>>;
  putProjectSettings(projectId: number, settings: UpstreamProjectSettings, at: number): Promise<void>;
  deleteProjectSettings(projectId: number): Promise<boolean>;
}

export interface UpstreamSettingsRow {
  project_id: number;
  enabled: number | boolean;
  sample_rate: number;
  kinds: string;
}

export function toUpstreamSettings(row: UpstreamSettingsRow): UpstreamProjectSettings {
  const kinds = JSON.parse(row.kinds) as unknown;
  return {
    enabled: Boolean(row.enabled),
    sampleRate: Number(row.sample_rate),
    kinds: Array.isArray(kinds) ? kinds.filter((k): k is UpstreamKind => (UPSTREAM_KINDS as readonly unknown[]).includes(k)) : ['event'],
  };
}
