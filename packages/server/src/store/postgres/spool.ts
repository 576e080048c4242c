import { sql } from 'kysely';
import type pg from 'pg';
import { MAX_BATCH_BYTES } from '../digest-rows.js';
import { toSpoolRow, type SpoolDbRow } from '../rows.js';
import type { HeldSpoolRows, SpoolItemInput, SpoolRow, SpoolTally } from '../store.js';
import { upsertItemCounts } from './digest-writer.js';
import { all, byteaList, concatenated, prepared, type Db } from './query.js';

/**
 * The spool table's statements: the append behind every 200 answer, and the digest's claim.
 *
 * The claim does not read the payload of a row this process appended and still holds in memory
 * (digest/held-rows.ts: the main thread hands each committed append to its digest thread). The
 * spool row stays the durable copy, for a crash and for another process's digest; a claimed row
 * this process does not hold (appended elsewhere, before a restart, or dropped from memory) has
 * its payload read by one more statement.
 */

/**
 * The spool append as ONE named prepared statement whatever the row count: the payloads go as one
 * bytea parameter (concatenated) with each row's offset and length, the other columns as arrays,
 * so the statement's text never varies. Each connection parses it once and, after five executions,
 * keeps a generic plan; with a text per row count (as before) nearly every flush of a short run
 * was parsed and planned again (a connection had seldom met that count five times).
 */
export async function appendSpoolRows(pool: pg.Pool, items: SpoolItemInput[], counted: Tallies = NO_TALLIES, maxBytes = MAX_APPEND_BYTES): Promise<SpoolRow[]> {
  const tallied = counted.counts.length > 0 || counted.discards.length > 0;
  if (items.length === 0 && !tallied) return []; // nothing to write
  const parts = byPayloadBytes(items, maxBytes);
  if (parts.length === 1) return withIds(items, await appendIds(pool, items, counted));
  // A flush above the bytea bound (a large BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT): several statements,
  // one commit, so its requests are answered together as before.
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const ids: number[] = [];
    for (const [i, part] of parts.entries()) ids.push(...(await appendIds(client, part, i === 0 ? counted : NO_TALLIES)));
    await client.query('COMMIT');
    return withIds(items, ids);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined); // the error below is what the requests see
    throw err;
  } finally {
    client.release();
  }
}

async function appendIds(db: pg.Pool | pg.PoolClient, items: SpoolItemInput[], counted: Tallies): Promise<number[]> {
  return (await db.query<{ id: string }>(spoolInsert(items, counted))).rows.map((r) => Number(r.id));
}

/** A flush's item counts and client discards, summed per key and sorted (two flushes take their row locks in one order). */
export interface Tallies {
  counts: { projectId: number; kind: string; n: number }[];
  discards: { projectId: number; reason: string; category: string; quantity: number; firstAt: number; lastAt: number }[];
}

const NO_TALLIES: Tallies = { counts: [], discards: [] };

export function sumTallies(tallies: SpoolTally[]): Tallies {
  const counts = new Map<string, Tallies['counts'][number]>();
  const discards = new Map<string, Tallies['discards'][number]>();
  for (const t of tallies) {
    for (const [kind, n] of Object.entries(t.counts)) {
      if (!(n > 0)) continue;
      const key = `${t.projectId}\u0000${kind}`;
      const entry = counts.get(key);
      if (entry) entry.n += n;
      else counts.set(key, { projectId: t.projectId, kind, n });
    }
    for (const report of t.discards ?? []) {
      for (const d of report.discards) {
        if (!(d.quantity > 0)) continue;
        const key = `${t.projectId}\u0000${d.reason}\u0000${d.category}`;
        const entry = discards.get(key);
        if (!entry) discards.set(key, { projectId: t.projectId, reason: d.reason, category: d.category, quantity: d.quantity, firstAt: report.at, lastAt: report.at });
        else (entry.quantity += d.quantity), (entry.firstAt = Math.min(entry.firstAt, report.at)), (entry.lastAt = Math.max(entry.lastAt, report.at));
      }
    }
  }
  const byKey = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  return { counts: byKey(counts), discards: byKey(discards) };
}

/** Tallies recorded by statements of their own (countItems, recordClientDiscards, an append with raw items). */
export async function recordTallies(db: Db, counted: Tallies): Promise<void> {
  await upsertItemCounts(db, counted.counts);
  const d = counted.discards;
  if (d.length === 0) return;
  await sql`INSERT INTO client_discards (project_id, reason, category, quantity, first_at, last_at)
            SELECT * FROM unnest(${d.map((r) => r.projectId)}::int[], ${d.map((r) => r.reason)}::text[], ${d.map((r) => r.category)}::text[],
              ${d.map((r) => r.quantity)}::bigint[], ${d.map((r) => r.firstAt)}::bigint[], ${d.map((r) => r.lastAt)}::bigint[])
            ${DISCARDS_CONFLICT}`.execute(db);
}

