import { sql, type Kysely, type RawBuilder } from 'kysely';
import { PREPARED_MARK } from './database.js';

/**
 * Small helpers over Kysely's `sql` templates for the PostgreSQL stores: their statements are
 * written as SQL (as the SQLite stores' are), with every value bound as a parameter.
 */
export type Db = Kysely<any>;

/**
 * Put first in a statement whose text never varies with its values: it then runs as a named
 * prepared statement (database.ts preparingPool), parsed and planned once per connection.
 */
export const prepared = sql.raw(PREPARED_MARK);

export async function all<T>(db: Db, query: RawBuilder<unknown>): Promise<T[]> {
  return (await query.execute(db)).rows as T[];
}

export async function one<T>(db: Db, query: RawBuilder<unknown>): Promise<T | undefined> {
  return (await all<T>(db, query))[0];
}

/** Rows an INSERT, UPDATE or DELETE changed. */
export async function changes(db: Db, query: RawBuilder<unknown>): Promise<number> {
  return Number((await query.execute(db)).numAffectedRows ?? 0n);
}

/** Key spaces of the transaction advisory locks (first key of pg_advisory_xact_lock(int, int)). */
export const LOCKS = {
  /** One alert decision at a time per fingerprint (SQLite: one writer at a time, full stop). */
  alertFingerprint: 0x6270_0001,
  /** Counting a project's monitors and creating one under the limit, as one step. */
  monitorProject: 0x6270_0002,
  /** Finding, adopting or creating a monitor's state in an environment, as one step. */
  monitorEnvironments: 0x6270_0003,
  /** Reading, creating and rewriting one issue (project, grouping version, fingerprint) in a digest batch. */
  issueKey: 0x6270_0004,
  /** Store.exclusively (session locks, held on a connection of their own). */
  exclusive: 0x6270_0005,
  /** Appends to raw_items, one transaction at a time, so their ids commit in order (see PostgresStore.appendToSpool). */
  rawItemsAppend: 0x6270_0006,
  /** Appends to log_lines, likewise, so the log rule evaluator reading by id never skips a line. */
  logLinesAppend: 0x6270_0007,
  /** Writing the issue status totals (folding deltas, a truncation): one writer, so no lock order to cross (migration 030). */
  statusCounts: 0x6270_0008,
} as const;

/**
 * Serialises the transactions that take the same (space, key) until they end. A string key is
 * hashed (hashtext): two keys sharing a hash only wait for each other, they never share a state.
 */
export async function lockXact(trx: Db, space: number, key: string | number): Promise<void> {
  const k = typeof key === 'number' ? sql`${key}::int` : sql`hashtext(${key})`;
  await sql`SELECT pg_advisory_xact_lock(${space}::int, ${k})`.execute(trx);
}

/**
 * lockXact for many string keys in one statement (one round trip instead of one per key), in
 * hash order, so two transactions locking overlapping sets never wait for each other in a cycle.
 * Compatible with lockXact: the same (space, hashtext(key)) pairs.
 */
export async function lockXactMany(trx: Db, space: number, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await sql`${prepared}SELECT count(pg_advisory_xact_lock(${space}::int, h))
            FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest(${keys}::text[]) AS k ORDER BY h) AS sorted`.execute(trx);
}

/**
 * A fragment written with `?` placeholders (as the shared SQL builders write them for both
 * stores), its values bound in order.
 */
export function withArgs(text: string, args: readonly unknown[]): RawBuilder<unknown> {
  const parts = text.split('?');
  if (parts.length !== args.length + 1) throw new Error(`${parts.length - 1} placeholders for ${args.length} values`);
  return sql.join(
    parts.flatMap((part, i) => (i < args.length ? [sql.raw(part), sql`${args[i]}`] : [sql.raw(part)])),
    sql.raw(''),
  );
}

/** PostgreSQL's unique_violation: another process inserted the same key first. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '23505';
}

/**
 * Binary values (bytea) for a multi-row insert, one parameter each, as a one-row FROM item
 * `(SELECT ARRAY[…] AS <name>)` whose elements the rows pick by their ordinality. node-postgres
 * sends a `bytea[]` parameter as one hex text literal that PostgreSQL parses about 3 times slower
 * (measured: 10,000 rows of 2 KB in 20 statements, 810 ms as one array, 258 ms as parameters).
 * One parameter per row: keep batches under PostgreSQL's 65,535 parameters per statement.
 */
export function byteaList(values: Buffer[], name: string): RawBuilder<unknown> {
  if (values.length > 60_000) throw new RangeError(`${values.length} binary values in one statement: split the batch`);
  return sql`(SELECT ARRAY[${sql.join(values.map((v) => sql`${v}::bytea`))}]::bytea[] AS ${sql.ref(name)})`;
}

/**
 * Binary values for a multi-row statement whose text must not vary with the row count (a named
 * prepared statement): one bytea parameter holding them all, and each value's 1-based offset and
 * length for `substring(bytes FROM off FOR len)`. A bytea parameter is at most 1 GB: callers bound
 * their batches well below (the digest's 2 MiB, the spool append's 256 MB).
 */
export function concatenated(values: Buffer[]): { bytes: Buffer; offsets: number[]; lengths: number[] } {
  const offsets: number[] = [];
  const lengths: number[] = [];
  let at = 1; // substring() counts from 1
  for (const v of values) (offsets.push(at), lengths.push(v.length), (at += v.length));
  return { bytes: values.length === 1 ? values[0]! : Buffer.concat(values, at - 1), offsets, lengths };
}
