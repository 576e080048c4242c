import { describe } from 'node:test';
import { alertStoreContract } from '../alerts.contract.js';
import { createTestSchema, postgresUnavailable } from '../../test-support/postgres.js';
import { PostgresAlertStore } from './alerts.js';
import { PostgresDatabase } from './database.js';

const skip = await postgresUnavailable();

if (skip) describe('AlertStore contract: PostgreSQL', { skip }, () => {});
else {
  alertStoreContract('PostgreSQL (two pools on one database, as two processes)', async () => {
    const schema = await createTestSchema('alerts');
    const first = await PostgresDatabase.open(schema.options());
    const second = await PostgresDatabase.open(schema.options(), { migrate: false });
    return {
      a: new PostgresAlertStore(first.db),
      b: new PostgresAlertStore(second.db),
      cleanup: async () => {
        await first.close();
        await second.close();
        await schema.drop();
      },
    };
  });
}
