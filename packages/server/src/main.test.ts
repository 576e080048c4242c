// listen() either starts everything or leaves nothing running: a start that fails half-way closes
// the store and the threads createBotpulse opened, so the process that embedded it can exit.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from './config/load.js';
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
