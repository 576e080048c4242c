import { pathToFileURL } from 'node:url';
import { Worker, type TransferListItem } from 'node:worker_threads';

/**
 * A worker thread on `entry`. Built code starts the .js entry directly. Under tsx (the tests run the
 * TypeScript sources) Node 20 does not apply `--import tsx` to a worker's entry module, so a
 * bootstrap registers tsx in the thread before importing the .ts entry. Such an eval worker also
 * skips the `--import` preloads of NODE_OPTIONS, so the bootstrap imports those first (the test runs
 * on other Node versions load better-sqlite3 built for them through one:
 * scripts/node-hooks/native-for-node.mjs).
 */
export function threadWorker(entry: URL, workerData: unknown, transferList: TransferListItem[] = []): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData, transferList });
  const preloads = nodeOptionImports(process.env.NODE_OPTIONS ?? '').map((p) => `await import(${JSON.stringify(p)});`).join(' ');
  const bootstrap = `(async () => { ${preloads} const { register } = await import('tsx/esm/api'); register(); await import(${JSON.stringify(entry.href)}); })();`;
  return new Worker(bootstrap, { eval: true, workerData, transferList });
}

/** The `--import` modules of a NODE_OPTIONS string, as file URLs when they are paths. */
function nodeOptionImports(options: string): string[] {
  const found = [...options.matchAll(/--import[= ](\S+)/g)].map((m) => m[1]!).filter((m) => m !== 'tsx');
  return found.map((m) => (m.startsWith('/') ? pathToFileURL(m).href : m));
}