const DISCARDS_CONFLICT_TEXT = `ON CONFLICT (project_id, reason, category) DO UPDATE SET quantity = client_discards.quantity + excluded.quantity,
  first_at = LEAST(client_discards.first_at, excluded.first_at), last_at = GREATEST(client_discards.last_at, excluded.last_at)`;
const DISCARDS_CONFLICT = sql.raw(DISCARDS_CONFLICT_TEXT);

/** Items in order, cut into runs of at most `maxBytes` of payload (an item larger alone is a run of its own). */
export function byPayloadBytes(items: SpoolItemInput[], maxBytes: number): SpoolItemInput[][] {
  const parts: SpoolItemInput[][] = [[]];
  let bytes = 0;
  for (const item of items) {
    if (bytes + item.payload.length > maxBytes && parts.at(-1)!.length) (parts.push([]), (bytes = 0));
    parts.at(-1)!.push(item);
    bytes += item.payload.length;
  }
  return parts;
}

export function withIds(items: SpoolItemInput[], ids: number[]): SpoolRow[] {
  if (ids.length !== items.length) throw new Error(`${ids.length} ids for ${items.length} spooled items`);
  return items.map((item, i) => ({ ...item, id: ids[i]! }));
}

/**
 * The spool's row count (the backlog: `/health`, the 429 limit, `botpulse_spool_backlog`), read
 * through the primary key index, never by a sequential scan. The count is taken each time the
 * digest finds the spool empty and every 2 s (ingest/spool.ts resync), and a sequential scan
 * reads every page of the table: with 5 KB rows that is one page per event appended since
 * autovacuum last truncated the table (it runs at most once a minute), dead rows included, so
 * each count cost more the longer the load went on (measured: ≈ 1,000 pages, 31 ms per count in
 * a 5 s benchmark row; 3,000 pages against 30 through the index with 20 rows left). Through the
 * index a count reads the live rows' entries and pages (index entries of deleted rows are marked
 * dead by the first scan that meets them once no transaction can still see those rows; until then
 * it visits their pages, as the sequential scan did). One round trip: a simple query of several statements
 * runs as one implicit transaction, so the settings are local to it (and an error rolls it all
 * back, leaving no transaction open on the pooled connection).
 */
export async function countSpoolRows(pool: pg.Pool): Promise<number> {
  const results = (await pool.query(spoolCountText())) as unknown as pg.QueryResult<{ n: string }>[];
  return Number(results[2]!.rows[0]!.n);
}

/**
 * VACUUM of the spool table, for the digest loop (Store.reclaimSpoolSpace). A 5 KB row fills most
 * of a page, and PostgreSQL reuses the space of deleted rows only once a VACUUM has recorded it in
 * the free space map: until autovacuum's next round (once a minute by default) every append
 * extended the table by a new page, and under load those dirty pages soon no longer fit in shared
 * buffers, so the backends wrote them out themselves (measured at c=32: 34,000 pages written by
 * backends in 10 s; 13,700 with a VACUUM every second, the rest being the events table's growth).
 * SKIP_LOCKED: when another process's VACUUM (or autovacuum) holds the table, skip rather than
 * wait. TRUNCATE false: giving the empty tail back to the file system takes a lock that stops the
 * appends; autovacuum still does that once the spool is drained. No statement timeout: the first
 * VACUUM after a long backlog visits every page the backlog filled, which may take longer than
 * any timeout meant for a query, and a VACUUM cut short would only start over a second later.
 */
export async function vacuumSpool(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // PostgreSQL answers a VACUUM it skips with a WARNING, not an error. Skipped because another
  // VACUUM holds the table (55P03) is fine; skipped for any other reason (a role that does not own
  // the table) would leave the spool growing without a word, so it fails like an error.
  const skipped: string[] = [];
  const onNotice = (notice: { severity?: string; code?: string; message?: string }) => {
    if (notice.severity === 'WARNING' && notice.code !== '55P03') skipped.push(notice.message ?? 'VACUUM skipped the spool');
  };
  client.on('notice', onNotice);
  try {
    await client.query('SET statement_timeout = 0');
    await client.query('VACUUM (SKIP_LOCKED, TRUNCATE false) spool');
    await client.query('RESET statement_timeout');
    if (skipped.length) throw new Error(`VACUUM of the spool did nothing: ${skipped.join('; ')}`);
  } catch (err) {
    broken = err as Error; // the connection may still carry no timeout: the pool drops it
    throw err;
  } finally {
    client.off('notice', onNotice);
    client.release(broken);
  }
}

