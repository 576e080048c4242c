import type Sqlite from 'better-sqlite3';

/** Enough for every fixed query of the app; dynamic ones (IN lists of varying length) cycle out. */
const MAX_CACHED = 500;

/**
 * better-sqlite3 compiles SQL on every `prepare()`, and compiling costs more than running most of
 * our statements. This wraps a connection so `prepare()` returns a cached statement (least
 * recently used dropped past MAX_CACHED), reset to plain row mode, since `pluck()` and `raw()`
 * change a statement for its later users too. Everything else passes through.
 */
export function withStatementCache(db: Sqlite.Database): Sqlite.Database {
  const cache = new Map<string, Sqlite.Statement>();
  const prepare = (source: string): Sqlite.Statement => {
    let stmt = cache.get(source);
    if (stmt) {
      cache.delete(source); // re-inserted below: most recently used last
      if (stmt.reader) stmt.pluck(false).raw(false).expand(false);
    } else {
      stmt = db.prepare(source);
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    }
    cache.set(source, stmt);
    return stmt;
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === 'prepare') return prepare;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
