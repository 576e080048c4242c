import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import { sql } from 'kysely';
import type { Project } from '../model.js';
import { monitorStoreContract } from '../monitors.contract.js';
import { toProject } from '../rows.js';
import type { NewProject, Store } from '../store.js';
import { createTestSchema, postgresUnavailable } from '../../test-support/postgres.js';
import { PostgresDatabase } from './database.js';
import { PostgresMonitorStore } from './monitors.js';
import { one } from './query.js';

const skip = await postgresUnavailable();

/** Projects rows for the contract, until the Store itself runs on PostgreSQL. */
function projectsOn(database: PostgresDatabase): Pick<Store, 'createProject'> {
  return {
    async createProject(input: NewProject): Promise<Project> {
      const key = randomBytes(16).toString('hex');
      const row = await one<Parameters<typeof toProject>[0]>(
        database.db,
        sql`INSERT INTO projects (slug, name, public_key, short_id_prefix, created_at) VALUES (${`p-${key}`}, ${input.name}, ${key}, ${input.shortIdPrefix ?? 'P'}, ${Date.now()}) RETURNING *`,
      );
      return toProject(row!);
    },
  };
}

if (skip) describe('MonitorStore contract: PostgreSQL', { skip }, () => {});
else {
  monitorStoreContract('PostgreSQL (two pools on one database, as two processes)', async () => {
    const schema = await createTestSchema('monitors');
    const first = await PostgresDatabase.open(schema.options());
    const second = await PostgresDatabase.open(schema.options(), { migrate: false });
    return {
      store: projectsOn(first),
      a: new PostgresMonitorStore(first.db),
      b: new PostgresMonitorStore(second.db),
      cleanup: async () => {
        await first.close();
        await second.close();
        await schema.drop();
      },
    };
  });
}
