import { loadConfig, type Config } from '../config/load.js';
import { openStore } from '../main.js';
import type { Store } from '../store/store.js';

/** Opens the configured store for one CLI command and always closes it. */
export async function withStore<T>(fn: (store: Store, config: Readonly<Config>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = await openStore(config);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Reads all of standard input (for passwords: never from argv, where `ps` and shell history see them). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
