import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import { hashPassword } from '../lib/password.js';
import { RetentionJob } from '../retention.js';
import { PostgresDatabase } from '../store/postgres/database.js';
import { printJson, readStdin, withStore } from './context.js';

/** `botpulse migrate`: applies pending migrations (the server also does at start). */
export async function migrate(): Promise<void> {
  const { database } = loadConfig();
  const report = (applied: number) => void process.stdout.write(applied ? `applied ${applied} migration(s)\n` : 'database is up to date\n');
  if (database.kind === 'postgres') {
    // Opened without migrating, so the count printed is what this command applied.
    const postgres = await PostgresDatabase.open(database, { migrate: false });
    try {
      return report(await postgres.migrate());
    } finally {
      await postgres.close();
    }
  }
  await withStore(async (store) => report(await store.migrate()));
}

/** `botpulse prune`: what the server does daily, now. */
export async function prune(opts: { json?: boolean }): Promise<void> {
  await withStore(async (store, config) => {
    const result = await new RetentionJob(store, config, pino({ level: 'silent' })).runOnce();
    if (opts.json) return printJson(result);
    process.stdout.write(
      `pruned ${result.events} event(s) older than ${config.retentionDays} days and ${result.rawItems} raw item(s)\n`,
    );
  });
}

/** `botpulse token create`: prints a new API token once; only its hash is stored. */
export async function tokenCreate(opts: { label?: string }): Promise<void> {
  await withStore(async (store) => {
    const { token } = await store.createApiToken(opts.label ?? 'cli');
    process.stdout.write(token + '\n');
  });
}

/** `botpulse user add <login>`: the password comes from standard input, never from argv. */
export async function userTelegram(login: string, account: string | undefined): Promise<void> {
  if (account !== undefined && !/^(@?[A-Za-z][A-Za-z0-9_]{3,31}|\d{1,20})$/.test(account.trim())) {
    throw new Error(`"${account}" is not a Telegram account: give the numeric user id (e.g. 123456789) or the @username`);
  }
  await withStore(async (store) => {
    if (!(await store.setUserTelegram(login, account ?? null))) throw new Error(`there is no dashboard user "${login}" (add one with \`botpulse user add ${login}\`)`);
    process.stdout.write(account ? `user "${login}" linked to Telegram ${account.trim()}\n` : `user "${login}" unlinked from Telegram\n`);
  });
}

export async function userAdd(login: string): Promise<void> {
  const password = (await readStdin()).replace(/\r?\n$/, '');
  if (password.length < 8) throw new Error('password must have at least 8 characters (pipe it on standard input)');
  await withStore(async (store) => {
    await store.addUser(login, await hashPassword(password));
    process.stdout.write(`user "${login}" saved\n`);
  });
}
