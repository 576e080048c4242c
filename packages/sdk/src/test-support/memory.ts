// Test helpers: a transport that keeps items in memory, and a client wired to it.
import { BotpulseClient, type BotpulseOptions } from '../client.js';
import type { Transport, TransportItem, TransportStats } from '../transport.js';

export class MemoryTransport implements Transport {
  readonly items: TransportItem[] = [];
  send(item: TransportItem): void {
    this.items.push(item);
  }
  flush(): Promise<boolean> {
    return Promise.resolve(true);
  }
  close(): Promise<boolean> {
    return Promise.resolve(true);
  }
  stats(): TransportStats {
    return { queuedItems: 0, queuedBytes: 0, sentEnvelopes: 0, sentItems: this.items.length, retries: 0, dropped: { queue_overflow: 0, send_error: 0, rejected: 0, rate_limited: 0, closed: 0 } };
  }
  payloads(type: string): any[] {
    return this.items.filter((i) => i.type === type).map((i) => JSON.parse(i.payload.toString('utf8')));
  }
}

export function memoryClient(options: BotpulseOptions = {}): { client: BotpulseClient; transport: MemoryTransport } {
  const transport = new MemoryTransport();
  const client = new BotpulseClient({ transport, env: {}, environment: 'test', release: 'r1', tracesSampleRate: 1, ...options });
  return { client, transport };
}

/** A grammY-style API error object, without importing grammY. */
export function apiError(code: number, description: string, extra: Record<string, unknown> = {}): Error {
  const error = new Error(`Call to 'sendMessage' failed! (${code}: ${description})`) as Error & Record<string, unknown>;
  error.name = 'GrammyError';
  Object.assign(error, { error_code: code, description, method: 'sendMessage', parameters: {}, payload: { chat_id: 1, text: 'secret text' }, ...extra });
  return error;
}
