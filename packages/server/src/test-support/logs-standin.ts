import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** A line as the stand-in received it (parsed NDJSON object). */
export type ReceivedLine = Record<string, unknown> & { 'botpulse.line_id': string; message: string };

export type StandInMode =
  | { kind: 'accept' }
  | { kind: 'status'; status: number; retryAfter?: number; body?: string }
  /** Keeps the lines, then drops the connection instead of answering (the answer is lost on the way). */
  | { kind: 'lose-answer' };

/**
 * A recording stand-in for `POST /api/<project>/logs/` on 127.0.0.1 (the contract `botpulse tail`
 * and the Python recipe code against): checks the X-Sentry-Auth key, gunzips, parses NDJSON, keeps
 * each line once by `botpulse.line_id` and counts duplicates, and answers like the real endpoint.
 * It can be stopped and started again on the same port, or told to answer 503/400 for a while.
 */
export class LogsStandIn {
  readonly lines = new Map<string, ReceivedLine>();
  duplicates = 0;
  requests = 0;
  /** Requests answered with something other than 200, by status. */
  refused = new Map<number, number>();
  mode: StandInMode = { kind: 'accept' };
  answersLost = 0;
  private server: Server | undefined;
  port = 0;

  constructor(
    readonly projectId = '7',
    readonly key = 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4',
  ) {}

  get dsn(): string {
    return `http://${this.key}@127.0.0.1:${this.port}/${this.projectId}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and drops open connections (the server "goes away"). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  messages(): string[] {
    return [...this.lines.values()].map((l) => l.message);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== `/api/${this.projectId}/logs/`) return this.answer(res, 404, { detail: 'not found' });
    const key = /sentry_key=([^,\s]+)/.exec(String(req.headers['x-sentry-auth'] ?? ''))?.[1];
    if (key !== this.key) return this.answer(res, 401, { detail: 'unknown key' });
    if (this.mode.kind === 'status') {
      const headers: Record<string, string> = this.mode.retryAfter !== undefined ? { 'retry-after': String(this.mode.retryAfter) } : {};
      return this.answer(res, this.mode.status, { detail: this.mode.body ?? 'refused by the stand-in' }, headers);
    }
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    const rejected: { line: number; reason: string }[] = [];
    let accepted = 0;
    let duplicates = 0;
    body
      .toString('utf8')
      .split('\n')
      .forEach((text, index) => {
        if (text.trim() === '') return;
        let line: ReceivedLine;
        try {
          line = JSON.parse(text) as ReceivedLine;
        } catch {
          rejected.push({ line: index + 1, reason: 'not JSON' });
          return;
        }
        const id = line['botpulse.line_id'];
        if (typeof id !== 'string' || typeof line.message !== 'string') {
          rejected.push({ line: index + 1, reason: 'no line id or message' });
          return;
        }
        if (this.lines.has(id)) duplicates++;
        else {
          this.lines.set(id, line);
          accepted++;
        }
      });
    this.duplicates += duplicates;
    if (this.mode.kind === 'lose-answer') {
      this.answersLost++;
      req.socket.destroy();
      return;
    }
    this.answer(res, 200, { accepted, duplicates, rejected });
  }

  private answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (status !== 200) this.refused.set(status, (this.refused.get(status) ?? 0) + 1);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }
}
