// A relay in front of a real Botpulse server that answers the first N envelopes with 503 (as a
// Botpulse that is restarting would) and forwards the rest. A failed send leaves the event queued
// in the SDK, waiting for its retry: the moment to end the process and see whether it flushes.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FlakyRelay {
  /** The DSN with the relay's host and port instead of the server's. */
  dsn: string;
  /** Status answered to each request so far, in order. */
  answers: number[];
  /** Resolves once `count` requests were answered. */
  waitForAnswers(count: number, timeoutMs?: number): Promise<void>;
  /** While down, every request is answered 503 (an outage of the server). */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startFlakyRelay(targetDsn: string, options: { failFirst: number; down?: boolean }): Promise<FlakyRelay> {
  let down = options.down ?? false;
  const target = new URL(targetDsn);
  const answers: number[] = [];
  const changes = new EventEmitter();
  let seen = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (status: number, headers: http.OutgoingHttpHeaders, body: Buffer | string): void => {
        res.writeHead(status, headers).end(body);
        answers.push(status);
        changes.emit('answer');
      };
      if (seen++ < options.failFirst || down) {
        reply(503, { 'content-type': 'text/plain' }, 'restarting');
        return;
      }
      const headers = { ...req.headers, host: target.host };
      const forward = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (upstream) => {
        const body: Buffer[] = [];
        upstream.on('data', (chunk: Buffer) => body.push(chunk));
        upstream.on('end', () => reply(upstream.statusCode ?? 502, { 'content-type': upstream.headers['content-type'] ?? 'text/plain' }, Buffer.concat(body)));
      });
      forward.on('error', (error) => reply(502, { 'content-type': 'text/plain' }, error.message));
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dsn = new URL(targetDsn);
  dsn.hostname = '127.0.0.1';
  dsn.port = String((server.address() as AddressInfo).port);
  return {
    dsn: dsn.toString(),
    answers,
    setDown(value) {
      down = value;
    },
    waitForAnswers(count, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (answers.length < count) return;
          clearTimeout(timer);
          changes.off('answer', check);
          resolve();
        };
        const timer = setTimeout(() => {
          changes.off('answer', check);
          reject(new Error(`relay: expected ${count} answered request(s), have ${answers.length}`));
        }, timeoutMs);
        changes.on('answer', check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
