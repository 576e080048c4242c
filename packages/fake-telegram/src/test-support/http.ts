// Test-only helpers: a raw Bot API client (node:http, no keep-alive, so nothing lingers after a
// test) that can encode parameters every way Telegram accepts, and a webhook receiver.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Update } from '../types.js';

export type Encoding = 'json' | 'form' | 'multipart' | 'query';

export interface RawAnswer {
  status: number;
  body: {
    ok: boolean;
    result?: any;
    error_code?: number;
    description?: string;
    parameters?: { retry_after?: number; migrate_to_chat_id?: number };
  };
  text: string;
}

function encode(params: Record<string, unknown>, encoding: Encoding): { body?: Buffer; contentType?: string; query: string } {
  const flat = Object.entries(params).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)] as [string, string]);
  if (encoding === 'json') return { body: Buffer.from(JSON.stringify(params)), contentType: 'application/json', query: '' };
  if (encoding === 'form') {
    return { body: Buffer.from(new URLSearchParams(flat).toString()), contentType: 'application/x-www-form-urlencoded', query: '' };
  }
  if (encoding === 'query') return { query: `?${new URLSearchParams(flat).toString()}` };
  const boundary = '----fake-telegram-test';
  const parts = flat.map(([k, v]) => `--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  return {
    body: Buffer.from(`${parts.join('')}--${boundary}--\r\n`),
    contentType: `multipart/form-data; boundary=${boundary}`,
    query: '',
  };
}

/** Calls `/bot<token>/<method>` and returns status and parsed envelope. */
export function callApi(
  apiRoot: string,
  token: string,
  method: string,
  params: Record<string, unknown> = {},
  options: { encoding?: Encoding; signal?: AbortSignal } = {},
): Promise<RawAnswer> {
  const { body, contentType, query } = encode(params, options.encoding ?? 'json');
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (contentType) headers['content-type'] = contentType;
    if (body) headers['content-length'] = String(body.length);
    const req = http.request(`${apiRoot}/bot${token}/${method}${query}`, { method: body ? 'POST' : 'GET', headers, agent: false, signal: options.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: RawAnswer['body'];
        try {
          parsed = JSON.parse(text) as RawAnswer['body'];
        } catch {
          parsed = { ok: false };
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface ReceivedWebhook {
  headers: http.IncomingHttpHeaders;
  update: Update;
  at: number;
}

export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  close(): Promise<void>;
}

/** A webhook endpoint; `respond` decides status and body for each delivery. */
export async function startReceiver(
  respond: (update: Update, index: number) => { status: number; body?: string; delayMs?: number } = () => ({ status: 200 }),
): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const update = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Update;
      received.push({ headers: req.headers, update, at: Date.now() });
      const answer = respond(update, received.length - 1);
      const send = (): void => {
        timers.delete(timer);
        if (res.destroyed) return;
        res.writeHead(answer.status, answer.body ? { 'content-type': 'application/json' } : {});
        res.end(answer.body ?? '');
      };
      const timer = setTimeout(send, answer.delayMs ?? 0);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
