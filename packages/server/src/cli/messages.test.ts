// The CLI says what to do (issue 16): every refusal a person met that did not say what to fix,
// run through the real, built CLI, each with the words that tell them. messages-data.test.ts has
// the messages about data, manage.test.ts the management commands, outside.test.ts the rest.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNoStack, runCli as botpulse } from '../test-support/cli.js';
import { freePort, startTestServer, type TestServer } from '../test-support/server.js';

describe('the CLI says what to do', () => {
  let server: TestServer;
  let env: Record<string, string>;
  let stoppedPort: number;

  before(async () => {
    server = await startTestServer();
    env = { BOTPULSE_DATA_DIR: server.dataDir, BOTPULSE_URL: server.url, BOTPULSE_LOG_LEVEL: 'silent' };
    stoppedPort = await freePort();
  });
  after(async () => server.close());

  interface Case {
    name: string;
    args: () => string[];
    env?: () => Record<string, string>;
    input?: string;
    code: number;
    /** A function: some patterns name a port known only once the tests start. */
    stderr: () => RegExp[];
    stdout?: RegExp;
  }

  const cases: Case[] = [
    {
      name: '`issues --sort foo` names the sorts',
      args: () => ['issues', '--project', server.project.slug, '--sort', 'foo'],
      code: 1,
      stderr: () => [/--sort.*'foo' is invalid/, /Allowed choices are last_seen, count, users/],
    },
    {
      name: '`issues --limit abc` says a whole number in range, not "datatype mismatch"',
      args: () => ['issues', '--project', server.project.slug, '--limit', 'abc'],
      code: 1,
      stderr: () => [/--limit.*'abc' is invalid\. Use a whole number from 1 to 1000/],
    },
    {
      name: '`issues --status` with an unknown status lists the statuses',
      args: () => ['issues', '--project', server.project.slug, '--status', 'open'],
      code: 1,
      stderr: () => [/unknown status open; use a comma-separated list of new, in_progress, resolved, ignored/],
    },
    {
      name: '`send` to a stopped server names its URL and asks whether it runs',
      args: () => ['send', '--dsn', `http://0123456789abcdef0123456789abcdef@127.0.0.1:${stoppedPort}/1`],
      code: 1,
      stderr: () => [new RegExp(`cannot reach the Botpulse server at http://127\\.0\\.0\\.1:${stoppedPort} \\(connection refused`), /is `botpulse serve` running there\?/],
    },
    {
      name: '`send` with a broken DSN says what a DSN looks like, without repeating it',
      args: () => ['send', '--dsn', 'localhost:8000/1'],
      code: 1,
      stderr: () => [/the DSN from --dsn is not valid/, /http:\/\/<key>@<host>:<port>\/<project id>/],
    },
    {
      name: '`lock status` with Redis down names the URL (password hidden) and what to check, without a stack',
      args: () => ['lock', 'status', '--redis', `redis://:s3cret@127.0.0.1:${stoppedPort}`],
      code: 1,
      stderr: () => [new RegExp(`cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${stoppedPort}/? \\(connection refused`), /check that Redis is running there/],
    },
    {
      name: '`user add` without standard input says how to pipe the password',
      args: () => ['user', 'add', 'ann'],
      input: '',
      code: 1,
      stderr: () => [/no password on standard input; pipe it, e\.g\. printf '%s' "\$PASSWORD" \| botpulse user add ann/],
    },
    {
      name: '`user add` with a short password says how many characters it needs',
      args: () => ['user', 'add', 'ann'],
      input: 'short\n',
      code: 1,
      stderr: () => [/has 5 character\(s\); use at least 8 characters/],
    },
    {
      name: 'BOTPULSE_URL without a scheme is refused with the fix, and no broken DSN is printed',
      args: () => ['project', 'list'],
      env: () => ({ BOTPULSE_URL: 'localhost:8000' }),
      code: 1,
      stderr: () => [/BOTPULSE_URL: "localhost:8000" has no scheme; write BOTPULSE_URL=http:\/\/localhost:8000/],
      stdout: /^$/,
    },
    {
      name: 'a misspelled BOTPULSE_* variable is warned about with the closest key; the SDK\'s own are not',
      args: () => ['project', 'list', '--json'],
      env: () => ({ BOTPULSE_POTR: '9000', BOTPULSE_DSN: server.dsn, BOTPULSE_TEST_DATABASE_URL: 'postgres://x' }),
      code: 0,
      stderr: () => [/^botpulse: warning: BOTPULSE_POTR is not a Botpulse setting and is ignored; did you mean BOTPULSE_PORT\?\n$/],
    },
    {
      name: 'a short-id prefix of digits is refused with the rule the dashboard states',
      args: () => ['project', 'create', 'Digits Bot', '--prefix', '1234567'],
      code: 1,
      stderr: () => [/short-id prefix "1234567" is not allowed: use 1 to 6 letters/],
    },
    {
      name: '`token revoke` of an unknown id points at `token list`',
      args: () => ['token', 'revoke', '999999'],
      code: 1,
      stderr: () => [/no API token with id 999999; see `botpulse token list`/],
    },
    {
      name: '`user remove` of an unknown login points at `user list`',
      args: () => ['user', 'remove', 'nobody'],
      code: 1,
      stderr: () => [/no dashboard user "nobody"; see `botpulse user list`/],
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const run = await botpulse(c.args(), { ...env, ...c.env?.() }, c.input ?? '');
      assert.equal(run.code, c.code, `exit code; stderr: ${run.stderr}`);
      for (const pattern of c.stderr()) assert.match(run.stderr, pattern);
      if (c.stdout) assert.match(run.stdout, c.stdout);
      assertNoStack(run);
    });
  }
});
