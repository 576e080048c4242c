import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';

const PYTHON = '/usr/bin/python3';
const hasSentrySdk = async () => {
  if (!existsSync(PYTHON)) return false;
  try {
    await promisify(execFile)(PYTHON, ['-c', 'import sentry_sdk']);
    return true;
  } catch {
    return false;
  }
};
const available = await hasSentrySdk();
if (!available && process.env.CI) throw new Error('CI must have python3-sentry-sdk (apt-get install python3-sentry-sdk)');

describe('Debian python3-sentry-sdk reporting to Botpulse', { skip: !available && 'python3-sentry-sdk is not installed (apt-get install python3-sentry-sdk)' }, () => {
  let server: TestServer;
  let ids: Record<string, string>;

  before(async () => {
    server = await startTestServer();
    const client = fileURLToPath(new URL('./clients/sentry_python_client.py', import.meta.url));
    // Started from another directory, as a service often is: no frame is under the working directory.
    const { stdout } = await promisify(execFile)(PYTHON, [client, server.dsn], { timeout: 60_000, cwd: tmpdir() });
    ids = JSON.parse(stdout.trim().split('\n').pop()!);
    await server.digested();
  });
  after(async () => server.close());

  it('stores an exception and groups repeats into one issue', async () => {
    const first = await server.botpulse.store.getEvent(server.project.id, ids['same-1']!);
    const second = await server.botpulse.store.getEvent(server.project.id, ids['same-2']!);
    assert.ok(first && second);
    assert.equal(first.issueId, second.issueId);
    const issue = (await server.botpulse.store.getIssue(first.issueId))!;
    assert.equal(issue.eventCount, 2);
    assert.match(issue.title, /^KeyError: .?message/);
    assert.match(issue.culprit ?? '', /handle_update/);
    assert.equal(first.environment, 'staging');
    assert.equal(first.release, 'pybot@2.1.0');
  });

  it('keeps the Telegram context, user and origin of a Python event', async () => {
    const event = (await server.botpulse.store.getEvent(server.project.id, ids.zero!))!;
    const issue = (await server.botpulse.store.getIssue(event.issueId))!;
    assert.match(issue.title, /^ZeroDivisionError/);
    assert.equal(event.origin, 'handler');
    assert.equal(event.userKey, 'tg:42');
    assert.equal(issue.userCount, 1);
  });

  it('blames the bot\'s own frame when sentry-python marked no frame in-app, not the standard library (issue 11, item 17)', async () => {
    const event = (await server.botpulse.store.getEvent(server.project.id, ids['no-in-app']!))!;
    const issue = (await server.botpulse.store.getIssue(event.issueId))!;
    assert.match(issue.title, /^JSONDecodeError: /);
    assert.equal(issue.culprit, 'pybot_handlers in handle_update');
  });

  it('titles an exception with neither type nor value by its crash frame, not <unlabeled event>', async () => {
    const event = (await server.botpulse.store.getEvent(server.project.id, ids.nameless!))!;
    const issue = (await server.botpulse.store.getIssue(event.issueId))!;
    assert.equal(issue.title, 'handle_update');
    assert.equal(issue.culprit, 'pybot_handlers in handle_update');
  });
});
