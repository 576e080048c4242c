import { createTestSchema } from './test-support/postgres.js';
import { PostgresDatabase } from './store/postgres/database.js';
const s = await createTestSchema('probe');
try {
  const r = await Promise.allSettled([1,2,3].map(() => PostgresDatabase.open(s.options({poolMax:2}))));
  for (const x of r) console.log(x.status, x.status==='rejected' ? x.reason.message : '');
  for (const x of r) if (x.status==='fulfilled') await x.value.close();
} finally { await s.drop(); }
