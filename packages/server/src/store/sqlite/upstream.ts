import type Sqlite from 'better-sqlite3';
import { toUpstreamSettings, type ForwardableEvent, type UpstreamProjectSettings, type UpstreamSettingsRow, type UpstreamStore } from '../upstream.js';
import { withStatementCache } from './statement-cache.js';

/**
 * UpstreamStore on SqliteStore's connection. SQLite has one writer at a time and the digest
 * commits whole batches, so every id up to MAX(id) is committed: that is the horizon.
 */
export class SqliteUpstreamStore implements UpstreamStore {
  private readonly db: Sqlite.Database;

  constructor(db: Sqlite.Database) {
    this.db = withStatementCache(db);
  }

  async eventHorizon(): Promise<number> {
    return Number(this.db.prepare('SELECT COALESCE(MAX(id), 0) FROM events').pluck().get());
  }

  async rawItemHorizon(kind: string): Promise<number> {
    return Number(this.db.prepare('SELECT COALESCE(MAX(id), 0) FROM raw_items WHERE kind = ?').pluck().get(kind));
  }

  async eventsAfter(after: number, upTo: number, limit: number): Promise<ForwardableEvent[]> {
    const rows = this.db
      .prepare('SELECT id, project_id, event_id, payload FROM events WHERE id > ? AND id <= ? ORDER BY id LIMIT ?')
      .all(after, upTo, limit) as { id: number; project_id: number; event_id: string; payload: Buffer }[];
    return rows.map((r) => ({ id: r.id, projectId: r.project_id, eventId: r.event_id, payload: r.payload }));
  }

  async countEvents(after: number, upTo: number): Promise<number> {
    return Number(this.db.prepare('SELECT COUNT(*) FROM events WHERE id > ? AND id <= ?').pluck().get(after, upTo));
  }

  async nthEventAfter(after: number, n: number): Promise<number | null> {
    const id = this.db.prepare('SELECT id FROM events WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?').pluck().get(after, n - 1);
    return id === undefined ? null : Number(id);
  }

  async countRawItems(kind: string, after: number): Promise<number> {
    return Number(this.db.prepare('SELECT COUNT(*) FROM raw_items WHERE kind = ? AND id > ?').pluck().get(kind, after));
  }

  async nthRawItemAfter(kind: string, after: number, n: number): Promise<number | null> {
    const id = this.db.prepare('SELECT id FROM raw_items WHERE kind = ? AND id > ? ORDER BY id LIMIT 1 OFFSET ?').pluck().get(kind, after, n - 1);
    return id === undefined ? null : Number(id);
  }

  async getValue(key: string): Promise<string | null> {
    const value = this.db.prepare('SELECT value FROM upstream_state WHERE key = ?').pluck().get(key) as string | undefined;
    return value ?? null;
  }

  async setValue(key: string, value: string): Promise<void> {
    this.db.prepare('INSERT INTO upstream_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  async projectSettings(): Promise<Map<number, UpstreamProjectSettings>> {
    const rows = this.db.prepare('SELECT project_id, enabled, sample_rate, kinds FROM upstream_projects').all() as UpstreamSettingsRow[];
    return new Map(rows.map((r) => [Number(r.project_id), toUpstreamSettings(r)]));
  }

  async putProjectSettings(projectId: number, s: UpstreamProjectSettings, at: number): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO upstream_projects (project_id, enabled, sample_rate, kinds, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (project_id) DO UPDATE SET enabled = excluded.enabled, sample_rate = excluded.sample_rate, kinds = excluded.kinds, updated_at = excluded.updated_at`,
      )
      .run(projectId, s.enabled ? 1 : 0, s.sampleRate, JSON.stringify(s.kinds), at);
  }

  async deleteProjectSettings(projectId: number): Promise<boolean> {
    return this.db.prepare('DELETE FROM upstream_projects WHERE project_id = ?').run(projectId).changes > 0;
  }
}
