import { describe } from 'node:test';
import { sql } from 'kysely';
import { githubStoreContract } from '../github.contract.js';
import { createTestSchema, postgresUnavailable } from '../../test-support/postgres.js';
import { PostgresGithubStore } from './github.js';
import { PostgresDatabase } from './database.js';
import { PostgresStore } from './index.js';

const skip = await postgresUnavailable();

if (skip) describe('GithubStore contract: PostgreSQL', { skip }, () => {});
else {
  githubStoreContract('PostgreSQL (two pools on one database, as two processes)', async () => {
    const schema = await createTestSchema('github');
    const store = await PostgresStore.open(schema.options());
    const second = await PostgresDatabase.open(schema.options(), { migrate: false });
    return {
      a: new PostgresGithubStore(store.db),
      b: new PostgresGithubStore(second.db),
      store,
      addIssue: async (projectId, f) => {
        const { rows } = await sql<{ id: string }>`INSERT INTO issues (project_id, short_number, grouping_version, fingerprint, title, level, first_seen, last_seen, event_count)
          VALUES (${projectId}, ${f.shortNumber}, 1, ${`fp-${f.shortNumber}`}, 'Boom', 'error', 1, ${f.lastSeen}, ${f.eventCount}) RETURNING id`.execute(store.db);
        return Number(rows[0]!.id);
      },
      cleanup: async () => {
        await store.close();
        await second.close();
        await schema.drop();
      },
    };
  });
}
