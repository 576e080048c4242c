#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError } from '../config/load.js';
import { testAlert } from './alerts.js';
import { listIssues } from './issues.js';
import { githubCreate } from './github.js';
import { registerLockCommands } from './lock.js';
import { migrate, prune, tokenCreate, userAdd, userTelegram } from './maintenance.js';
import { migrateData } from './migrate-data.js';
import { projectCreate, projectList } from './project.js';
import { sendTestEvent } from './send.js';
import { serve } from './serve.js';
import { registerTailCommand } from './tail.js';

const program = new Command()
  .name('botpulse')
  .description('Botpulse: error tracking and health monitoring for Telegram bots.\nConfiguration: environment variables, see docs/configuration.md.')
  .showHelpAfterError();

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
  .description('create a project and print its DSN')
  .option('--json', 'print a JSON object')
  .option('--slug <slug>', 'URL name (default: from the name)')
  .option('--prefix <letters>', 'short id prefix, e.g. PAY for PAY-001')
  .action(projectCreate);
project.command('list').description('list projects with their DSNs').option('--json', 'print JSON').action(projectList);

program
  .command('issues')
  .description('list the top issues of a project')
  .requiredOption('--project <slug>', 'project slug or id')
  .option('--status <list>', 'comma-separated statuses', 'new,in_progress')
  .option('--sort <key>', 'last_seen, count or users', 'last_seen')
  .option('--limit <n>', 'how many', '25')
  .option('--json', 'print a JSON array')
  .action(listIssues);

program
  .command('send')
  .description('send a test event through the ingestion endpoint')
  .option('--dsn <dsn>', 'DSN to send to (default: BOTPULSE_DSN, else the first local project)')
  .option('--message <text>', 'the message', 'Botpulse test event')
  .option('--level <level>', 'fatal, error, warning, info or debug', 'error')
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

program.command('prune').description('delete events older than ERROR_LOG_RETENTION_DAYS').option('--json', 'print JSON').action(prune);

program
  .command('token')
  .description('API tokens')
  .command('create')
  .description('create an API token and print it (shown once)')
  .option('--label <label>', 'what the token is for')
  .action(tokenCreate);

const user = program.command('user').description('dashboard users');
user.command('add <login>').description('add or update a user; the password is read from standard input').action(userAdd);
user
  .command('telegram <login> [account]')
  .description('link a user to their Telegram account (numeric id or @username): pressing Acknowledge in a chat assigns the issue to them; without an account, unlink')
  .action(userTelegram);

registerLockCommands(program);

program.parseAsync().catch((err: unknown) => {
  const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`botpulse: ${message}\n`);
  process.exit(1);
});
