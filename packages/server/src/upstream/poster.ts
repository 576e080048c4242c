import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** The upstream's answer: its status and a header reader (for rate limits). */
export interface PostAnswer {
  status: number;
  header: (name: string) => string | null;
}

/**
 * POSTs envelopes to the upstream over kept-alive connections with node:http. Not `fetch`: a
 * profile of the forwarder thread with the upstream up showed fetch's WHATWG layers (Request,
 * Response, web streams) taking about three quarters of its CPU per forwarded event, CPU that
 * the ingestion thread then lacks on a small machine (docs/performance.md).
 */
export class UpstreamPoster {
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;

  constructor(
    private readonly target: URL,
    sockets: number,
  ) {
    const https = target.protocol === 'https:';
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: sockets }) : new HttpAgent({ keepAlive: true, maxSockets: sockets });
    this.request = https ? (httpsRequest as typeof httpRequest) : httpRequest;
  }

  /**
   * Rejects on a network error or after `timeoutMs` (the whole exchange); resolves with any status.
   * A kept-alive connection the upstream closed while idle fails the next request on it at once;
   * that request is sent again, once, on a new connection (Node's documented remedy). At least
   * once, as everything the forwarder sends: the upstream drops an event id it has.
   */
  async post(body: Buffer, headers: Record<string, string>, timeoutMs: number): Promise<PostAnswer> {
    try {
      return await this.exchange(body, headers, timeoutMs);
    } catch (err) {
      if (!(err instanceof StaleConnection)) throw err;
      return this.exchange(body, headers, timeoutMs);
    }
  }

  private exchange(body: Buffer, headers: Record<string, string>, timeoutMs: number): Promise<PostAnswer> {
    return new Promise((resolve, reject) => {
      let answered = false;
      const req = this.request(this.target, { method: 'POST', agent: this.agent, headers: { ...headers, 'Content-Length': String(body.length) } }, (res: IncomingMessage) => {
        answered = true;
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          resolve({ status, header: (name) => headerValue(res.headers[name.toLowerCase()]) });
        });
        res.resume(); // the body is not used: read it so the connection can be kept
      });
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      function fail(err: Error): void {
        clearTimeout(timer);
        reject(err);
      }
      req.on('error', (err: NodeJS.ErrnoException) => fail(req.reusedSocket && !answered && (err.code === 'ECONNRESET' || err.code === 'EPIPE') ? new StaleConnection(err) : err));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A kept-alive connection that turned out closed before any answer. */
class StaleConnection extends Error {
  constructor(readonly original: Error) {
    super(original.message);
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}
