// Shared set-up for the monitor end-to-end tests: a fake Telegram with Botpulse's alert bot and
// the monitored bots, a real Botpulse server (its clock injectable), bot child processes to kill.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { FakeTelegram } from '../../../packages/fake-telegram/src/index.js';
import { loadConfig } from '../../../packages/server/src/config/load.js';
import type { ConfigInput } from '../../../packages/server/src/config/schema.js';
import { presentProject } from '../../../packages/server/src/http/present.js';
import { createBotpulse, type Botpulse } from '../../../packages/server/src/main.js';
import type { Clock } from '../../../packages/server/src/monitors/clock.js';
import type { Monitor } from '../../../packages/server/src/store/monitors.js';
import { freePort } from '../../../packages/server/src/test-support/server.js';
import { reapOnExit } from '../support/children.js';

export const ALERT_CHAT = -1009876543210;
export type Env = Partial<Record<keyof ConfigInput, string>>;
const BOT_SCRIPT = fileURLToPath(new URL('./beating-bot.ts', import.meta.url));

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Server {
  botpulse: Botpulse;
  url: string;
  dsn: string;
  projectId: number;
  apiToken: string;
}

export class MonitorHarness {
  server!: Server;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'botpulse-monitors-'));
  private port = 0;
  readonly children: ChildProcess[] = [];

  private constructor(
    readonly tg: FakeTelegram,
    readonly alertToken: string,
    private readonly env: Env,
    private readonly clock: Clock | undefined,
    private readonly alertingNow: (() => number) | undefined,
  ) {}

  /** `clock`: the monitors' clock; `alertingNow`: the alert engine's and outbox's (pacing, cooldowns). */
  static async start(env: Env = {}, clock?: Clock, alertingNow?: () => number): Promise<MonitorHarness> {
    const tg = await FakeTelegram.start();
    const { token } = tg.createBot({ username: 'botpulse_alerts_bot' });
    tg.createChat({ type: 'supergroup', id: ALERT_CHAT, title: 'On-call' });
    const h = new MonitorHarness(tg, token, env, clock, alertingNow);
    h.port = await freePort();
    await h.startServer();
    return h;
  }

  /** Starts (or restarts, on the same data and port) the Botpulse server. */
  async startServer(): Promise<Server> {
    const config = loadConfig({
      BOTPULSE_DATA_DIR: this.dataDir,
      BOTPULSE_PORT: String(this.port),
      BOTPULSE_HOST: '127.0.0.1',
      BOTPULSE_LOG_LEVEL: 'silent',
      BOTPULSE_TELEGRAM_TOKEN: this.alertToken,
      BOTPULSE_TELEGRAM_API_ROOT: this.tg.apiRoot,
      BOTPULSE_TELEGRAM_UPDATES: 'off',
      ERROR_ALERT_CHAT_ID: String(ALERT_CHAT),
      BOTPULSE_MONITOR_TICK_SECONDS: '0.1',
      ...this.env,
    });
    const botpulse = await createBotpulse(config, { logger: pino({ level: 'silent' }), monitoring: this.clock ? { clock: this.clock } : {}, alerting: this.alertingNow ? { now: this.alertingNow } : {} });
    await botpulse.listen();
    const project = (await botpulse.store.listProjects())[0] ?? (await botpulse.store.createProject({ name: 'Pay Bot', slug: 'pay-bot', shortIdPrefix: 'P' }));
    const { token } = await botpulse.store.createApiToken(`test-${Date.now()}`);
    this.server = { botpulse, url: config.publicUrl, dsn: presentProject(project, config.publicUrl).dsn, projectId: project.id, apiToken: token };
    return this.server;
  }

  async stopServer(): Promise<void> {
    await this.server.botpulse.close();
  }

  /** Bot messages in the alert chat. */
  alerts(): { text: string; sentAt: number }[] {
    return this.tg.chat(this.alertToken, ALERT_CHAT).messages.map((m) => ({ text: m.text ?? '', sentAt: m.sentAt }));
  }

  async waitForAlerts(count: number, timeoutMs = 30_000): Promise<{ text: string; sentAt: number }[]> {
    await this.tg.waitForMessages(this.alertToken, ALERT_CHAT, count, { timeoutMs });
    return this.alerts();
  }

  async api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
    const response = await fetch(`${this.server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${this.server.apiToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, json: (text ? JSON.parse(text) : null) as T };
  }

  async createMonitor(body: Record<string, unknown>): Promise<any> {
    const { status, json } = await this.api('POST', '/monitors', { project: 'pay-bot', ...body });
    if (status !== 201) throw new Error(`create monitor: ${status} ${JSON.stringify(json)}`);
    return json.monitor;
  }

  async monitor(slug: string): Promise<Monitor | null> {
    return this.server.botpulse.monitoring.store.findMonitor(this.server.projectId, slug);
  }

  /** Polls the store until the monitor is in `status`. */
  async waitForStatus(slug: string, status: string, timeoutMs = 30_000): Promise<Monitor> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.monitor(slug);
      if (m?.status === status) return m;
      if (Date.now() > deadline) throw new Error(`monitor ${slug} is ${m?.status ?? 'missing'}, expected ${status}`);
      await sleep(25);
    }
  }

  /** A bot process: grammY + SDK heartbeat, polling `token` on the fake Telegram. */
  startBot(token: string, slug: string, lock?: { redisUrl: string; key: string }): { child: ChildProcess; lines: string[]; waitForLine(p: RegExp, timeoutMs?: number): Promise<string> } {
    const args = [this.tg.apiRoot, token, this.server.dsn, slug, ...(lock ? [lock.redisUrl, lock.key] : [])];
    const child = reapOnExit(spawn(process.execPath, ['--import', 'tsx', BOT_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }));
    this.children.push(child);
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
    return {
      child,
      lines,
      async waitForLine(pattern, timeoutMs = 60_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const hit = lines.find((l) => pattern.test(l));
          if (hit) return hit;
          if (Date.now() > deadline) throw new Error(`no line ${pattern}; got:\n${lines.join('\n')}`);
          await sleep(25);
        }
      },
    };
  }

  async kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  async close(): Promise<void> {
    await Promise.all(this.children.map((c) => this.kill(c)));
    await this.server.botpulse.close().catch(() => undefined);
    await this.tg.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
