#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { unknownKeyWarnings } from '../config/misspelled.js';
import { ISSUE_SORTS, SEND_LEVELS } from './choices.js';
import { registerLockCommands } from './lock.js';
import { choiceOption, wholeNumber } from './options.js';
import { registerTailCommand } from './tail.js';

/**
 * Each command's module is loaded when the command runs, so `botpulse --version`, `--help` and a
 * refused option answer without loading the server (Fastify, the digest, alerting, the stores).
 */
function lazy<M>(load: () => Promise<M>, pick: (m: M) => (...args: never[]) => Promise<void>): (...args: unknown[]) => Promise<void> {
  return async (...args) => (pick(await load()) as (...a: unknown[]) => Promise<void>)(...args);
}
const serve = lazy(() => import('./serve.js'), (m) => m.serve);
const migrate = lazy(() => import('./maintenance.js'), (m) => m.migrate);
const prune = lazy(() => import('./maintenance.js'), (m) => m.prune);
const tokenCreate = lazy(() => import('./maintenance.js'), (m) => m.tokenCreate);
const tokenList = lazy(() => import('./maintenance.js'), (m) => m.tokenList);
const tokenRevoke = lazy(() => import('./maintenance.js'), (m) => m.tokenRevoke);
const userAdd = lazy(() => import('./maintenance.js'), (m) => m.userAdd);
const userList = lazy(() => import('./maintenance.js'), (m) => m.userList);
const userRemove = lazy(() => import('./maintenance.js'), (m) => m.userRemove);
const userTelegram = lazy(() => import('./maintenance.js'), (m) => m.userTelegram);
const migrateData = lazy(() => import('./migrate-data.js'), (m) => m.migrateData);
const projectCreate = lazy(() => import('./project.js'), (m) => m.projectCreate);
const projectList = lazy(() => import('./project.js'), (m) => m.projectList);
const projectDelete = lazy(() => import('./project.js'), (m) => m.projectDelete);
const listIssues = lazy(() => import('./issues.js'), (m) => m.listIssues);
const sendTestEvent = lazy(() => import('./send.js'), (m) => m.sendTestEvent);
const testAlert = lazy(() => import('./alerts.js'), (m) => m.testAlert);
const githubCreate = lazy(() => import('./github.js'), (m) => m.githubCreate);

/** The version of this package (packages/server/package.json), from dist/cli or src/cli alike. */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('botpulse')
  .description('Botpulse: error tracking and health monitoring for Telegram bots.\nConfiguration: environment variables, see docs/configuration.md.')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError('(botpulse help <command> lists its options)');

program.command('serve').description('run the server (ingestion, digest, API)').action(serve);
program.command('migrate').description('apply pending database migrations').action(migrate);
program
  .command('migrate-data')
  .description(
    'copy a SQLite data directory into PostgreSQL (every table, ids kept: DSNs, short ids, tokens and logins stay valid), ' +
      'in one transaction, with a line per table and the row counts verified at the end. Stop the server first.',
  )
  .requiredOption('--from <data dir>', 'the SQLite data directory (holds botpulse.db and botpulse-spool.db)')
  .option('--to <postgres url>', 'the target database (default: BOTPULSE_DATABASE_URL or _FILE, which keeps the password out of the process list)')
  .option('--force', 'the target already holds Botpulse rows: delete them first (otherwise it is refused, as copied ids would collide)')
  .addHelpText('after', '\nSee docs/operations.md, "Moving from SQLite".')
  .action(migrateData);

const project = program.command('project').description('manage projects (one per bot)');
project
  .command('create <name>')
  .description('create a project and print its DSN; refused when its slug is taken')
  .option('--json', 'print a JSON object')
  .option('--slug <slug>', 'URL name (default: from the name)')
  .option('--prefix <letters>', 'short id prefix, 1 to 6 letters, e.g. PAY for PAY-001')
  .action(projectCreate);
project.command('list').description('list projects with their DSNs').option('--json', 'print JSON').action(projectList);
project
  .command('delete <slug>')
  .description('delete a project and all its data (issues, events, monitors, alerts); its DSN stops working')
  .option('--yes', 'really delete (without it, only says what would go)')
  .option('--json', 'print the rows deleted per table as JSON')
  .action(projectDelete);

program
  .command('issues')
  .description('list the top issues of a project')
  .requiredOption('--project <slug>', 'project slug or id')
  .option('--status <list>', 'comma-separated statuses: new, in_progress, resolved, ignored', 'new,in_progress')
  .addOption(choiceOption('--sort <key>', 'sort by', ISSUE_SORTS, 'last_seen'))
  .addOption(new Option('--limit <n>', 'how many, 1 to 1000').argParser(wholeNumber(1, 1000)).default(25))
  .option('--json', 'print a JSON array')
  .action(listIssues);

program
  .command('send')
  .description('send a test event through the ingestion endpoint')
  .option('--dsn <dsn>', 'DSN to send to (default: BOTPULSE_DSN, else the first local project)')
  .option('--message <text>', 'the message', 'Botpulse test event')
  .addOption(choiceOption('--level <level>', 'the level (critical is what Sentry calls fatal)', SEND_LEVELS, 'error'))
  .action(sendTestEvent);

registerTailCommand(program);

program
  .command('test-alert')
  .description('send a test message through every configured alert channel and print what each answered')
  .option('--json', 'print a JSON array')
  .action(testAlert);

const github = program.command('github').description('GitHub issues for Botpulse issues (docs/github.md)');
github
  .command('create <shortId>')
  .description('create the GitHub issue of a Botpulse issue (e.g. B-012), or show the one it has')
  .option('--project <slug>', 'the project, when the short id is in several')
  .option('--wait <seconds>', 'how long to wait for GitHub before leaving the job to the server', '60')
  .option('--json', 'print JSON')
  .action(githubCreate);

program
  .command('prune')
  .description('delete events older than ERROR_LOG_RETENTION_DAYS, with progress on standard error')
  .option('--json', 'print JSON')
  .action(prune);

const token = program.command('token').description('API tokens');
token.command('create').description('create an API token and print it (shown once)').option('--label <label>', 'what the token is for').action(tokenCreate);
token.command('list').description('list API tokens: id, label, created (never the tokens)').option('--json', 'print JSON').action(tokenList);
token
  .command('revoke <id>')
  .description('revoke an API token by its id (from `token list`); it stops working at once')
  .action(tokenRevoke);

const user = program.command('user').description('dashboard users');
user
  .command('add <login>')
  .description('add a user or set their password; the password is read from standard input (printf %s "$PASSWORD" | botpulse user add ann)')
  .action(userAdd);
user.command('list').description('list dashboard users').option('--json', 'print JSON').action(userList);
user.command('remove <login>').description('remove a dashboard user and end their sessions').action(userRemove);
user
  .command('telegram <login> [account]')
  .description('link a user to their Telegram account (numeric id or @username): pressing Acknowledge in a chat assigns the issue to them; without an account, unlink')
  .action(userTelegram);

registerLockCommands(program);

for (const warning of unknownKeyWarnings(process.env)) process.stderr.write(`botpulse: ${warning}\n`);

program.parseAsync().catch((err: unknown) => {
  let message = err instanceof Error ? err.message : String(err);
  // better-sqlite3 built for another Node (Node switched after `npm install`): say the fix.
  if (/NODE_MODULE_VERSION/.test(message)) {
    message = `better-sqlite3 was built for another Node version than this one (${process.version}); run \`npm rebuild better-sqlite3\` with this Node (README, "Node versions")\n${message}`;
  }
  process.stderr.write(`botpulse: ${message}\n`);
  process.exit(1);
});
