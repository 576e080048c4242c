import { SqliteAdapter, type ColumnDefinitionBuilder, type Kysely } from 'kysely';

/** Column types that differ between SQLite and PostgreSQL, so one migration file serves both. */
export function dialectTypes(db: Kysely<any>) {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  return {
    sqlite,
    id: sqlite ? ('integer' as const) : ('bigserial' as const),
    idModifier: (c: ColumnDefinitionBuilder) => (sqlite ? c.primaryKey().autoIncrement() : c.primaryKey()),
    blob: sqlite ? ('blob' as const) : ('bytea' as const),
  };
}
