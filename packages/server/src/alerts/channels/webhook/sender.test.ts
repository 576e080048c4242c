import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebhookChannel } from './sender.js';

describe('the webhook channel', () => {
  let server: http.Server;
  let url: string;
  let answer = 200;
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(answer, answer === 429 ? { 'retry-after': '4' } : {}).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  after(() => server.close());

  it('POSTs JSON whose HMAC-SHA256 signature and timestamp a receiver can check', async () => {
    const secret = 'a-long-shared-secret';
    await new WebhookChannel(secret).send({ id: 42, target: url, items: [], threadId: null, silent: false });
    const { headers, body } = received.at(-1)!;
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers['x-botpulse-signature'], `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
    const parsed = JSON.parse(body);
    assert.equal(parsed.id, 42);
    assert.equal(String(parsed.timestamp), headers['x-botpulse-timestamp']);
  });

  it('maps answers to the outbox contract', async () => {
    const channel = new WebhookChannel(null);
    const send = () => channel.send({ id: 1, target: url, items: [], threadId: null, silent: false });
    answer = 429;
    await assert.rejects(send(), (e: any) => e.retryAfterMs === 4000);
    answer = 410;
    await assert.rejects(send(), (e: any) => e.permanent);
    answer = 500;
    await assert.rejects(send(), (e: any) => !e.permanent && !e.rejectsMessage);
    answer = 422;
    await assert.rejects(send(), (e: any) => e.rejectsMessage);
    await assert.rejects(channel.send({ id: 1, target: 'http://127.0.0.1:1/', items: [], threadId: null, silent: false }), (e: any) => !e.permanent);
    answer = 200;
  });
});
