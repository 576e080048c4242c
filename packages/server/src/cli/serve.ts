import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { presentProject } from '../http/present.js';
import { createBotpulse } from '../main.js';
import type { Store } from '../store/store.js';

const INITIAL_TOKEN_FILE = 'initial-api-token';

/** `botpulse serve`: runs the server until SIGINT/SIGTERM, then shuts down without losing events. */
export async function serve(): Promise<void> {
  const config = loadConfig();
  const botpulse = await createBotpulse(config);
  const firstStart = await bootstrap(botpulse.store, config.dataDir);
  // Registered before anything is printed: whoever reads the banner may signal at once.
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    botpulse.logger.info({ signal }, 'shutting down');
    await botpulse.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  await botpulse.listen();

  const projects = await botpulse.store.listProjects();
  const lines = [
    '',
    `Botpulse is running at ${config.publicUrl}  (data: ${config.databaseFile})`,
    ...projects.map((p) => `  project "${p.slug}"  DSN: ${presentProject(p, config.publicUrl).dsn}`),
    '',
    'Point a Sentry SDK (or @botpulse/sdk) at a DSN above, e.g. SENTRY_DSN=<dsn> node bot.js',
    `Log in to the API with the token in ${join(config.dataDir, INITIAL_TOKEN_FILE)}` +
      (firstStart ? ' (created now)' : '') +
      ` as "Authorization: Bearer <token>", e.g.`,
    `  curl -H "Authorization: Bearer $(cat ${join(config.dataDir, INITIAL_TOKEN_FILE)})" ${config.publicUrl}/api/v1/projects`,
    'More: npx botpulse --help',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/**
 * On the first start: a default project, and an API token written to a 0600 file in the data
 * directory (never to the log).
 */
async function bootstrap(store: Store, dataDir: string): Promise<boolean> {
  if ((await store.listProjects()).length > 0) return false;
  await store.createProject({ name: 'My Bot', slug: 'my-bot', shortIdPrefix: 'B' });
  const tokenFile = join(dataDir, INITIAL_TOKEN_FILE);
  if (!existsSync(tokenFile)) {
    const { token } = await store.createApiToken('initial');
    writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
    chmodSync(tokenFile, 0o600);
  }
  return true;
}
