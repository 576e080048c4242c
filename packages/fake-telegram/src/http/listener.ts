// The TCP side: listen on 127.0.0.1, track sockets so "down" can cut every connection
// (keep-alive ones included) and "up" can listen again on the same port.
import http, { type RequestListener } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export class Listener {
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private listening = false;
  port = 0;

  constructor(
    handler: RequestListener,
    private readonly host: string,
  ) {
    // Long polls may legitimately last minutes; Node's default request timeout would cut them.
    this.server = http.createServer({ requestTimeout: 0 }, handler);
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  get isListening(): boolean {
    return this.listening;
  }

  async listen(port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.once('error', onError);
      this.server.listen(port, this.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.listening = true;
    return this.port;
  }

  /** Stops accepting connections and destroys the open ones (clients see a reset). */
  async close(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await closed;
  }
}
