import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';

const TOKEN_SECRET = 'AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';

/** A library outside the app (in node_modules), like grammY, whose frames are not in-app. */
function writeTelegramLibrary(): string {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-tglib-'));
  mkdirSync(join(dir, 'node_modules', 'tg-lib'), { recursive: true });
  writeFileSync(
    join(dir, 'node_modules', 'tg-lib', 'index.js'),
    `class GrammyError extends Error { constructor(m) { super(m); this.name = 'GrammyError'; } }
     function request(n) { throw new GrammyError("Call to 'sendMessage' failed! (429: Too Many Requests: retry after " + n + ")"); }
     exports.callApi = function callApi(n) { return request(n); };
     exports.failLater = function failLater(n) {
       return new Promise((resolve, reject) => setImmediate(function onTick() { try { request(n); } catch (e) { reject(e); } }));
     };`,
  );
  return dir;
}

describe('an unmodified @sentry/node reporting to Botpulse', () => {
  let server: TestServer;
  let ids: Record<string, string>;

  before(async () => {
    server = await startTestServer();
    const client = fileURLToPath(new URL('./clients/sentry-node-client.mjs', import.meta.url));
    // Asynchronous: the server runs in this process and must keep answering the client.
    const library = writeTelegramLibrary();
    try {
      const { stdout: out } = await promisify(execFile)(process.execPath, [client, server.dsn, library], { encoding: 'utf8', timeout: 60_000 });
      ids = JSON.parse(out);
    } finally {
      rmSync(library, { recursive: true, force: true });
    }
    await server.digested();
  });
  after(async () => server.close());

  const issueOf = async (name: string) => {
    const event = await server.botpulse.store.getEvent(server.project.id, ids[name]!);
    assert.ok(event, `event for ${name} was stored`);
    return (await server.botpulse.store.getIssue(event.issueId))!;
  };

  it('groups the same error from the same place into one issue with count 2', async () => {
    const a = await issueOf('same-1');
    const b = await issueOf('same-2');
    assert.equal(a.id, b.id);
    assert.equal(b.eventCount, 2);
    assert.match(a.shortId, /^B-\d{3}$/);
    assert.equal(a.level, 'error');
    assert.equal(a.firstRelease, 'bot@1.0.0');
    assert.match(a.title, /^Error: card declined for amount/);
  });

  it('puts a different error into another issue', async () => {
    assert.notEqual((await issueOf('different')).id, (await issueOf('same-1')).id);
    assert.match((await issueOf('different')).title, /^TypeError/);
  });

  it('groups "retry after 17" and "retry after 3" into one issue, as exceptions and as messages', async () => {
    assert.equal((await issueOf('retry-17')).id, (await issueOf('retry-3')).id);
    assert.equal((await issueOf('retry-3')).eventCount, 2);
    const libIssue = await issueOf('lib-retry-17');
    assert.equal(libIssue.id, (await issueOf('lib-retry-3')).id);
    assert.equal(libIssue.eventCount, 2);
    assert.match(libIssue.title, /^GrammyError: Call to 'sendMessage' failed! \(429: Too Many Requests: retry after 17\)/);
    assert.equal((await issueOf('message-17')).id, (await issueOf('message-3')).id);
    assert.notEqual((await issueOf('message-17')).id, (await issueOf('retry-17')).id);
  });

  it('honours a custom fingerprint across different errors', async () => {
    const a = await issueOf('custom-1');
    assert.equal(a.id, (await issueOf('custom-2')).id);
    assert.notEqual(a.id, (await issueOf('same-1')).id);
  });

  it('never stores the bot token: not in the message, the URL breadcrumb, the extra field, nor anywhere on disk', async () => {
    const event = await server.botpulse.store.getEvent(server.project.id, ids.token!);
    const json = JSON.stringify(event);
    assert.ok(!json.includes(TOKEN_SECRET), 'token found in the stored event');
    assert.match(json, /\[Filtered\]/);
    assert.equal(event!.origin, 'webhook');
    const issue = await issueOf('token');
    assert.ok(!issue.title.includes(TOKEN_SECRET));
    // The raw database, its WAL and its shared memory: the secret never reached the disk.
    for (const file of readdirSync(server.dataDir)) {
      const bytes = readFileSync(join(server.dataDir, file));
      assert.equal(bytes.indexOf(TOKEN_SECRET), -1, `token bytes found in ${file}`);
    }
  });
});

/** Secrets the probing of issue 11 found on disk; none may reach any file of the data directory. */
const SECRETS = {
  token: `987654321:${'AAF7' + 'x'.repeat(27) + 'Qz9k'}`,
  queryKey: 'AIzaSyBprobeQueryKey0123456789',
  sig: 'sigprobe0a1b2c3d4e5f',
  signature: 'signatureprobe9f8e7d6c',
  pwd: 'pwdprobe-hunter2',
  pass: 'passprobe-correcthorse',
  openai: 'sk-proj-OpenAIprobe0123456789abcdefABCDEF',
  anthropic: 'sk-ant-api03-AnthropicProbe_0123456789-abcdefgh',
};

describe('secrets found by probing never reach the disk (issue 11)', () => {
  let server: TestServer;
  let ids: Record<string, string>;

  before(async () => {
    server = await startTestServer();
    const client = fileURLToPath(new URL('./clients/sentry-node-secrets.mjs', import.meta.url));
    const { stdout: out } = await promisify(execFile)(process.execPath, [client, server.dsn, JSON.stringify(SECRETS)], { encoding: 'utf8', timeout: 60_000 });
    ids = JSON.parse(out);
    // An item type named after the token: no SDK sends one, so a raw envelope does.
    const envelope = `{"dsn":"${server.dsn}"}\n{"type":"x-${SECRETS.token}","length":2}\n{}\n`;
    const res = await fetch(`${server.url}/api/${server.project.id}/envelope/`, { method: 'POST', body: envelope });
    assert.equal(res.status, 200);
    await server.digested();
  });
  after(async () => server.close());

  it('stores every event, each with [Filtered] where a secret was', async () => {
    for (const name of ['attachment', 'doubleEncoded', 'queryParameters', 'apiKeys']) {
      const event = await server.botpulse.store.getEvent(server.project.id, ids[name]!);
      assert.ok(event, `${name} stored`);
      if (name !== 'attachment') assert.match(JSON.stringify(event), /\[Filtered\]/, name);
    }
    const withAttachment = await server.botpulse.store.getEvent(server.project.id, ids.attachment!);
    assert.equal(withAttachment!.attachments.length, 1);
    assert.match(withAttachment!.attachments[0]!.filename, /^dump-\[Filtered\]\.txt$/);
    assert.match(withAttachment!.attachments[0]!.contentType ?? '', /^text\/plain; token="?\[Filtered\]"?$/);
    assert.equal((await server.botpulse.store.itemCounts(server.project.id)).unknown, 1);
  });

  it('leaves none of them in any file of the data directory, nor in /health', async () => {
    const token = SECRETS.token;
    const needles = [
      ...Object.entries(SECRETS).filter(([k]) => k !== 'token').map(([, v]) => v),
      token.split(':')[1]!,
      token.replace(':', '%253A'),
    ];
    const health = await (await fetch(`${server.url}/health`)).text();
    for (const needle of needles) assert.ok(!health.includes(needle), `${needle} in /health`);
    // The database, its WAL and shared memory, the spool file: as the running server left them.
    for (const file of readdirSync(server.dataDir)) {
      const bytes = readFileSync(join(server.dataDir, file));
      for (const needle of needles) assert.equal(bytes.indexOf(needle), -1, `${needle} found in ${file}`);
    }
  });
});

