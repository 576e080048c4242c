// A check-in's monitor_config with a part this server cannot read (a later SDK's interval unit, a
// margin that is no number) is applied without that part: the monitor is made, the check-in
// counts, and what was left out is counted in /metrics and logged, never dropped in silence.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { startTestServer, type TestServer } from '../test-support/server.js';

const lines: Record<string, unknown>[] = [];
const captured = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

let server: TestServer;
before(async () => {
  server = await startTestServer({}, { logger: pino({ level: 'warn' }, captured) });
});
after(() => server.close());

async function sendCheckIn(slug: string, monitorConfig: Record<string, unknown>): Promise<void> {
  const body = serializeEnvelope({
    headers: {},
    items: [jsonItem('check_in', { check_in_id: 'a'.repeat(32), monitor_slug: slug, status: 'ok', monitor_config: monitorConfig })],
  });
  const res = await fetch(`${server.url}/api/${server.project.id}/envelope/`, {
    method: 'POST',
    body,
    headers: { 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${server.project.publicKey}, sentry_client=test/1` },
  });
  assert.equal(res.status, 200);
}

/** Waits (at most 20 s) until the monitors have applied the check-in and made its monitor. */
async function monitorOf(slug: string) {
  for (let i = 0; i < 400; i++) {
    const monitor = await server.botpulse.monitoring.store.findMonitor(server.project.id, slug);
    if (monitor) return monitor;
    await sleep(50);
  }
  throw new Error(`no monitor ${slug} was made`);
}

describe("a check-in's monitor_config with parts this server cannot read", () => {
  it('applies the rest, makes the monitor, and counts and logs what it left out', async () => {
    const defaults = server.botpulse.monitoring.service.deps.config.monitors;
    await sendCheckIn('nightly-report', { schedule: { type: 'interval', value: 2, unit: 'fortnight' }, checkin_margin: 'five', failure_issue_threshold: 3 });
    const monitor = await monitorOf('nightly-report');
    assert.equal(monitor.periodMs, defaults.periodMs, 'an unknown unit leaves the period as it was');
    assert.equal(monitor.graceMs, defaults.graceMs, 'a margin that is no number is not applied');
    assert.equal(monitor.failureThreshold, 3, 'the readable parts are applied');

    assert.equal(server.botpulse.monitoring.service.stats.configPartsIgnored, 2);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^botpulse_checkin_config_parts_ignored_total 2$/m);
    const warning = lines.find((l) => l['msg'] === 'unreadable parts of a check-in monitor_config left out');
    assert.ok(warning, 'the left-out parts are logged');
    assert.equal(warning['monitor'], 'nightly-report');
    const parts = warning['parts'] as string[];
    assert.equal(parts.length, 2);
    assert.match(parts[0]!, /schedule\.unit "fortnight" is no interval unit/);
    assert.match(parts[1]!, /checkin_margin "five" is not a usable number/);
  });
});
