// A guard for webhook handlers on node:http or Express. Express 4 does not catch a rejected
// promise from an async handler: with grammY's webhookCallback a throwing bot crashes the whole
// process (Node 20 exits on the unhandled rejection). Telegram also re-sends an update whose
// answer is slow or non-2xx, and holds back that chat's later updates meanwhile. So the guard
// captures the error, always answers, and answers 200 early when the handler runs too long.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BotpulseClient } from './client.js';
import { resolveClient } from './sdk.js';

/** A node:http or Express handler (Express passes `next`). */
export type WebhookHandler<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse> = (
  req: Req,
  res: Res,
  next?: (error?: unknown) => void,
) => unknown;

export interface WebhookGuardOptions {
  client?: BotpulseClient;
  /**
   * Answer 200 if the handler has not answered after this long (default 8000 ms, below
   * grammY's 10 s webhook timeout), report a "webhook timeout" event, and let the handler finish.
   */
  timeoutMs?: number;
  /**
   * Status sent when the handler throws before answering. Default 200: the error is captured
   * and Telegram re-sending the same update would most likely fail again while blocking the
   * chat. Use 500 when a retry may succeed (e.g. a database that is restarting).
   */
  errorStatus?: number;
}

/**
 * Wraps a webhook handler so that it never crashes the process and always answers in time.
 * @example
 * http.createServer(guardWebhook(webhookCallback(bot, 'http'))).listen(8080);
 * app.use(express.json()); // grammY's express adapter reads req.body
 * app.post('/telegram', guardWebhook(webhookCallback(bot, 'express')));
 */
export function guardWebhook<Req = IncomingMessage, Res = ServerResponse>(
  // Req/Res are not constrained to the node:http types: adapters such as grammY's 'express' one
  // declare only what they use ({ body, header }), so the guard takes any handler and its own
  // function asks for both (what Express and node:http pass).
  handler: (req: Req, res: Res, next?: (error?: unknown) => void) => unknown,
  options: WebhookGuardOptions = {},
): (req: Req & IncomingMessage, res: Res & ServerResponse, next?: (error?: unknown) => void) => void {
  const client = resolveClient(options.client);
  const timeoutMs = options.timeoutMs ?? 8000;
  const errorStatus = options.errorStatus ?? 200;
  return (req, res, next) => {
    const startedAt = Date.now();
    let answeredEarly = false;
    const timer = setTimeout(() => {
      if (res.headersSent || res.writableEnded) return;
      answeredEarly = true;
      answer(res, 200);
      client.captureMessage(`Webhook handler exceeded ${timeoutMs} ms; answered 200 early so Telegram does not re-send the update`, {
        level: 'warning',
        fingerprint: ['botpulse', 'webhook-timeout'],
        tags: { webhook_timeout: 'true' },
        contexts: { webhook: { method: req.method ?? null, path: pathOf(req), timeout_ms: timeoutMs } },
      });
    }, timeoutMs);
    timer.unref();
    res.once('close', () => clearTimeout(timer));
    const fail = (error: unknown): void => {
      clearTimeout(timer);
      const isOurTimeoutEcho = answeredEarly && error instanceof Error && /timed out/i.test(error.message);
      if (!isOurTimeoutEcho) {
        client.captureException(error, {
          mechanism: { type: 'webhook', handled: false },
          contexts: { webhook: { method: req.method ?? null, path: pathOf(req), duration_ms: Date.now() - startedAt } },
        });
      }
      if (!res.headersSent) answer(res, errorStatus);
      else if (!res.writableEnded) res.end();
    };
    try {
      const result = handler(req, res, next);
      if (result && typeof (result as PromiseLike<unknown>).then === 'function') (result as PromiseLike<unknown>).then(undefined, fail);
    } catch (error) {
      fail(error);
    }
  };
}

function answer(res: ServerResponse, status: number): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end('{}');
}

/** The path without the query string; never the full URL (a secret may ride in it). */
function pathOf(req: IncomingMessage): string {
  return (req.url ?? '').split('?')[0] ?? '';
}
