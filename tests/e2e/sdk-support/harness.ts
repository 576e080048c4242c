// Shared set-up for the SDK end-to-end tests: a fake Telegram, a real Botpulse server, clients
// whose transport records every item it sends (so tests can check the bytes that left the bot,
// before the server's own scrubbing), and helpers to wait for stored events.
import { FakeTelegram, type FakeTelegramOptions } from '../../../packages/fake-telegram/src/index.js';
import { startTestServer, type TestServer } from '../../../packages/server/src/test-support/server.js';
import type { StoredEvent } from '../../../packages/server/src/store/model.js';
import { BotpulseClient, HttpTransport, type BotpulseOptions, type Transport, type TransportItem, type TransportStats } from '../../../packages/sdk/src/index.js';

/** A transport that sends through HttpTransport and keeps a copy of every item. */
export class RecordingTransport implements Transport {
  readonly items: TransportItem[] = [];
  private readonly inner: HttpTransport;

  constructor(dsn: string) {
    this.inner = new HttpTransport({ dsn, retryBaseMs: 50 });
  }

  send(item: TransportItem): void {
    this.items.push(item);
    this.inner.send(item);
  }
  flush(timeoutMs?: number): Promise<boolean> {
    return this.inner.flush(timeoutMs);
  }
  close(timeoutMs?: number): Promise<boolean> {
    return this.inner.close(timeoutMs);
  }
  stats(): TransportStats {
    return this.inner.stats();
  }

  /** Parsed payloads of items of one type. */
  payloads(type: string): any[] {
    return this.items.filter((i) => i.type === type).map((i) => JSON.parse(i.payload.toString('utf8')));
  }

  /** Everything sent, as one string (for "no token anywhere" checks). */
  allText(): string {
    return this.items.map((i) => i.payload.toString('utf8')).join('\n');
  }
}

export interface Harness {
  tg: FakeTelegram;
  server: TestServer;
  clients: BotpulseClient[];
  newClient(options?: BotpulseOptions): { client: BotpulseClient; transport: RecordingTransport };
  /** Flushes every client, waits for the digest, returns all stored events (newest issues first). */
  storedEvents(): Promise<StoredEvent[]>;
  /** Polls until `count` events are stored (or fails after `timeoutMs`). */
  waitForEvents(count: number, timeoutMs?: number): Promise<StoredEvent[]>;
  stop(): Promise<void>;
}

/** `telegram`: options of the fake (e.g. a shorter webhook timeout). */
export async function startHarness(options: { telegram?: FakeTelegramOptions } = {}): Promise<Harness> {
  const tg = await FakeTelegram.start(options.telegram);
  const server = await startTestServer();
  const clients: BotpulseClient[] = [];
  const harness: Harness = {
    tg,
    server,
    clients,
    newClient(options = {}) {
      const transport = new RecordingTransport(server.dsn);
      const client = new BotpulseClient({ dsn: server.dsn, environment: 'test', release: 'bot@1.0.0', transport, env: {}, ...options });
      clients.push(client);
      return { client, transport };
    },
    async storedEvents() {
      await Promise.all(clients.map((c) => c.flush(5000)));
      await server.digested();
      const { issues } = await server.botpulse.store.listIssues({ projectId: server.project.id, limit: 1000 });
      const events: StoredEvent[] = [];
      for (const issue of issues) events.push(...(await server.botpulse.store.listEvents(issue.id, { limit: 1000 })));
      return events;
    },
    async waitForEvents(count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const events = await harness.storedEvents();
        if (events.length >= count) return events;
        if (Date.now() > deadline) throw new Error(`expected ${count} stored event(s), have ${events.length}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close(2000)));
      await tg.stop();
      await server.close();
    },
  };
  return harness;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