/** countSpoolRows's statements; `explain` goes before its SELECT (the test reads the plan through it). */
export function spoolCountText(explain = ''): string {
  return `SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; ${explain}SELECT count(*) AS n FROM spool`;
}

/** Above this many bytes of payloads an append is split into several statements (a bytea parameter is limited to 1 GB). */
const MAX_APPEND_BYTES = 256 << 20;

/**
 * The append statement. A flush whose requests also brought counted items (sessions, client
 * reports) records those in the same statement (data-modifying CTEs: one round trip, one commit,
 * all or nothing) instead of one statement per request after the append.
 */
export function spoolInsert(items: SpoolItemInput[], counted: Tallies = NO_TALLIES): pg.QueryConfig {
  const col = <T>(f: (i: SpoolItemInput) => T) => items.map(f);
  const { bytes, offsets, lengths } = concatenated(col((i) => i.payload));
  const values: unknown[] = [
    col((i) => i.projectId), col((i) => i.kind), col((i) => i.eventId), col((i) => i.receivedAt),
    col((i) => (i.meta ? JSON.stringify(i.meta) : null)), offsets, lengths, bytes,
  ];
  if (counted.counts.length === 0 && counted.discards.length === 0) return { name: 'botpulse_spool_append', text: SPOOL_INSERT, values };
  const c = counted.counts;
  const d = counted.discards;
  values.push(c.map((r) => r.projectId), c.map((r) => r.kind), c.map((r) => r.n));
  values.push(d.map((r) => r.projectId), d.map((r) => r.reason), d.map((r) => r.category), d.map((r) => r.quantity), d.map((r) => r.firstAt), d.map((r) => r.lastAt));
  return { name: 'botpulse_spool_append_counted', text: SPOOL_INSERT_COUNTED, values };
}

const SPOOL_INSERT = `INSERT INTO spool (project_id, kind, event_id, received_at, payload, meta)
  SELECT u.project_id, u.kind, u.event_id, u.received_at, substring($8::bytea FROM u.off FOR u.len), u.meta
  FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::int[], $7::int[]) WITH ORDINALITY
    AS u(project_id, kind, event_id, received_at, meta, off, len, n)
  ORDER BY u.n
  RETURNING id`;

const SPOOL_INSERT_COUNTED = `WITH counted AS (INSERT INTO item_counts (project_id, kind, count)
    SELECT * FROM unnest($9::int[], $10::text[], $11::bigint[])
    ON CONFLICT (project_id, kind) DO UPDATE SET count = item_counts.count + excluded.count),
  discarded AS (INSERT INTO client_discards (project_id, reason, category, quantity, first_at, last_at)
    SELECT * FROM unnest($12::int[], $13::text[], $14::text[], $15::bigint[], $16::bigint[], $17::bigint[])
    ${DISCARDS_CONFLICT_TEXT}),
  appended AS (${SPOOL_INSERT})
  SELECT id FROM appended ORDER BY id`;

/**
 * One multi-row INSERT of spool or raw items (`unnest` of one array per column, payloads as
 * parameters), ids in item order. PostgreSQL returns an INSERT's rows in the order it inserted
 * them; the digest checks a held row against the claimed one all the same (takeSpoolRows).
 */
export async function insertItems(db: Db, table: 'spool' | 'raw_items', items: SpoolItemInput[]): Promise<number[]> {
  const col = <T>(f: (i: SpoolItemInput) => T) => items.map(f);
  const rows = await all<{ id: number }>(
    db,
    sql`INSERT INTO ${sql.table(table)} (project_id, kind, event_id, received_at, payload, meta)
        SELECT u.project_id, u.kind, u.event_id, u.received_at, b.payloads[u.n], u.meta
        FROM unnest(${col((i) => i.projectId)}::int[], ${col((i) => i.kind)}::text[], ${col((i) => i.eventId)}::text[],
          ${col((i) => i.receivedAt)}::bigint[], ${col((i) => (i.meta ? JSON.stringify(i.meta) : null))}::text[]) WITH ORDINALITY
          AS u(project_id, kind, event_id, received_at, meta, n),
          ${byteaList(col((i) => i.payload), 'payloads')} AS b
        ORDER BY u.n
        RETURNING id`,
  );
  return rows.map((r) => Number(r.id));
}

