import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { memoryClient } from './test-support/memory.js';
import { guardWebhook, type WebhookHandler } from './webhook.js';

describe('guardWebhook', () => {
  const { client, transport } = memoryClient();
  let handler: WebhookHandler = () => undefined;
  let server: http.Server;
  let url: string;
  const guarded = () => guardWebhook((req, res, next) => handler(req, res, next), { client, timeoutMs: 200 });
  let current = guarded();
  before(async () => {
    server = http.createServer((req, res) => current(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?secret=x`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = async () => {
    const started = Date.now();
    const res = await fetch(url, { method: 'POST', body: '{"update_id":1}' });
    const body = await res.text();
    return { status: res.status, ms: Date.now() - started, body };
  };

  it('answers 200 and captures when the handler throws synchronously', async () => {
    handler = () => {
      throw new Error('sync boom');
    };
    assert.equal((await post()).status, 200);
    const event = transport.payloads('event').at(-1);
    assert.equal(event.exception.values.at(-1).value, 'sync boom');
    assert.equal(event.exception.values.at(-1).mechanism.type, 'webhook');
    assert.equal(event.contexts.webhook.path, '/hook', 'no query string (it may carry a secret)');
  });

  it('catches a rejected promise (Express 4 would crash the process on it)', async () => {
    handler = async () => {
      throw new Error('async boom');
    };
    assert.equal((await post()).status, 200);
    assert.equal(transport.payloads('event').at(-1).exception.values.at(-1).value, 'async boom');
  });

  it('answers 200 early when the handler is slow, reports a webhook timeout, lets it finish', async () => {
    let finished = false;
    handler = async (_req, res) => {
      await new Promise((r) => setTimeout(r, 500));
      finished = true;
      if (!res.headersSent) res.end('late');
    };
    const { status, body } = await post();
    const finishedWhenAnswered = finished;
    assert.equal(status, 200);
    // The guard's 200 ms timer runs before the handler's 500 ms one however loaded the machine is:
    // the answer is the guard's ({}), sent while the handler still ran, not the handler's 'late'.
    assert.equal(body, '{}', 'answered by the guard');
    assert.equal(finishedWhenAnswered, false, 'before the handler finished');
    const event = transport.payloads('event').at(-1);
    assert.match(event.message, /exceeded 200 ms/);
    assert.deepEqual(event.fingerprint, ['botpulse', 'webhook-timeout']);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(finished, true);
  });

  it('can answer 500 on errors when retries are wanted', async () => {
    current = guardWebhook(() => Promise.reject(new Error('db restarting')), { client, errorStatus: 500 });
    assert.equal((await post()).status, 500);
    current = guarded();
  });
});
