import { describe } from 'node:test';
import { issueLifecycle } from '../../digest/lifecycle.js';
import { createTestSchema, postgresUnavailable } from '../../test-support/postgres.js';
import { storeContract } from '../store.contract.js';
import { managementContract } from '../management.contract.js';
import { PostgresStore } from './index.js';

const skip = await postgresUnavailable();

if (skip) describe('Store contract: PostgreSQL', { skip }, () => {});
else {
  managementContract('PostgreSQL', async () => {
    const schema = await createTestSchema('mgmt');
    const store = await PostgresStore.open(schema.options());
    return { store, cleanup: async () => { await store.close(); await schema.drop(); } };
  }, issueLifecycle);
  storeContract(
    'PostgreSQL (a second pool on the same schema plays a second process)',
    async () => {
      const schema = await createTestSchema('store');
      const store = await PostgresStore.open(schema.options());
      const second = await PostgresStore.open(schema.options(), { migrate: false });
      return {
        store,
        second,
        cleanup: async () => {
          await store.close();
          await second.close();
          await schema.drop();
        },
      };
    },
    issueLifecycle,
    { sharedByProcesses: true },
  );
}