/**
 * A digest batch commits without waiting for its WAL flush (`synchronous_commit = off`, this
 * transaction only; set by the claim, takeSpoolRows, so it costs no round trip of its own). Nothing
 * answered can be lost by it: the batch deletes its spool rows in the
 * same transaction, so if PostgreSQL crashes before the commit reaches the disk, the rows are back
 * in the spool together with the undone writes and are digested again. Whatever else the batch
 * leads to (an alert in the outbox, a forwarding cursor) is committed synchronously later, and a
 * WAL flush covers every record before it, this batch's included. The spool append, which stands
 * behind the 200 answer, keeps the synchronous commit. Measured: each commit's flush costs about
 * 5 ms on this machine's disk (pg_test_fsync), paid by the digest once per batch.
 */
const RELAX_DIGEST_COMMIT = sql`(SELECT set_config('synchronous_commit', 'off', true) AS relaxed) AS relax`;

type ClaimedRow = Omit<SpoolDbRow, 'payload'> & { bytes: number };

/**
 * Locks and returns the oldest spool rows no other transaction holds (SKIP LOCKED: another
 * process's digest takes the next rows instead of waiting for these, and never gets these), at
 * most `limit` and about MAX_BATCH_BYTES of payload (always at least one row). Rows locked beyond
 * the byte bound stay in the spool and are unlocked at commit.
 *
 * The claim reads no payload. A row `held` in memory (this process appended it) is taken from
 * there when it matches the claimed row (project, kind, event id, time, size; ids are never
 * reused, the check only guards against a mistake); the payloads of the others are read by one
 * statement. `payloadsRead` counts those: the hand-off is meant to keep it at 0 for one process.
 * A row `held` says may still be on its way to it (committed by PostgreSQL, its hand-off not
 * arrived yet: digest/held-rows.ts) is not taken (`deferred`): the next batch finds it handed over.
 *
 * The columns and sizes come from the locked rows themselves (`length()` of a spool payload, kept
 * in its page uncompressed by migration 017, reads only its header). Before, the sizes came from a
 * join back to `spool`, which PostgreSQL ran as a hash join over a sequential scan of the whole
 * table (dead rows of digested batches included) and a sort that carried every claimed payload.
 */
export async function takeSpoolRows(
  trx: Db,
  limit: number,
  held: HeldSpoolRows | undefined,
): Promise<{ rows: SpoolRow[]; payloadsRead: number; deferred: number }> {
  held?.claiming?.();
  const locked = await all<ClaimedRow>(trx, spoolClaim(limit));
  // A row this process committed a moment ago and has not handed over yet is left for a later
  // batch (locked by this one, so unlocked at its commit) rather than read back.
  const found = locked.map((c) => held?.get(Number(c.id)));
  const claimed = locked.filter((_, i) => found[i] !== 'later');
  const rows: (SpoolRow | null)[] = found.flatMap((mine, i) => (mine === 'later' ? [] : [mine && matches(mine, locked[i]!) ? mine : null]));
  const missing = claimed.filter((_, i) => rows[i] === null).map((c) => Number(c.id));
  if (missing.length) {
    const payloads = new Map(
      (await all<{ id: number; payload: Buffer }>(trx, sql`${prepared}SELECT id, payload FROM spool WHERE id = ANY(${missing}::bigint[])`)).map((r) => [Number(r.id), r.payload]),
    );
    claimed.forEach((c, i) => {
      if (rows[i] === null) rows[i] = toSpoolRow({ ...c, payload: payloads.get(Number(c.id))! } as SpoolDbRow);
    });
  }
  return { rows: rows as SpoolRow[], payloadsRead: missing.length, deferred: locked.length - claimed.length };
}

/** The claim statement of takeSpoolRows (exported for its test: it reads the spool table once). */
export function spoolClaim(limit: number) {
  return sql`${prepared}WITH taken AS (SELECT id, project_id, kind, event_id, received_at, meta, length(payload) AS bytes
                  FROM spool ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED),
      sized AS (SELECT *, SUM(bytes) OVER (ORDER BY id) AS running FROM taken)
      SELECT id, project_id, kind, event_id, received_at, meta, bytes, relax.relaxed FROM sized, ${RELAX_DIGEST_COMMIT}
      WHERE running - bytes < ${MAX_BATCH_BYTES} ORDER BY id`;
}

function matches(row: SpoolRow, claimed: ClaimedRow): boolean {
  return (
    row.projectId === Number(claimed.project_id) &&
    row.kind === claimed.kind &&
    row.eventId === claimed.event_id &&
    row.receivedAt === Number(claimed.received_at) &&
    row.payload.length === Number(claimed.bytes)
  );
}
