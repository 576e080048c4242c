// A tiny Sentry-ish receiver on 127.0.0.1 that records every request (headers, inflated body,
// parsed envelope) and answers from a script of responses, for transport tests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { parseEnvelope, type Envelope } from '@botpulse/protocol';

export interface ReceivedRequest {
  headers: http.IncomingHttpHeaders;
  rawLength: number;
  envelope: Envelope;
  at: number;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Destroy the socket instead of answering. */
  drop?: boolean;
}

export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  /** Answers used in order; when empty, 200. */
  readonly script: ScriptedAnswer[] = [];
  private server!: http.Server;

  static async start(): Promise<Receiver> {
    const receiver = new Receiver();
    receiver.server = http.createServer((req, res) => receiver.handle(req, res));
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get dsn(): string {
    return `http://publickey@127.0.0.1:${(this.server.address() as AddressInfo).port}/7`;
  }

  /** Payloads of all received items of one type, parsed as JSON. */
  payloads(type: string): any[] {
    return this.requests.flatMap((r) => r.envelope.items.filter((i) => i.headers.type === type).map((i) => JSON.parse(i.payload.toString('utf8'))));
  }

  async waitFor(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`receiver: condition not met; ${this.requests.length} request(s)`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const answer = this.script.shift() ?? { status: 200 };
      if (answer.drop) {
        req.socket.destroy();
        return;
      }
      this.requests.push({ headers: req.headers, rawLength: raw.length, envelope: parseEnvelope(body), at: Date.now() });
      res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
      res.end('{}');
    });
  }
}
