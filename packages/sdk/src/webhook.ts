// A guard for webhook handlers on node:http or Express. Express 4 does not catch a rejected
// promise from an async handler: with grammY's webhookCallback a throwing bot crashes the whole
// process (Node 20 exits on the unhandled rejection). Telegram also re-sends an update whose
// answer is slow or non-2xx, and holds back that chat's later updates meanwhile. So the guard
// captures the error, always answers, and answers 200 early when the handler runs too long.
// grammY's own webhook timeout (10 s) leaves the handler's promise dangling: if it rejects later,
// nobody handles it. The guard marks such errors (through the update scope) so the process
// handlers report them without ending the process, and installs those handlers if init() did not.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BotpulseClient } from './client.js';
import { currentExecution, runInExecution, type GuardedRequest } from './scope.js';
import { resolveClient } from './sdk.js';
import { installProcessHandlers, processHandlersInstalled } from './uncaught.js';

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
  /** Largest body the guard reads itself when nothing parsed it yet (Express without express.json()). Default 10 MiB. */
  maxBodyBytes?: number;
}

/**
 * Wraps a webhook handler so that it never crashes the process and always answers in time.
 * Under Express, mount it without `express.json()` in front: the guard reads the JSON body itself
 * (so a malformed body is reported, not answered 400 by body-parser unseen).
 * @example
 * http.createServer(guardWebhook(webhookCallback(bot, 'http'))).listen(8080);
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
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  if (!processHandlersInstalled()) installProcessHandlers(client);
  return (req, res, next) => {
    const request: GuardedRequest = {};
    const startedAt = Date.now();
    let answeredEarly = false;
    const timer = setTimeout(() => {
      if (res.headersSent || res.writableEnded) return;
      answeredEarly = true;
      answer(res, 200);
      // In the update's scope when the bot middleware opened one: its chat, user and breadcrumbs.
      inUpdateScope(request, () =>
        client.captureMessage(`Webhook handler exceeded ${timeoutMs} ms; answered 200 early so Telegram does not re-send the update`, {
          level: 'warning',
          fingerprint: ['botpulse', 'webhook-timeout'],
          tags: { webhook_timeout: 'true' },
          contexts: { webhook: { method: req.method ?? null, path: pathOf(req), timeout_ms: timeoutMs } },
        }),
      );
    }, timeoutMs);
    timer.unref();
    res.once('close', () => clearTimeout(timer));
    const fail = (error: unknown): void => {
      clearTimeout(timer);
      // grammY's webhookCallback rejects with exactly this after its own timeout: the warning
      // above already told of it. Anything else that fails late, whatever its words, is reported.
      const isOurTimeoutEcho = answeredEarly && error instanceof Error && GRAMMY_WEBHOOK_TIMEOUT.test(error.message);
      if (!isOurTimeoutEcho) {
        inUpdateScope(request, () =>
          client.captureException(error, {
            mechanism: { type: 'webhook', handled: false },
            contexts: { webhook: { method: req.method ?? null, path: pathOf(req), duration_ms: Date.now() - startedAt } },
          }),
        );
      }
      if (!res.headersSent) answer(res, errorStatus);
      else if (!res.writableEnded) res.end();
    };
    const run = (): void => {
      try {
        const result = runInExecution({ ...currentExecution(), scope: client.currentScope(), webhook: request }, () => handler(req, res, next));
        if (result && typeof (result as PromiseLike<unknown>).then === 'function') (result as PromiseLike<unknown>).then(undefined, fail);
      } catch (error) {
        fail(error);
      }
    };
    if (!needsBody(req, next)) {
      run();
      return;
    }
    readJsonBody(req, maxBodyBytes).then(
      (body) => {
        (req as { body?: unknown }).body = body;
        run();
      },
      (error: Error & { status?: number }) => {
        clearTimeout(timer);
        client.captureException(error, {
          level: 'error',
          mechanism: { type: 'webhook.body', handled: true },
          contexts: { webhook: { method: req.method ?? null, path: pathOf(req), content_type: req.headers['content-type'] ?? null, content_length: req.headers['content-length'] ?? null } },
        });
        // As express.json() would answer: the sender's mistake, not ours.
        answer(res, error.status ?? 400, JSON.stringify({ error: error.message }));
      },
    );
  };
}

/**
 * An Express error-handling middleware that reports what reaches Express's error chain (an
 * `express.json()` mounted app-wide answers a malformed body with 400 before any route runs),
 * then passes it on, so Express answers exactly as before. Mount it after your routes.
 * @example app.use(express.json()); app.post('/telegram', guardWebhook(cb)); app.use(expressErrorHandler());
 */
export function expressErrorHandler(options: { client?: BotpulseClient } = {}): (error: unknown, req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void {
  const client = resolveClient(options.client);
  return (error, req, _res, next) => {
    const status = (error as { status?: unknown; statusCode?: unknown }).status ?? (error as { statusCode?: unknown }).statusCode;
    client.captureException(error, {
      level: 'error',
      mechanism: { type: 'express.error_handler', handled: true },
      contexts: { webhook: { method: req.method ?? null, path: pathOf(req), status: typeof status === 'number' ? status : null, content_type: req.headers['content-type'] ?? null } },
    });
    next(error);
  };
}

/** The message of grammY's webhook timeout (`webhookCallback`, convenience/webhook.ts). */
const GRAMMY_WEBHOOK_TIMEOUT = /^Request timed out after \d+ ms$/;

function inUpdateScope<T>(request: GuardedRequest, fn: () => T): T {
  return request.updateScope ? runInExecution({ scope: request.updateScope }, fn) : fn();
}

/** Express (it passes `next`) with nothing parsed and the body still unread: the guard reads it. */
function needsBody(req: IncomingMessage & { body?: unknown }, next: unknown): boolean {
  return typeof next === 'function' && req.body === undefined && req.method === 'POST' && !req.readableEnded && req.readable;
}

function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.destroy();
        reject(Object.assign(new Error(`webhook body larger than ${maxBytes} bytes`), { status: 413 }));
        return;
      }
      chunks.push(chunk);
    });
    req.once('error', reject);
    req.once('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        // Not JSON.parse's own message: newer Nodes quote the input, which may be a user's text.
        const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
        const where = size === 0 ? 'empty body' : `${size} bytes${position ? `, error at position ${position}` : ''}`;
        reject(Object.assign(new SyntaxError(`webhook body is not valid JSON (${where})`), { status: 400 }));
      }
    });
  });
}

function answer(res: ServerResponse, status: number, body = '{}'): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end(body);
}

/** The path without the query string; never the full URL (a secret may ride in it). */
function pathOf(req: IncomingMessage): string {
  return (req.url ?? '').split('?')[0] ?? '';
}
