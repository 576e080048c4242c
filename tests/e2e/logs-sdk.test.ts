// The SDK's own logger (`createLogger({ ship })`) lands in the log store: its `log` items are
// stored as lines with their level, logger name, fields, environment and release.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BotpulseClient, createLogger } from '../../packages/sdk/src/index.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';

describe('the SDK logger shipping to Botpulse', () => {
  let server: TestServer;
  let queueDir: string;
  before(async () => {
    server = await startTestServer({ BOTPULSE_LOG_RULES: JSON.stringify({ '*': { enabled: false } }) });
    queueDir = mkdtempSync(join(tmpdir(), 'botpulse-logs-sdk-'));
  });
  after(async () => {
    await server.close();
    rmSync(queueDir, { recursive: true, force: true });
  });

  it('stores shipped records as searchable lines', async () => {
    const client = new BotpulseClient({ dsn: server.dsn, environment: 'production', release: 'shop-bot@1.0.0', diskQueue: { dir: queueDir }, logger: false });
    const written: string[] = [];
    const log = createLogger({ name: 'shop-bot', client, ship: true, destination: { write: (l: string) => void written.push(l) } });
    log.child({ module: 'billing' }).warn({ user_id: 42, update_id: 777, operation: 'payment', duration_ms: 812 }, 'Insufficient balance for user %d', 42);
    log.error('Queue full: 81 updates waiting');
    await client.flush(5000);
    await client.close(1000);
    const lines = await server.botpulse.logs.searchLines({ projectId: server.project.id });
    assert.deepEqual(lines.map((l) => [l.level, l.message]), [['error', 'Queue full: 81 updates waiting'], ['warning', 'Insufficient balance for user 42']]);
    const warn = lines[1]!;
    assert.equal(warn.source, 'sentry');
    assert.equal(warn.logger, 'shop-bot');
    assert.equal(warn.environment, 'production');
    assert.equal(warn.release, 'shop-bot@1.0.0');
    assert.equal(warn.fields.module, 'billing');
    assert.equal(warn.fields.update_id, '777');
    assert.equal(warn.fields.duration_ms, '812');
    assert.deepEqual((await server.botpulse.logs.searchLines({ projectId: server.project.id, fields: { operation: 'payment' } })).map((l) => l.id), [warn.id]);
    assert.equal(written.length, 2, 'and wrote them as JSON lines too');
  });
});
