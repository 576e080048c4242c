// A start that fails closes what it opened: createBotpulse its store, and the threads it started,
// when a step of its own fails; listen() the store and the threads when a later step fails; so the
// process that embedded it can exit.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig, type Config } from './config/load.js';
import type { ConfigInput } from './config/schema.js';
import { createBotpulse } from './main.js';
import { freePort } from './test-support/server.js';

describe('a start that fails in listen()', () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'botpulse-main-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  async function create(port: number, env: Partial<Record<keyof ConfigInput, string>> = {}) {
    const config = loadConfig({ BOTPULSE_DATA_DIR: dataDir, BOTPULSE_HOST: '127.0.0.1', BOTPULSE_PORT: String(port), BOTPULSE_LOG_LEVEL: 'silent', ...env });
    return createBotpulse(config, { logger: pino({ level: 'silent' }) });
  }

  it('closes the store and the threads when a declared monitor names an unknown project', async () => {
    const botpulse = await create(await freePort(), { BOTPULSE_MONITORS: JSON.stringify({ 'no-such-bot': [{ slug: 'poller' }] }) });
    await assert.rejects(botpulse.listen(), /BOTPULSE_MONITORS names project "no-such-bot"/);
    await assert.rejects(botpulse.store.listProjects(), /destroyed/, 'the store was closed');
    await assert.rejects(botpulse.logLines.parse(Buffer.from('{}\n'), { projectId: 1, receivedAt: 0 }), 'the log-line thread was ended');
  });

  it('closes the store and the threads when the port is taken', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const botpulse = await create((taken.address() as { port: number }).port);
      await assert.rejects(botpulse.listen(), /EADDRINUSE/);
      await assert.rejects(botpulse.store.listProjects(), /destroyed/, 'the store was closed');
      await assert.rejects(botpulse.logLines.parse(Buffer.from('{}\n'), { projectId: 1, receivedAt: 0 }), 'the log-line thread was ended');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('a start that fails in createBotpulse()', () => {
  /** This process's open files under `dir` (Linux: /proc/self/fd). */
  const openFilesUnder = (dir: string) =>
    readdirSync('/proc/self/fd')
      .map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return ''; // the directory's own descriptor, closed by now
        }
      })
      .filter((target) => target.startsWith(dir));

  it('closes the store it opened when the digest thread cannot start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-main-'));
    try {
      // A level pino does not know: the digest thread fails before it is ready, the main thread's store is open by then.
      const config = { ...loadConfig({ BOTPULSE_DATA_DIR: dataDir, BOTPULSE_LOG_LEVEL: 'silent' }), logLevel: 'no-such-level' } as unknown as Config;
      await assert.rejects(createBotpulse(config, { logger: pino({ level: 'silent' }) }), /digest thread exited .* before it was ready/);
      assert.deepEqual(openFilesUnder(dataDir), [], 'the database files are closed');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('closes the threads it started when a later step fails', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-main-'));
    try {
      // An embedder's logger without trace(): the threads start with it, then Fastify refuses it
      // when the HTTP app is built, after both threads are up.
      const logger = pino({ level: 'silent' });
      const withoutTrace = new Proxy(logger, { get: (target, key, receiver) => (key === 'trace' ? undefined : Reflect.get(target, key, receiver)) });
      const config = loadConfig({ BOTPULSE_DATA_DIR: dataDir, BOTPULSE_LOG_LEVEL: 'silent' });
      await assert.rejects(createBotpulse(config, { logger: withoutTrace }), (err: Error & { code?: string }) => err.code === 'FST_ERR_LOG_INVALID_LOGGER');
      // The digest thread holds the data directory's files through its own connection until it is closed.
      assert.deepEqual(openFilesUnder(dataDir), [], 'the database files are closed, the digest thread\'s too');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
