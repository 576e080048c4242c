// Fault injection. A fault replaces (or delays) the normal answer of one method for one bot,
// for the next N calls or until cleared; chat faults make one chat permanently unusable.
import { ApiError } from '../errors.js';
import type { ResponseParameters } from '../types.js';

export type Fault =
  /** Answer with a Bot API error envelope (HTTP status = code). */
  | { kind: 'error'; code: number; description: string; parameters?: ResponseParameters; delayMs?: number }
  /** Answer normally, but only after delayMs. */
  | { kind: 'delay'; delayMs: number }
  /** Destroy the socket without answering (optionally after delayMs). */
  | { kind: 'drop'; delayMs?: number }
  /** Answer with an arbitrary body, e.g. the HTML page nginx serves on a real 502. */
  | { kind: 'raw'; status: number; body: string; contentType?: string; delayMs?: number };

const error = (code: number, description: string, parameters?: ResponseParameters): Fault =>
  parameters ? { kind: 'error', code, description, parameters } : { kind: 'error', code, description };

/** Ready-made faults with the wordings the real Bot API uses. */
export const Faults = {
  error,
  tooManyRequests: (retryAfter = 5): Fault =>
    error(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter }),
  blocked: (): Fault => error(403, 'Forbidden: bot was blocked by the user'),
  userDeactivated: (): Fault => error(403, 'Forbidden: user is deactivated'),
  kicked: (chatType: 'group' | 'supergroup' | 'channel' = 'group'): Fault =>
    error(403, `Forbidden: bot was kicked from the ${chatType} chat`),
  cantInitiate: (): Fault => error(403, "Forbidden: bot can't initiate conversation with a user"),
  chatNotFound: (): Fault => error(400, 'Bad Request: chat not found'),
  migrated: (newChatId: number): Fault =>
    error(400, 'Bad Request: group chat was upgraded to a supergroup chat', { migrate_to_chat_id: newChatId }),
  notEnoughRights: (): Fault => error(400, 'Bad Request: not enough rights to send text messages to the chat'),
  unauthorized: (): Fault => error(401, 'Unauthorized'),
  internalError: (): Fault => error(500, 'Internal Server Error'),
  badGateway: (): Fault => error(502, 'Bad Gateway'),
  /** nginx's HTML 502 page, which clients fail to parse as JSON. */
  badGatewayHtml: (): Fault => ({
    kind: 'raw',
    status: 502,
    contentType: 'text/html',
    body: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n',
  }),
  delay: (delayMs: number): Fault => ({ kind: 'delay', delayMs }),
  drop: (delayMs?: number): Fault => (delayMs === undefined ? { kind: 'drop' } : { kind: 'drop', delayMs }),
} as const;

export function faultToApiError(fault: Fault): ApiError | undefined {
  return fault.kind === 'error' ? new ApiError(fault.code, fault.description, fault.parameters) : undefined;
}

interface Rule {
  method: string;
  fault: Fault;
  remaining: number;
}

/** Faults keyed by token; method "*" matches every method. Method names are case-insensitive, as in Telegram. */
export class FaultBook {
  private readonly rules = new Map<string, Rule[]>();
  private readonly chatFaults = new Map<string, Map<number | string, Fault>>();

  add(token: string, method: string, fault: Fault, times: number): void {
    const list = this.rules.get(token) ?? [];
    list.push({ method: method.toLowerCase(), fault, remaining: times });
    this.rules.set(token, list);
  }

  /** Consumes and returns the first fault matching this call, if any. */
  take(token: string, method: string): Fault | undefined {
    const list = this.rules.get(token);
    const lower = method.toLowerCase();
    const rule = list?.find((r) => r.method === lower || r.method === '*');
    if (!list || !rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) list.splice(list.indexOf(rule), 1);
    return rule.fault;
  }

  clear(token?: string, method?: string): void {
    if (token === undefined) {
      this.rules.clear();
      this.chatFaults.clear();
      return;
    }
    if (method === undefined) {
      this.rules.delete(token);
      return;
    }
    const lower = method.toLowerCase();
    this.rules.set(token, (this.rules.get(token) ?? []).filter((r) => r.method !== lower));
  }

  setChatFault(token: string, chatId: number | string, fault: Fault | null): void {
    const map = this.chatFaults.get(token) ?? new Map<number | string, Fault>();
    if (fault) map.set(chatId, fault);
    else map.delete(chatId);
    this.chatFaults.set(token, map);
  }

  chatFault(token: string, chatId: number | string): Fault | undefined {
    return this.chatFaults.get(token)?.get(chatId);
  }
}
