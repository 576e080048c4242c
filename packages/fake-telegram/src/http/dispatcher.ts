// One Bot API call from URL to answer: route "/bot<token>/<method>", read the parameters, check
// the token (401) and the method (404), apply injected faults, run the handler, write the
// envelope, and log the call.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Core } from '../core.js';
import { ApiError, notFound, unauthorized } from '../errors.js';
import { MethodContext } from '../methods/context.js';
import { findHandler } from '../methods/index.js';
import type { Fault } from '../state/faults.js';
import { parseParams, readBody, type RawParams } from './body.js';
import { normalizeParams, Params } from './params.js';

export type Answer =
  | { kind: 'ok'; result: unknown; description?: string }
  | { kind: 'error'; error: ApiError }
  | { kind: 'drop' }
  | { kind: 'raw'; status: number; body: string; contentType: string };

interface Outcome {
  answer: Answer;
  fault?: Fault['kind'];
}

export interface CallInput {
  token: string;
  method: string;
  params: RawParams;
  signal: AbortSignal;
}

const ROUTE = /^\/bot([^/]+)\/([^/]*)$/;

export function createRequestListener(core: Core): RequestListener {
  return (req, res) => void handleRequest(core, req, res);
}

async function handleRequest(core: Core, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const at = Date.now();
  const controller = new AbortController();
  // The client going away (aborted long poll, server going down) must end waiting handlers.
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const route = ROUTE.exec(url.pathname);
  let params: RawParams = {};
  let outcome: Outcome;
  try {
    params = normalizeParams(parseParams(url, req.headers['content-type'], await readBody(req)));
    outcome = route
      ? await executeCall(core, { token: route[1] ?? '', method: route[2] ?? '', params, signal: controller.signal })
      : { answer: errorAnswer(notFound()) };
  } catch (error) {
    outcome = { answer: errorAnswer(error instanceof ApiError ? error : new ApiError(400, `Bad Request: ${String(error)}`)) };
  }
  const status = writeAnswer(req, res, outcome.answer);
  if (route) {
    core.recordCall({ token: route[1] ?? '', method: route[2] ?? '', params, at, status, via: 'http', ...describe(outcome, status, at) });
  }
}

/**
 * A method call returned in a webhook answer ("webhook reply", Telegraf's default): Telegram
 * executes it and tells nobody the outcome; the fake logs it with via "webhook-reply".
 */
export async function executeWebhookReply(core: Core, token: string, method: string, raw: RawParams): Promise<void> {
  const at = Date.now();
  const params = normalizeParams(raw);
  const outcome = await executeCall(core, { token, method, params, signal: new AbortController().signal });
  const status = outcome.answer.kind === 'error' ? outcome.answer.error.code : 200;
  core.recordCall({ token, method, params, at, status, via: 'webhook-reply', ...describe(outcome, status, at) });
}

/** Runs one call against the fake; shared by HTTP requests and webhook replies. */
export async function executeCall(core: Core, input: CallInput): Promise<Outcome> {
  const bot = core.bots.get(input.token);
  if (!bot) return { answer: errorAnswer(unauthorized()) };
  const handler = findHandler(input.method);
  if (!handler) return { answer: errorAnswer(notFound()) };

  const fault = core.faults.take(input.token, input.method) ?? chatFault(core, input);
  if (fault) {
    const answer = await applyFault(fault, input.signal);
    if (answer) return { answer, fault: fault.kind };
  }
  try {
    const ctx = new MethodContext(core, bot, new Params(input.params), input.signal);
    const result = await handler(ctx);
    const answer: Answer = ctx.description ? { kind: 'ok', result, description: ctx.description } : { kind: 'ok', result };
    return fault ? { answer, fault: fault.kind } : { answer };
  } catch (error) {
    if (error instanceof ApiError) return { answer: errorAnswer(error) };
    console.error('fake-telegram: handler failed', input.method, error);
    return { answer: errorAnswer(new ApiError(500, `Internal Server Error: fake-telegram bug in ${input.method}: ${String(error)}`)) };
  }
  // No change signal here: recording the call signals it, so a waiter that sees the new
  // state also finds the call in the log.
}

/** A permanent fault configured for the chat named by chat_id, if any. */
function chatFault(core: Core, input: CallInput): Fault | undefined {
  const raw = input.params['chat_id'];
  if (raw === undefined || raw === null) return undefined;
  const text = String(raw).trim();
  const id = /^-?\d+$/.test(text) ? Number(text) : (core.world.findChat(text)?.chat.id ?? text);
  return core.faults.chatFault(input.token, id);
}

/** Waits for the fault's delay; returns the answer it imposes, or undefined to answer normally. */
async function applyFault(fault: Fault, signal: AbortSignal): Promise<Answer | undefined> {
  if (fault.delayMs) await sleep(fault.delayMs, signal);
  if (signal.aborted) return { kind: 'drop' };
  switch (fault.kind) {
    case 'error':
      return errorAnswer(new ApiError(fault.code, fault.description, fault.parameters));
    case 'drop':
      return { kind: 'drop' };
    case 'raw':
      return { kind: 'raw', status: fault.status, body: fault.body, contentType: fault.contentType ?? 'text/plain' };
    case 'delay':
      return undefined;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

const errorAnswer = (error: ApiError): Answer => ({ kind: 'error', error });

/** Writes the Bot API envelope; returns the HTTP status sent (0 when nothing was sent). */
function writeAnswer(req: IncomingMessage, res: ServerResponse, answer: Answer): number {
  if (res.destroyed || res.writableEnded) return 0;
  if (answer.kind === 'drop') {
    req.socket.destroy();
    return 0;
  }
  const [status, body, contentType] = encodeAnswer(answer);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
  return status;
}

function encodeAnswer(answer: Exclude<Answer, { kind: 'drop' }>): [number, string, string] {
  if (answer.kind === 'raw') return [answer.status, answer.body, answer.contentType];
  if (answer.kind === 'ok') {
    const envelope = { ok: true, result: answer.result, ...(answer.description ? { description: answer.description } : {}) };
    return [200, JSON.stringify(envelope), 'application/json'];
  }
  const { code, description, parameters } = answer.error;
  const envelope = { ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) };
  return [code, JSON.stringify(envelope), 'application/json'];
}

/** The outcome fields of an ApiCall log entry. */
export function describe(outcome: Outcome, status: number, at: number) {
  const { answer, fault } = outcome;
  const base = { durationMs: Date.now() - at, ...(fault ? { fault } : {}) };
  if (answer.kind === 'ok') return { ...base, ok: status === 200, result: answer.result };
  if (answer.kind === 'error') {
    return { ...base, ok: false, errorCode: answer.error.code, description: answer.error.description };
  }
  return { ...base, ok: false };
}
