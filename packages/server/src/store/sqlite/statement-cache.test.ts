import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Sqlite from 'better-sqlite3';
import { withStatementCache } from './statement-cache.js';

describe('withStatementCache', () => {
  it('returns the same compiled statement for the same SQL, reset to row mode', () => {
    const db = withStatementCache(new Sqlite(':memory:'));
    db.exec("CREATE TABLE t (a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x')");
    const first = db.prepare('SELECT a, b FROM t');
    assert.equal(first.pluck().get(), 1);
    const second = db.prepare('SELECT a, b FROM t');
    assert.equal(second, first);
    assert.deepEqual(second.get(), { a: 1, b: 'x' }, 'a later user does not inherit pluck()');
    db.prepare('INSERT INTO t VALUES (?, ?)').run(2, 'y'); // writers are cached too
    assert.equal(db.prepare('SELECT COUNT(*) FROM t').pluck().get(), 2);
    db.transaction(() => db.prepare('DELETE FROM t').run())();
    assert.equal(db.prepare('SELECT COUNT(*) FROM t').pluck().get(), 0);
    db.close();
  });
});
