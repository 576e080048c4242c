import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../test-support/server.js';

describe('alert rules API', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  it('answers GET alert-rules with the problem, not a 500, when the stored override was edited by hand into something unreadable', async () => {
    await server.botpulse.store.setProjectSetting(server.project.id, 'alert_rules', '{"cooldownSeconds": ');
    const res = await fetch(`${server.url}/api/v1/projects/${server.project.slug}/alert-rules`, { headers: { authorization: `Bearer ${server.token}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { override: unknown; overrideProblem?: string; effective: { cooldownMs?: number } };
    assert.deepEqual(body.override, {});
    assert.match(body.overrideProblem ?? '', /stored alert_rules are ignored: not JSON/);
    assert.ok(body.effective, 'the rules in force are answered');
    // The resolver logged and counted the unreadable override: /metrics shows it by site.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^botpulse_failures_total\{site="stored_alert_rules"\} [1-9]/m);
  });
});
