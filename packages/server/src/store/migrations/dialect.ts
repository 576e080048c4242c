import { SqliteAdapter, type ColumnDefinitionBuilder, type Kysely } from 'kysely';

/** Column types that differ between SQLite and PostgreSQL, so one migration file serves both. */
export function dialectTypes(db: Kysely<any>) {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  return {
    sqlite,
    id: sqlite ? ('integer' as const) : ('bigserial' as const),
    idModifier: (c: ColumnDefinitionBuilder) => (sqlite ? c.primaryKey().autoIncrement() : c.primaryKey()),
    blob: sqlite ? ('blob' as const) : ('bytea' as const),
    // SQLite's REAL is 8 bytes; PostgreSQL's `real` would be 4 (about 7 digits), so ask for 8 there.
    float: sqlite ? ('real' as const) : ('double precision' as const),
  };
}
