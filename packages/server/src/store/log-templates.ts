import { HOUR_MS, NEW_PATTERN_AFTER_MS, type LogTemplate, type NewLogLine } from './logs.js';

/**
 * The template bookkeeping of one stored batch, written once for both dialects: the batch's lines
 * are folded into one update per template (count, first/last seen, lines per hour), so a batch of
 * 1,000 lines of 20 templates costs about 40 statements, not 1,000. The store reads the rows the
 * batch touches and each project's oldest template (`TemplateReads`), `planTemplateWrites` decides
 * (pure), and the store writes, all inside the append's transaction (SQLite IMMEDIATE; PostgreSQL
 * under the append's advisory lock), so what was read is what is written over.
 *
 * A template the project has no row for is a *new pattern* when the project's oldest template
 * was first seen a day or more before (NEW_PATTERN_AFTER_MS): it gets `noticed_at`. A template
 * that generalised others (the miner's `previousIds`) is not new: their rows become aliases
 * (`merged_into`) and their counts, hours and notice move to it.
 */
export interface StoredTemplate {
  count: number;
  firstSeen: number;
  lastSeen: number;
  noticedAt: number | null;
  mergedInto: string | null;
}

/** Insert the row, or add its count and widen first/last seen (an id's text never changes: the id is its hash). */
export interface TemplateRowUpdate {
  projectId: number;
  id: string;
  text: string;
  firstSeen: number;
  lastSeen: number;
  count: number;
  noticedAt: number | null;
}

export type TemplateWrite =
  | { kind: 'upsert'; row: TemplateRowUpdate }
  | { kind: 'hours'; projectId: number; id: string; hours: [number, number][] }
  /** `from` becomes an alias of `into`: its hours move; it and its own aliases point to `into`. */
  | { kind: 'fold'; projectId: number; from: string; into: string };

/** What the plan needs read first, per project: the rows of these ids (aliases included) and the oldest first_seen. */
export interface TemplateReads {
  projectId: number;
  ids: string[];
}

export interface Aggregate {
  projectId: number;
  id: string;
  text: string;
  previousIds: Set<string>;
  count: number;
  first: number;
  last: number;
  hours: Map<number, number>;
}

/** The batch's templates per project, in the order they first appear. */
export function aggregateTemplates(lines: readonly NewLogLine[]): Map<number, Aggregate[]> {
  const byKey = new Map<string, Aggregate>();
  const out = new Map<number, Aggregate[]>();
  for (const line of lines) {
    const t = line.template;
    if (!t) continue;
    const at = t.seenAt ?? line.receivedAt;
    const key = `${line.projectId}\u0000${t.id}`;
    let agg = byKey.get(key);
    if (!agg) {
      agg = { projectId: line.projectId, id: t.id, text: t.text, previousIds: new Set(), count: 0, first: at, last: at, hours: new Map() };
      byKey.set(key, agg);
      const list = out.get(line.projectId) ?? [];
      list.push(agg);
      out.set(line.projectId, list);
    }
    for (const p of t.previousIds ?? []) if (p !== t.id) agg.previousIds.add(p);
    agg.count += 1;
    agg.first = Math.min(agg.first, at);
    agg.last = Math.max(agg.last, at);
    const hour = Math.floor(at / HOUR_MS) * HOUR_MS;
    agg.hours.set(hour, (agg.hours.get(hour) ?? 0) + 1);
  }
  return out;
}

/** The ids each project's rows must be read for. */
export function templateReads(batch: Map<number, Aggregate[]>): TemplateReads[] {
  return [...batch].map(([projectId, aggregates]) => ({ projectId, ids: [...new Set(aggregates.flatMap((a) => [a.id, ...a.previousIds]))] }));
}

/** The writes of a batch, given the rows read (`known`, per project) and each project's oldest first_seen. */
export function planTemplateWrites(batch: Map<number, Aggregate[]>, known: Map<number, Map<string, StoredTemplate>>, oldest: Map<number, number | null>): TemplateWrite[] {
  const writes: TemplateWrite[] = [];
  for (const [projectId, aggregates] of batch) {
    const rows = known.get(projectId) ?? new Map<string, StoredTemplate>();
    const since = oldest.get(projectId) ?? null;
    for (const agg of aggregates) planOne(agg, rows, since, writes);
  }
  return writes;
}

function planOne(agg: Aggregate, rows: Map<string, StoredTemplate>, oldest: number | null, writes: TemplateWrite[]): void {
  // An id another process (or this one before a restart) generalised already counts under its successor.
  const target = rows.get(agg.id)?.mergedInto ?? agg.id;
  const row: TemplateRowUpdate = { projectId: agg.projectId, id: target, text: agg.text, firstSeen: agg.first, lastSeen: agg.last, count: agg.count, noticedAt: null };
  const folded: string[] = [];
  for (const p of agg.previousIds) {
    const prev = rows.get(p);
    if (!prev || prev.mergedInto !== null || p === target) continue;
    row.count += prev.count;
    row.firstSeen = Math.min(row.firstSeen, prev.firstSeen);
    row.noticedAt = row.noticedAt ?? prev.noticedAt;
    folded.push(p);
  }
  const before = rows.get(target);
  if (!before && !folded.length && oldest !== null && agg.first - oldest >= NEW_PATTERN_AFTER_MS) row.noticedAt = agg.first;
  writes.push({ kind: 'upsert', row }, { kind: 'hours', projectId: agg.projectId, id: target, hours: [...agg.hours] });
  for (const p of folded) {
    writes.push({ kind: 'fold', projectId: agg.projectId, from: p, into: target });
    rows.set(p, { ...rows.get(p)!, mergedInto: target });
  }
  rows.set(target, {
    count: (before?.count ?? 0) + row.count,
    firstSeen: Math.min(before?.firstSeen ?? row.firstSeen, row.firstSeen),
    lastSeen: Math.max(before?.lastSeen ?? 0, row.lastSeen),
    noticedAt: before?.noticedAt ?? row.noticedAt,
    mergedInto: null,
  });
}

/** A template row as both drivers return it (bigints as numbers or strings). */
export interface TemplateRow {
  project_id: number;
  template_id: string;
  template: string;
  first_seen: number | string;
  last_seen: number | string;
  count: number | string;
  noticed_at: number | string | null;
  merged_into: string | null;
  recent?: number | string | null;
}

export function toTemplate(r: TemplateRow, hours: { hour: number; count: number }[] = []): LogTemplate {
  return {
    projectId: r.project_id,
    id: r.template_id,
    template: r.template,
    firstSeen: Number(r.first_seen),
    lastSeen: Number(r.last_seen),
    count: Number(r.count),
    noticedAt: r.noticed_at === null ? null : Number(r.noticed_at),
    recentCount: Number(r.recent ?? 0),
    hours,
  };
}

export function toStored(r: TemplateRow): StoredTemplate {
  return { count: Number(r.count), firstSeen: Number(r.first_seen), lastSeen: Number(r.last_seen), noticedAt: r.noticed_at === null ? null : Number(r.noticed_at), mergedInto: r.merged_into };
}

export const MAX_TEMPLATES_LISTED = 500;
