import { DeliveryError } from '../contract.js';

/**
 * A minimal Bot API client on fetch. The server does not depend on grammY (a root dev dependency
 * used by tests): the alert bot needs six methods, and owning the client lets us classify errors
 * for the outbox and guarantee the token (part of every URL) never reaches a log or a message.
 */

export interface ResponseParameters {
  retry_after?: number;
  migrate_to_chat_id?: number;
}

/** Telegram answered `ok: false`. */
export class TelegramApiError extends Error {
  override name = 'TelegramApiError';
  constructor(
    readonly method: string,
    readonly code: number,
    readonly description: string,
    readonly parameters: ResponseParameters = {},
  ) {
    super(`Telegram ${method} failed: ${code} ${description}`);
  }
}

/** The request never got a Telegram answer (network, timeout, a proxy's HTML page). */
export class TelegramNetworkError extends Error {
  override name = 'TelegramNetworkError';
}

const TOKEN_PATTERN = /\d{3,}:[A-Za-z0-9_-]{20,}/g;

/** Removes bot tokens (and so Bot API URLs' secrets) from any text before it is logged or stored. */
export function scrubToken(text: string, token?: string | null): string {
  const withoutExact = token ? text.split(token).join('<token>') : text;
  return withoutExact.replace(TOKEN_PATTERN, '<token>');
}

export class BotApi {
  constructor(
    private readonly token: string,
    private readonly apiRoot: string,
    private readonly timeoutMs = 15_000,
  ) {}

  /** Calls a method; `timeoutSeconds` extends the HTTP timeout for long polls. */
  async call<T>(method: string, params: Record<string, unknown> = {}, opts: { signal?: AbortSignal; timeoutSeconds?: number } = {}): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs + (opts.timeoutSeconds ?? 0) * 1000);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(`${this.apiRoot}/bot${this.token}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params),
        signal,
      });
    } catch (err) {
      throw new TelegramNetworkError(`Telegram ${method}: ${this.scrub(describe(err))}`);
    }
    const body = await response.text().catch(() => '');
    let json: { ok?: boolean; result?: T; error_code?: number; description?: string; parameters?: ResponseParameters };
    try {
      json = JSON.parse(body);
    } catch {
      throw new TelegramNetworkError(`Telegram ${method}: HTTP ${response.status} with a non-JSON body`);
    }
    if (json.ok) return json.result as T;
    throw new TelegramApiError(method, json.error_code ?? response.status, this.scrub(json.description ?? `HTTP ${response.status}`), json.parameters ?? {});
  }

  scrub(text: string): string {
    return scrubToken(text, this.token);
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.name === 'TimeoutError' ? 'timed out' : err.message}${cause}`;
}

const PERMANENT_DESCRIPTIONS = [
  'forbidden',
  'bad request: chat not found',
  'bad request: peer_id_invalid',
  'bad request: user not found',
  'bad request: group is deactivated',
  'bad request: not enough rights',
  'bad request: need administrator rights',
  'bad request: message thread not found',
  'bad request: topic_closed',
  'bad request: chat_write_forbidden',
  'unauthorized',
];

/** Maps what Telegram (or the network) said to the outbox's DeliveryError (docs/research: match prefixes and parameters). */
export function toDeliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (err instanceof TelegramApiError) {
    const description = err.description.toLowerCase();
    if (err.parameters.migrate_to_chat_id !== undefined) {
      return new DeliveryError(`chat migrated to ${err.parameters.migrate_to_chat_id}`, { migrateTo: String(err.parameters.migrate_to_chat_id) });
    }
    if (err.code === 429) return new DeliveryError(err.message, { retryAfterMs: (err.parameters.retry_after ?? 1) * 1000 });
    if (err.code === 401 || err.code === 403 || PERMANENT_DESCRIPTIONS.some((p) => description.startsWith(p))) {
      return new DeliveryError(`${err.code} ${err.description}`, { permanent: true });
    }
    // Any other 400 is about this message (entities, length): retrying cannot help it.
    if (err.code === 400) return new DeliveryError(`${err.code} ${err.description}`, { rejectsMessage: true });
    return new DeliveryError(err.message);
  }
  return new DeliveryError(err instanceof Error ? err.message : String(err));
}
