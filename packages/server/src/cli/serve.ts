import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { presentProject } from '../http/present.js';
import { hashPassword } from '../lib/password.js';
import { privateFile } from '../lib/private-files.js';
import { createBotpulse } from '../main.js';
import type { Store } from '../store/store.js';

const INITIAL_TOKEN_FILE = 'initial-api-token';
const INITIAL_ADMIN_LOGIN = 'admin';
const INITIAL_PASSWORD_FILE = 'initial-admin-password';

/** `botpulse serve`: runs the server until SIGINT/SIGTERM, then shuts down without losing events. */
export async function serve(): Promise<void> {
  const config = loadConfig();
  // Before anything is created (data directory, database, credential files): a server that cannot
  // listen must leave no half-made data directory behind.
  await assertCanListen(config.host, config.port);
  const botpulse = await createBotpulse(config);
  // Written 0600 (below); a copy loosened by hand or restored from a backup is tightened again.
  const tightened = [INITIAL_TOKEN_FILE, INITIAL_PASSWORD_FILE].flatMap((name) => privateFile(join(config.dataDir, name)));
  if (tightened.length > 0) botpulse.logger.warn({ tightened }, 'credential files were readable by other users; made them 0600');
  // Several processes may start together on one empty PostgreSQL database: one bootstraps.
  const { firstStart, adminCreated } = await botpulse.store.exclusively('first-start', async () => ({
    firstStart: await bootstrap(botpulse.store, config.dataDir),
    adminCreated: await bootstrapAdmin(botpulse.store, config.dataDir),
  }));
  // Registered before anything is printed: whoever reads the banner may signal at once.
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    botpulse.logger.info({ signal }, 'shutting down');
    try {
      await botpulse.close();
    } catch (err) {
      // Whatever was committed is safe (the spool and the feeds are durable); say what did not close.
      botpulse.logger.error({ err }, 'shutdown did not finish cleanly');
      process.exit(1);
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  try {
    await botpulse.listen();
  } catch (err) {
    // Taken between the check and now (another process started meanwhile).
    await botpulse.close().catch(() => {});
    throw listenError(err, config.host, config.port, '');
  }

  const projects = await botpulse.store.listProjects();
  const lines = [
    '',
    `Botpulse is running at ${config.publicUrl}  (data: ${config.database.kind === 'postgres' ? config.database.url.redacted : config.databaseFile})`,
    ...projects.map((p) => `  project "${p.slug}"  DSN: ${presentProject(p, config.publicUrl).dsn}`),
    '',
    'Point a Sentry SDK (or @botpulse/sdk) at a DSN above, e.g. SENTRY_DSN=<dsn> node bot.js',
    `Log in to the API with the token in ${join(config.dataDir, INITIAL_TOKEN_FILE)}` +
      (firstStart ? ' (created now)' : '') +
      ` as "Authorization: Bearer <token>", e.g.`,
    `  curl -H "Authorization: Bearer $(cat ${join(config.dataDir, INITIAL_TOKEN_FILE)})" ${config.publicUrl}/api/v1/projects`,
    dashboardLine(config.publicUrl, config.dataDir, adminCreated),
    'More: npx botpulse --help',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** Binds the address for a moment and lets it go: refused with what to change when it is not free. */
async function assertCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return; // any free port
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(listenError(err, host, port, ' Nothing was created.')));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

function listenError(err: unknown, host: string, port: number, note: string): Error {
  const code = (err as { code?: string }).code;
  if (code === 'EADDRINUSE') {
    return new Error(
      `port ${port} on ${host} is already in use (another Botpulse, or another program); ` +
        `stop it, or set BOTPULSE_PORT to a free port, e.g. BOTPULSE_PORT=${port === 65535 ? 8001 : port + 1}.${note}`,
    );
  }
  if (code === 'EACCES') return new Error(`port ${port} needs privileges to listen on; set BOTPULSE_PORT to 1024 or above (e.g. 8000).${note}`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new Error(`cannot listen on ${host}: not an address of this machine; set BOTPULSE_HOST (e.g. 127.0.0.1, or 0.0.0.0 for every interface).${note}`);
  }
  return err instanceof Error ? err : new Error(String(err));
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

/**
 * A dashboard login from the start: user `admin` with a random password in a 0600 file of the data
 * directory. The password is never printed or logged; the banner names the file. Skipped once
 * the file exists or someone created `admin` by hand.
 */
async function bootstrapAdmin(store: Store, dataDir: string): Promise<boolean> {
  const passwordFile = join(dataDir, INITIAL_PASSWORD_FILE);
  if (existsSync(passwordFile) || (await store.getUser(INITIAL_ADMIN_LOGIN))) return false;
  const password = randomBytes(18).toString('base64url');
  await store.addUser(INITIAL_ADMIN_LOGIN, await hashPassword(password));
  writeFileSync(passwordFile, password + '\n', { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
  return true;
}

function dashboardLine(publicUrl: string, dataDir: string, adminCreated: boolean): string {
  const passwordFile = join(dataDir, INITIAL_PASSWORD_FILE);
  const how = existsSync(passwordFile)
    ? `log in as "${INITIAL_ADMIN_LOGIN}" with the password in ${passwordFile}${adminCreated ? ' (created now)' : ''}`
    : 'log in with a user from `npx botpulse user add <login>`';
  return `Dashboard: ${publicUrl}/  ${how}`;
}
