import { sql, type Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * How many issues each project has per status, kept as counters (issue 16, speed): the issue list
 * shows the four counts on every page, and counting them meant reading every issue of the project
 * (PostgreSQL: `GROUP BY status` over 100,000 issues on each list page; SQLite: 20 index range
 * counts). Now the page sums at most a few dozen counter rows.
 *
 * Triggers on `issues` keep the counters in step with whoever writes an issue (the digest creating
 * or regressing one, a person resolving or ignoring, an expired ignore, project deletion, imports):
 * +1 on insert, −1 on delete, −1/+1 when a row's status or project really changes (the digest sets
 * `status` on every batch; the WHEN skips rows where it did not change, without calling anything).
 *
 * PostgreSQL: a counter row is locked by the transaction that changes it until it commits, so two
 * digest batches creating issues in the same project would wait on each other. Each connection
 * therefore adds to its own `slot` (its backend pid modulo 8) and readers sum the slots; a slot's
 * count alone means nothing and may go below zero. SQLite (one writer) uses slot 0 only.
 * Two connections sharing a slot can still wait on each other, and two transactions moving issues
 * between the same two statuses in opposite directions at once (a digest batch reopening, a person
 * resolving) can deadlock there: PostgreSQL aborts one; a digest batch stays in the spool and is
 * tried again whole (digest-batch.ts, a database fault), a person's change answers an error.
 * `migrate-data` copies the table like any other, with these triggers paused.
 * Migration 030 removes that deadlock: PostgreSQL's triggers append deltas instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const { sqlite } = dialectTypes(db);
  await sql`CREATE TABLE issue_status_counts (
      project_id bigint NOT NULL,
      status text NOT NULL,
      slot integer NOT NULL,
      count bigint NOT NULL,
      PRIMARY KEY (project_id, status, slot)
    )`.execute(db);
  if (sqlite) await sqliteTriggers(db);
  else await postgresTriggers(db);
  await sql`INSERT INTO issue_status_counts (project_id, status, slot, count) SELECT project_id, status, 0, COUNT(*) FROM issues GROUP BY project_id, status`.execute(db);
}

async function sqliteTriggers(db: Kysely<any>): Promise<void> {
  const add = (project: string, status: string, delta: number) =>
    `INSERT INTO issue_status_counts (project_id, status, slot, count) VALUES (${project}, ${status}, 0, ${delta})
       ON CONFLICT (project_id, status, slot) DO UPDATE SET count = count + excluded.count;`;
  await sql.raw(`CREATE TRIGGER issue_status_counts_insert AFTER INSERT ON issues BEGIN ${add('new.project_id', 'new.status', 1)} END`).execute(db);
  await sql.raw(`CREATE TRIGGER issue_status_counts_delete AFTER DELETE ON issues BEGIN ${add('old.project_id', 'old.status', -1)} END`).execute(db);
  await sql
    .raw(
      `CREATE TRIGGER issue_status_counts_update AFTER UPDATE OF status, project_id ON issues
         WHEN old.status IS NOT new.status OR old.project_id IS NOT new.project_id BEGIN
         ${add('old.project_id', 'old.status', -1)} ${add('new.project_id', 'new.status', 1)} END`,
    )
    .execute(db);
}

async function postgresTriggers(db: Kysely<any>): Promise<void> {
  await sql`CREATE FUNCTION issue_status_counts_add(p bigint, s text, delta int) RETURNS void LANGUAGE sql AS $$
      INSERT INTO issue_status_counts (project_id, status, slot, count) VALUES (p, s, pg_backend_pid() % 8, delta)
      ON CONFLICT (project_id, status, slot) DO UPDATE SET count = issue_status_counts.count + excluded.count
    $$`.execute(db);
  await sql`CREATE FUNCTION issue_status_counts_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM issue_status_counts_add(OLD.project_id, OLD.status, -1); END IF;
      IF TG_OP IN ('UPDATE', 'INSERT') THEN PERFORM issue_status_counts_add(NEW.project_id, NEW.status, 1); END IF;
      RETURN NULL;
    END $$`.execute(db);
  // DELETE, not TRUNCATE: `migrate-data --force` truncates both tables in one statement, and a
  // TRUNCATE of a table that statement is truncating fails. The table is a few dozen rows.
  await sql`CREATE FUNCTION issue_status_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN DELETE FROM issue_status_counts; RETURN NULL; END $$`.execute(db);
  await sql`CREATE TRIGGER issue_status_counts_insert AFTER INSERT ON issues FOR EACH ROW EXECUTE FUNCTION issue_status_counts_sync()`.execute(db);
  await sql`CREATE TRIGGER issue_status_counts_update AFTER UPDATE OF status, project_id ON issues FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.project_id IS DISTINCT FROM NEW.project_id)
    EXECUTE FUNCTION issue_status_counts_sync()`.execute(db);
  await sql`CREATE TRIGGER issue_status_counts_delete AFTER DELETE ON issues FOR EACH ROW EXECUTE FUNCTION issue_status_counts_sync()`.execute(db);
  await sql`CREATE TRIGGER issue_status_counts_truncate AFTER TRUNCATE ON issues FOR EACH STATEMENT EXECUTE FUNCTION issue_status_counts_truncate()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const trigger of ['insert', 'update', 'delete', 'truncate']) {
    if (dialectTypes(db).sqlite) await sql.raw(`DROP TRIGGER IF EXISTS issue_status_counts_${trigger}`).execute(db);
    else await sql.raw(`DROP TRIGGER IF EXISTS issue_status_counts_${trigger} ON issues`).execute(db);
  }
  if (!dialectTypes(db).sqlite) {
    await sql`DROP FUNCTION IF EXISTS issue_status_counts_sync()`.execute(db);
    await sql`DROP FUNCTION IF EXISTS issue_status_counts_truncate()`.execute(db);
    await sql`DROP FUNCTION IF EXISTS issue_status_counts_add(bigint, text, int)`.execute(db);
  }
  await sql`DROP TABLE IF EXISTS issue_status_counts`.execute(db);
}
