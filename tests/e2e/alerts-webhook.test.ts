// The webhook channel through the real outbox: a new issue reaches a receiver as signed JSON, and
// a receiver that answers 503 for a while gets the alert once it recovers.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { errorEvent, postEvent, sleep } from './alerts-support/harness.js';

const SECRET = 'webhook-secret-for-tests';

describe('alerts to a webhook', () => {
  let receiver: http.Server;
  let server: TestServer;
  let failuresLeft = 0;
  const received: { headers: http.IncomingHttpHeaders; body: string; status: number }[] = [];
  before(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const status = failuresLeft-- > 0 ? 503 : 200;
        received.push({ headers: req.headers, body, status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/botpulse`;
    server = await startTestServer({ BOTPULSE_ALERT_WEBHOOK_URL: url, BOTPULSE_ALERT_WEBHOOK_SECRET: SECRET, BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0', BOTPULSE_ALERT_RETRY_MAX_SECONDS: '0.5' });
  });
  after(async () => {
    await server.close();
    receiver.close();
  });

  it('POSTs a signed alert, retrying through 503s without sending it twice', async () => {
    failuresLeft = 2;
    await postEvent(server, errorEvent('hook-crash'));
    const deadline = Date.now() + 10_000;
    while (!received.some((r) => r.status === 200) && Date.now() < deadline) await sleep(50);
    await sleep(500);
    assert.deepEqual(received.map((r) => r.status), [503, 503, 200]);
    const { headers, body } = received[2]!;
    assert.equal(headers['x-botpulse-signature'], `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
    const payload = JSON.parse(body);
    assert.equal(payload.type, 'botpulse.alert');
    assert.equal(String(payload.timestamp), headers['x-botpulse-timestamp']);
    assert.equal(payload.alerts[0].kind, 'issue');
    assert.match(payload.alerts[0].title, /hook-crash/);
    assert.deepEqual(payload.alerts[0].reasons, ['new']);
    assert.equal(new Set(received.map((r) => JSON.parse(r.body).id)).size, 1, 'one outbox id across the retries');
  });
});
