import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import { hashPassword } from '../lib/password.js';
import { readableTime } from '../lib/readable-time.js';
import { RetentionJob, type RetentionPhase } from '../retention.js';
import { PostgresDatabase } from '../store/postgres/database.js';
import { printJson, readStdin, withStore } from './context.js';
import { progressLine } from './progress.js';

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

const PHASE_NAMES: Record<RetentionPhase, string> = { events: 'events', rawItems: 'raw items' };

/**
 * `botpulse prune`: what the server does daily, now. Each phase and its progress (rows deleted so
 * far, at most a line a second) go to standard error; the result to standard output.
 */
export async function prune(opts: { json?: boolean }): Promise<void> {
  await withStore(async (store, config) => {
    let phase: { name: RetentionPhase; line: ReturnType<typeof progressLine> } | null = null;
    const progress = (name: RetentionPhase, deleted: number, before: number) => {
      if (phase?.name !== name) {
        phase?.line.done();
        phase = { name, line: progressLine(`deleting ${PHASE_NAMES[name]} received before ${readableTime(before)}`) };
      }
      if (deleted > 0) phase.line.update(`${deleted} deleted so far`);
    };
    const result = await new RetentionJob(store, config, pino({ level: 'silent' })).run(Date.now(), progress);
    (phase as { line: ReturnType<typeof progressLine> } | null)?.line.done();
    if (opts.json) return printJson(result);
    process.stdout.write(`pruned ${result.events} event(s) older than ${config.retentionDays} days and ${result.rawItems} raw item(s)\n`);
  });
}

/** `botpulse token create`: prints a new API token once; only its hash is stored. */
export async function tokenCreate(opts: { label?: string }): Promise<void> {
  await withStore(async (store) => {
    const { token } = await store.createApiToken(opts.label ?? 'cli');
    process.stdout.write(token + '\n');
  });
}

/** `botpulse token list`: ids and labels, never the tokens (only their hashes are kept). */
export async function tokenList(opts: { json?: boolean }): Promise<void> {
  await withStore(async (store) => {
    const tokens = await store.listApiTokens();
    if (opts.json) return printJson(tokens);
    if (tokens.length === 0) return void process.stdout.write('no API tokens: botpulse token create --label <what for>\n');
    const now = Date.now();
    process.stdout.write(
      table(['ID', 'LABEL', 'ROLE', 'CREATED', 'LAST USED'], tokens.map((t) => [String(t.id), t.label, t.role, readableTime(t.createdAt, now), t.lastUsedAt === null ? 'never' : readableTime(t.lastUsedAt, now)])),
    );
  });
}

/** `botpulse token revoke <id>`. */
export async function tokenRevoke(id: string): Promise<void> {
  if (!/^\d+$/.test(id)) throw new Error(`"${id.slice(0, 40)}" is not a token id; the ids are in \`botpulse token list\``);
  await withStore(async (store) => {
    if (!(await store.revokeApiToken(Number(id)))) throw new Error(`no API token with id ${id}; see \`botpulse token list\``);
    process.stdout.write(`revoked API token ${id}\n`);
  });
}

/**
 * `botpulse user add <login>`: the password comes from standard input, never from argv. A
 * terminal or an empty input is refused with how to pipe it (reading a terminal would wait,
 * silently, for Ctrl-D).
 */
export async function userAdd(login: string): Promise<void> {
  const howTo = `pipe it, e.g. printf '%s' "$PASSWORD" | botpulse user add ${login}`;
  if (process.stdin.isTTY) throw new Error(`the password is read from standard input, not typed; ${howTo}`);
  const password = (await readStdin()).replace(/\r?\n$/, '');
  if (password.length === 0) throw new Error(`no password on standard input; ${howTo}`);
  if (password.length < 8) throw new Error(`the password on standard input has ${password.length} character(s); use at least 8 characters`);
  await withStore(async (store) => {
    const existed = Boolean(await store.getUser(login));
    await store.addUser(login, await hashPassword(password));
    process.stdout.write(existed ? `user "${login}": password changed\n` : `user "${login}" added\n`);
  });
}

/** `botpulse user list`. */
export async function userList(opts: { json?: boolean }): Promise<void> {
  await withStore(async (store) => {
    const users = await store.listUsers();
    if (opts.json) return printJson(users);
    if (users.length === 0) return void process.stdout.write(`no dashboard users: printf '%s' "$PASSWORD" | botpulse user add <login>\n`);
    const now = Date.now();
    process.stdout.write(table(['LOGIN', 'ROLE', 'CREATED'], users.map((u) => [u.login, u.role, readableTime(u.createdAt, now)])));
  });
}

/** `botpulse user remove <login>`: also ends their dashboard sessions. */
export async function userRemove(login: string): Promise<void> {
  await withStore(async (store) => {
    if (!(await store.removeUser(login))) throw new Error(`no dashboard user "${login}"; see \`botpulse user list\``);
    process.stdout.write(`removed user "${login}" and ended their sessions\n`);
  });
}

/** `botpulse user telegram <login> [account]`: links (or, without an account, unlinks) a Telegram account. */
export async function userTelegram(login: string, account: string | undefined): Promise<void> {
  if (account !== undefined && !/^(@?[A-Za-z][A-Za-z0-9_]{3,31}|\d{1,20})$/.test(account.trim())) {
    throw new Error(`"${account}" is not a Telegram account: give the numeric user id (e.g. 123456789) or the @username`);
  }
  await withStore(async (store) => {
    if (!(await store.setUserTelegram(login, account ?? null))) throw new Error(`there is no dashboard user "${login}" (add one with \`botpulse user add ${login}\`)`);
    process.stdout.write(account ? `user "${login}" linked to Telegram ${account.trim()}\n` : `user "${login}" unlinked from Telegram\n`);
  });
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col]!.length)));
  return [header, ...rows].map((cells) => cells.map((c, col) => (col === cells.length - 1 ? c : c.padEnd(widths[col]!))).join('  ') + '\n').join('');
}
