// Redis for the SDK tests: BOTPULSE_TEST_REDIS_URL (default redis://127.0.0.1:6379). When it is
// unreachable the tests are skipped with a loud notice, except under CI where they must fail.
import { Redis } from 'ioredis';

export const REDIS_URL = process.env['BOTPULSE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Resolves to a skip reason (string) when Redis is unreachable outside CI; throws under CI. */
export async function redisUnavailable(): Promise<string | false> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  try {
    await redis.connect();
    await redis.ping();
    return false;
  } catch (error) {
    const reason = `Redis at ${REDIS_URL} is unreachable (${(error as Error).message})`;
    if (process.env['CI']) throw new Error(`${reason}; CI requires it`);
    console.warn(`\n!!! SKIPPING Redis tests: ${reason} !!!\n`);
    return reason;
  } finally {
    redis.disconnect();
  }
}

/** A key prefix no other test (or run) uses. */
export function uniquePrefix(name: string): string {
  return `botpulse-test:${name}:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2, 8)}`;
}
