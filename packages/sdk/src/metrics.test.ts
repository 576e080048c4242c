import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Registry } from 'prom-client';
import { registerMetrics } from './metrics.js';
import { apiError, memoryClient } from './test-support/memory.js';

it('exposes the seed 001 metric names on a caller-given prom-client registry', async () => {
  const registry = new Registry();
  const { client } = memoryClient();
  registerMetrics({ registry, prefix: 'staffprobot', client });
  client.stats.pollingConflicts = 3;
  client.stats.lastHeartbeatTimestamp = 1_700_000_000;
  client.captureException(apiError(403, 'Forbidden: bot was blocked by the user'));
  const text = await registry.metrics();
  assert.match(text, /# TYPE staffprobot_bot_polling_conflicts_total counter\nstaffprobot_bot_polling_conflicts_total 3/);
  assert.match(text, /staffprobot_bot_polling_heartbeat_timestamp 1700000000/);
  assert.match(text, /staffprobot_bot_telegram_noise_total\{kind="bot_blocked"\} 1/);
  assert.match(text, /staffprobot_botpulse_dropped_total\{reason="queue_overflow"\} 0/);
  const json = await registry.getMetricsAsJSON();
  assert.ok(json.some((m) => m.name === 'staffprobot_bot_duplicate_updates_total'));
});
