// Webhook delivery for one bot. Updates are POSTed one at a time, in order. A non-2xx answer,
// a connection error or an answer slower than the webhook timeout counts as a failure: the
// SAME update is re-sent after the retry delay and later updates wait, as Telegram does.
import http from 'node:http';
import https from 'node:https';
import type { Update } from '../types.js';
import type { UpdateQueue } from './update-queue.js';

export interface WebhookConfig {
  url: string;
  secretToken?: string;
  maxConnections: number;
  ipAddress?: string;
}

export interface WebhookDelivery {
  updateId: number;
  url: string;
  /** HTTP status of the answer; 0 when there was none (connection error or timeout). */
  status: number;
  ok: boolean;
  error?: string;
  at: number;
  durationMs: number;
}

export interface WebhookOptions {
  timeoutMs: number;
  retryDelayMs: number;
  /** True while deliveries must wait (server down, updates stalled, server stopped). */
  isPaused: () => boolean;
  /** A 2xx answer may carry a method call ("webhook reply"); Telegram executes it. */
  onReply: (method: string, params: Record<string, unknown>) => Promise<void>;
  onDelivery: (delivery: WebhookDelivery) => void;
}

type Outcome = { ok: true; status: number; body: string } | { ok: false; status: number; error: string };

export class WebhookDeliverer {
  config: WebhookConfig | undefined;
  lastErrorDate: number | undefined;
  lastErrorMessage: string | undefined;
  /** Bumped on every (re)configuration so that a loop started for an old URL stops. */
  private generation = 0;
  private running = false;
  private inflight: http.ClientRequest | undefined;
  private retryTimer: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  constructor(
    private readonly queue: UpdateQueue,
    private readonly options: WebhookOptions,
  ) {}

  set(config: WebhookConfig | undefined): void {
    this.config = config;
    this.generation++;
    this.cancelPending();
    this.running = false;
    if (!config) {
      this.lastErrorDate = undefined;
      this.lastErrorMessage = undefined;
    }
    this.kick();
  }

  /** Starts the delivery loop if there is work and it is not already running. */
  kick(): void {
    if (!this.running && this.config) void this.loop();
  }

  dispose(): void {
    this.generation++;
    this.config = undefined;
    this.cancelPending();
  }

  private async loop(): Promise<void> {
    const generation = this.generation;
    this.running = true;
    try {
      while (generation === this.generation && this.config && !this.options.isPaused()) {
        const update = this.queue.take(1)[0];
        if (!update) break;
        const config = this.config;
        const started = Date.now();
        const outcome = await this.request(update, config);
        if (generation !== this.generation) return;
        if (outcome.ok) await this.delivered(update, outcome.body);
        else this.recordError(outcome.error);
        // Reported after the queue was updated, so observers see a consistent state.
        this.report(update, config, outcome, started);
        if (!outcome.ok) await this.pause();
      }
    } finally {
      if (generation === this.generation) this.running = false;
    }
  }

  private async delivered(update: Update, body: string): Promise<void> {
    this.queue.confirm(update.update_id + 1);
    const reply = parseWebhookReply(body);
    if (reply) await this.options.onReply(reply.method, reply.params);
  }

  private recordError(error: string): void {
    this.lastErrorDate = Math.floor(Date.now() / 1000);
    this.lastErrorMessage = error;
  }

  /** Waits the retry delay; cut short when the webhook is reconfigured or disposed. */
  private async pause(): Promise<void> {
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.retryTimer = undefined;
        resolve();
      };
      const timer = setTimeout(wake, this.options.retryDelayMs);
      this.retryTimer = { timer, wake };
    });
  }

  private cancelPending(): void {
    this.inflight?.destroy();
    this.inflight = undefined;
    this.retryTimer?.wake();
  }

  private report(update: Update, config: WebhookConfig, outcome: Outcome, started: number): void {
    this.options.onDelivery({
      updateId: update.update_id,
      url: config.url,
      status: outcome.status,
      ok: outcome.ok,
      ...(outcome.ok ? {} : { error: outcome.error }),
      at: started,
      durationMs: Date.now() - started,
    });
  }

  private request(update: Update, config: WebhookConfig): Promise<Outcome> {
    const body = JSON.stringify(update);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    };
    if (config.secretToken) headers['x-telegram-bot-api-secret-token'] = config.secretToken;
    const client = config.url.startsWith('https:') ? https : http;
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const finish = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.inflight === req) this.inflight = undefined;
        resolve(outcome);
      };
      // agent:false — one connection per delivery, so no keep-alive socket outlives the fake.
      const req = client.request(config.url, { method: 'POST', headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', () => finish({ ok: false, status: 0, error: 'Connection reset by peer' }));
        res.on('end', () => finish(answerOutcome(res, Buffer.concat(chunks).toString('utf8'))));
      });
      const timer = setTimeout(() => {
        finish({ ok: false, status: 0, error: 'Read timeout expired' });
        req.destroy();
      }, this.options.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, status: 0, error: connectionError(err) }));
      this.inflight = req;
      req.end(body);
    });
  }
}

function answerOutcome(res: http.IncomingMessage, body: string): Outcome {
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) return { ok: true, status, body };
  return { ok: false, status, error: `Wrong response from the webhook: ${status} ${res.statusMessage ?? ''}`.trim() };
}

/** Telegram's wordings for getWebhookInfo.last_error_message. */
function connectionError(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'Connection refused';
  if (err.code === 'ECONNRESET') return 'Connection reset by peer';
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return 'Failed to resolve host: Name or service not known';
  return `Connection error: ${err.code ?? err.message}`;
}

function parseWebhookReply(body: string): { method: string; params: Record<string, unknown> } | undefined {
  if (!body.trim().startsWith('{')) return undefined;
  try {
    const value = JSON.parse(body) as Record<string, unknown>;
    const { method, ...params } = value;
    return typeof method === 'string' ? { method, params } : undefined;
  } catch {
    return undefined;
  }
}
