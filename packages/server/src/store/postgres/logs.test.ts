import { describe } from 'node:test';
import { logStoreContract } from '../logs.contract.js';
import { createTestSchema, postgresUnavailable } from '../../test-support/postgres.js';
import { PostgresStore } from './index.js';
import { PostgresLogStore } from './logs.js';
import { PostgresMonitorStore } from './monitors.js';

const skip = await postgresUnavailable();

if (skip) describe('LogStore contract: PostgreSQL', { skip }, () => {});
else {
  logStoreContract('PostgreSQL (two pools on one database, as two processes)', async () => {
    const schema = await createTestSchema('logs');
    const first = await PostgresStore.open(schema.options());
    const second = await PostgresStore.open(schema.options(), { migrate: false });
    return {
      store: first,
      a: new PostgresLogStore(first.db),
      b: new PostgresLogStore(second.db),
      monitors: new PostgresMonitorStore(first.db),
      cleanup: async () => {
        await first.close();
        await second.close();
        await schema.drop();
      },
    };
  });
}
