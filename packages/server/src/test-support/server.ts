import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../config/load.js';
import type { ConfigInput } from '../config/schema.js';
import { presentProject } from '../http/present.js';
import { createBotpulse, type Botpulse, type CreateOptions } from '../main.js';
import type { Project } from '../store/model.js';

/** A real Botpulse on 127.0.0.1 with its own SQLite file in a temporary directory. */
export interface TestServer {
  botpulse: Botpulse;
  url: string;
  dataDir: string;
  project: Project;
  dsn: string;
  token: string;
  /** Waits until everything spooled so far is digested. */
  digested(): Promise<void>;
  close(opts?: { keepData?: boolean }): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startTestServer(env: Partial<Record<keyof ConfigInput | 'BOTPULSE_CONFIG', string>> = {}, opts: { dataDir?: string; create?: Omit<CreateOptions, 'logger'>; logger?: Logger } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'botpulse-test-'));
  try {
    return await startIn(dataDir, env, opts);
  } catch (error) {
    // A server that did not start leaves no directory behind (a test may expect the failure).
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

async function startIn(dataDir: string, env: Partial<Record<keyof ConfigInput | 'BOTPULSE_CONFIG', string>>, opts: { dataDir?: string; create?: Omit<CreateOptions, 'logger'>; logger?: Logger }): Promise<TestServer> {
  const port = await freePort();
  const config = loadConfig({
    BOTPULSE_DATA_DIR: dataDir,
    BOTPULSE_PORT: String(port),
    BOTPULSE_HOST: '127.0.0.1',
    BOTPULSE_LOG_LEVEL: 'silent',
    ...env,
  });
  const botpulse = await createBotpulse(config, { ...opts.create, logger: opts.logger ?? pino({ level: env.BOTPULSE_LOG_LEVEL ?? 'silent' }) });
  await botpulse.listen();
  const project = (await botpulse.store.listProjects())[0] ?? (await botpulse.store.createProject({ name: 'Test Bot', slug: 'test-bot', shortIdPrefix: 'B' }));
  const { token } = await botpulse.store.createApiToken('test');
  return {
    botpulse,
    url: config.publicUrl,
    dataDir,
    project,
    dsn: presentProject(project, config.publicUrl).dsn,
    token,
    digested: () => botpulse.digest.idle(),
    async close({ keepData = false } = {}) {
      await botpulse.close();
      if (!keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
