import { sql } from 'kysely';
import { toUpstreamSettings, type ForwardableEvent, type UpstreamProjectSettings, type UpstreamSettingsRow, type UpstreamStore } from '../upstream.js';
import { all, changes, one, type Db } from './query.js';

/** How long the horizon waits for digest transactions in flight before trying again later. */
const HORIZON_LOCK_TIMEOUT = '2s';

/**
 * UpstreamStore on PostgresStore's pool. Several processes digest at once and an id is taken at
 * insert, not at commit, so MAX(id) may pass an id whose transaction has not committed yet; a
 * cursor moved past it would skip that event forever. The horizon is therefore read under a
 * SHARE lock on events, which waits for every transaction writing events to end (and holds new
 * ones back for the moment of one MAX): after that, every id up to MAX(id) is final.
 */
export class PostgresUpstreamStore implements UpstreamStore {
  constructor(private readonly db: Db) {}

  async eventHorizon({ exact = true }: { exact?: boolean } = {}): Promise<number> {
    if (!exact) return Number((await one<{ n: number }>(this.db, sql`SELECT COALESCE(MAX(id), 0) AS n FROM events`))!.n);
    return this.db.transaction().execute(async (trx) => {
      await sql.raw(`SET LOCAL lock_timeout = '${HORIZON_LOCK_TIMEOUT}'`).execute(trx);
      await sql`LOCK TABLE events IN SHARE MODE`.execute(trx);
      return Number((await one<{ n: number }>(trx, sql`SELECT COALESCE(MAX(id), 0) AS n FROM events`))!.n);
    });
  }

  /** raw_items appends commit in id order (PostgresStore.appendToSpool), so MAX(id) is final. */
  async rawItemHorizon(kind: string): Promise<number> {
    return Number((await one<{ n: number }>(this.db, sql`SELECT COALESCE(MAX(id), 0) AS n FROM raw_items WHERE kind = ${kind}`))!.n);
  }

  async eventsAfter(after: number, upTo: number, limit: number): Promise<ForwardableEvent[]> {
    const rows = await all<{ id: number; project_id: number; event_id: string; payload: Buffer }>(
      this.db,
      sql`SELECT id, project_id, event_id, payload FROM events WHERE id > ${after} AND id <= ${upTo} ORDER BY id LIMIT ${limit}`,
    );
    return rows.map((r) => ({ id: Number(r.id), projectId: Number(r.project_id), eventId: r.event_id, payload: r.payload }));
  }

  async countEvents(after: number, upTo: number): Promise<number> {
    return Number((await one<{ n: number }>(this.db, sql`SELECT COUNT(*) AS n FROM events WHERE id > ${after} AND id <= ${upTo}`))!.n);
  }

  async nthEventAfter(after: number, n: number): Promise<number | null> {
    const row = await one<{ id: number }>(this.db, sql`SELECT id FROM events WHERE id > ${after} ORDER BY id LIMIT 1 OFFSET ${n - 1}`);
    return row ? Number(row.id) : null;
  }

  async countRawItems(kind: string, after: number): Promise<number> {
    return Number((await one<{ n: number }>(this.db, sql`SELECT COUNT(*) AS n FROM raw_items WHERE kind = ${kind} AND id > ${after}`))!.n);
  }

  async nthRawItemAfter(kind: string, after: number, n: number): Promise<number | null> {
    const row = await one<{ id: number }>(this.db, sql`SELECT id FROM raw_items WHERE kind = ${kind} AND id > ${after} ORDER BY id LIMIT 1 OFFSET ${n - 1}`);
    return row ? Number(row.id) : null;
  }

  async getValue(key: string): Promise<string | null> {
    return (await one<{ value: string }>(this.db, sql`SELECT value FROM upstream_state WHERE key = ${key}`))?.value ?? null;
  }

  async setValue(key: string, value: string): Promise<void> {
    await sql`INSERT INTO upstream_state (key, value) VALUES (${key}, ${value}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`.execute(this.db);
  }

  async projectSettings(): Promise<Map<number, UpstreamProjectSettings>> {
    const rows = await all<UpstreamSettingsRow>(this.db, sql`SELECT project_id, enabled, sample_rate, kinds FROM upstream_projects`);
    return new Map(rows.map((r) => [Number(r.project_id), toUpstreamSettings(r)]));
  }

  async putProjectSettings(projectId: number, s: UpstreamProjectSettings, at: number): Promise<void> {
    await sql`INSERT INTO upstream_projects (project_id, enabled, sample_rate, kinds, updated_at)
              VALUES (${projectId}, ${s.enabled ? 1 : 0}, ${s.sampleRate}, ${JSON.stringify(s.kinds)}, ${at})
              ON CONFLICT (project_id) DO UPDATE SET enabled = excluded.enabled, sample_rate = excluded.sample_rate, kinds = excluded.kinds, updated_at = excluded.updated_at`.execute(this.db);
  }

  async deleteProjectSettings(projectId: number): Promise<boolean> {
    return (await changes(this.db, sql`DELETE FROM upstream_projects WHERE project_id = ${projectId}`)) > 0;
  }
}
