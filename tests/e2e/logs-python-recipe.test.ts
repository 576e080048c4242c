import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LogsStandIn } from '../../packages/server/src/test-support/logs-standin.js';

// The stdlib-only Python recipe (examples/python/botpulse_logging.py, documented in
// docs/logs-tail.md) run by /usr/bin/python3 against the recording logs stand-in.

const python = '/usr/bin/python3';
const RECIPE_DIR = fileURLToPath(new URL('../../examples/python/', import.meta.url));

const BOT = `
import logging, sys
sys.path.insert(0, sys.argv[1])
from botpulse_logging import BotpulseHandler

handler = BotpulseHandler(flush_interval=0.2, max_backoff=1, flush_timeout=60)
logging.basicConfig(level=logging.INFO, format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", handlers=[handler])
log = logging.getLogger("bot.payments")
log.info("User balance checked", extra={"user_id": 42, "operation": "check_balance", "duration_ms": 45})
log.warning("Duplicate update_id 1001", extra={"update_id": 1001})
try:
    {}["user"]
except KeyError:
    log.exception("Error handling request", extra={"update_id": 1002, "operation": "webhook"})
log.critical("Database connection lost", extra={"error_type": "ConnectionResetError"})
`;

function runPython(dsn: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(python, ['-c', BOT, RECIPE_DIR], { env: { ...process.env, BOTPULSE_DSN: dsn }, timeout: 120_000 }, (err, _stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the Python logging recipe (stdlib only, /usr/bin/python3)', () => {
  it('ships records with their extra= fields, level, logger and traceback; retries a 503; flushes at exit', async () => {
    const standIn = new LogsStandIn();
    standIn.mode = { kind: 'status', status: 503, retryAfter: 0 };
    await standIn.start();
    try {
      const run = runPython(standIn.dsn);
      await waitFor('a 503 answered', () => (standIn.refused.get(503) ?? 0) >= 1);
      standIn.mode = { kind: 'accept' };
      const { code, stderr } = await run;
      assert.equal(code, 0, stderr);
      const byMessage = new Map([...standIn.lines.values()].map((l) => [l.message.split('\n')[0]!, l]));
      assert.deepEqual([...byMessage.keys()].sort(), ['Database connection lost', 'Duplicate update_id 1001', 'Error handling request', 'User balance checked']);
      const checked = byMessage.get('User balance checked')!;
      assert.deepEqual(
        { level: checked.level, logger: checked.logger, user_id: checked.user_id, operation: checked.operation, duration_ms: checked.duration_ms },
        { level: 'info', logger: 'bot.payments', user_id: 42, operation: 'check_balance', duration_ms: 45 },
      );
      assert.equal(typeof checked.time, 'number');
      const crash = byMessage.get('Error handling request')!;
      assert.match(crash.message, /Traceback \(most recent call last\):[\s\S]*KeyError: 'user'$/);
      assert.equal(crash.error_type, 'KeyError');
      assert.equal(crash.update_id, 1002);
      assert.equal(byMessage.get('Database connection lost')!.level, 'critical');
      assert.equal(byMessage.get('Database connection lost')!.error_type, 'ConnectionResetError');
      assert.equal(byMessage.get('Duplicate update_id 1001')!.level, 'warning');
      assert.ok(!stderr.includes(standIn.key), 'the key is never printed');
    } finally {
      await standIn.stop();
    }
  });

  it('reports a permanent 400 on stderr, drops the batch without retrying it, and exits', async () => {
    const standIn = new LogsStandIn();
    standIn.mode = { kind: 'status', status: 400, body: 'bad batch' };
    await standIn.start();
    try {
      const { code, stderr } = await runPython(standIn.dsn);
      assert.equal(code, 0, stderr);
      assert.match(stderr, /refused a batch of \d+ line\(s\) with 400: .*bad batch.*dropped/);
      assert.match(stderr, /closing: 0 line\(s\) sent, 4 dropped, 0 left unsent/);
      const refusals = stderr.match(/refused a batch/g)!.length;
      assert.equal(standIn.requests, refusals, 'each request carried a batch of its own: none was sent again');
    } finally {
      await standIn.stop();
    }
  });
});
