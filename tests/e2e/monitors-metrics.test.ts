// /metrics: valid Prometheus exposition format (promtool check metrics from Debian's prometheus
// package), loopback-only without a token, per-bot gauges present.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { MonitorHarness } from './monitors-support/harness.js';

const PROMTOOL = '/usr/bin/promtool';
const promtoolMissing = !existsSync(PROMTOOL);
if (promtoolMissing) {
  if (process.env['CI']) throw new Error(`${PROMTOOL} is missing; CI must install it (apt-get install -y prometheus)`);
  console.warn(`\n!!! SKIPPING promtool check: ${PROMTOOL} is missing (apt-get install -y prometheus) !!!\n`);
}

describe('/metrics', () => {
  let h: MonitorHarness;
  before(async () => {
    h = await MonitorHarness.start();
  });
  after(async () => h.close());

  it('passes promtool check metrics and carries the per-bot gauges', { skip: promtoolMissing ? 'promtool missing' : false }, async () => {
    const ping = await fetch(`${h.server.url}/api/${h.server.projectId}/heartbeat/cron-job?sentry_key=wrong`);
    assert.equal(ping.status, 403);
    const key = new URL(h.server.dsn).username;
    const ok = await fetch(`${h.server.url}/api/${h.server.projectId}/heartbeat/cron-job?sentry_key=${key}`, { method: 'POST' });
    assert.equal(ok.status, 200);
    await h.waitForStatus('cron-job', 'up');
    // An error event: digested (digest latency) and alerted as a new issue (alerts sent).
    const event = { event_id: 'a'.repeat(32), level: 'error', message: 'metrics test error', platform: 'node' };
    const stored = await fetch(`${h.server.url}/api/${h.server.projectId}/store/?sentry_key=${key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    assert.equal(stored.status, 200);
    await h.waitForAlerts(1);

    const response = await fetch(`${h.server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.match(text, /botpulse_heartbeat_last_seen_timestamp_seconds\{bot="pay-bot",monitor="cron-job"\} \d+/);
    assert.match(text, /botpulse_monitor_status\{bot="pay-bot",monitor="cron-job",kind="heartbeat",status="up"\} 1/);
    assert.match(text, /botpulse_events_accepted_total/);
    assert.match(text, /botpulse_spool_backlog/);
    assert.match(text, /^botpulse_digest_latency_seconds_count [1-9]\d*$/m);
    assert.match(text, /^botpulse_alerts_sent_total\{channel="telegram"\} [1-9]\d*$/m);
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
  });
});
