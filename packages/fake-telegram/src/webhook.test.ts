import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FakeTelegram } from './fake-telegram.js';
import { callApi, startReceiver, type Receiver } from './test-support/http.js';

describe('webhook delivery', () => {
  let tg: FakeTelegram;
  let token: string;
  let receiver: Receiver | undefined;
  const setWebhook = (params: Record<string, unknown>) => callApi(tg.apiRoot, token, 'setWebhook', params);

  beforeEach(async () => {
    tg = await FakeTelegram.start({ webhookRetryDelayMs: 50, webhookTimeoutMs: 300 });
    token = tg.createBot().token;
  });
  afterEach(async () => {
    await tg.stop();
    await receiver?.close();
    receiver = undefined;
  });

  it('POSTs updates with the secret token header and confirms them on a 2xx answer', async () => {
    receiver = await startReceiver();
    const set = await setWebhook({ url: receiver.url, secret_token: 'S3cret_-token' });
    assert.deepEqual(set.body, { ok: true, result: true, description: 'Webhook was set' });
    const { update } = tg.sendMessage(token, 'via webhook');
    await tg.waitFor(() => receiver?.received.length === 1 && tg.pendingUpdates(token).length === 0);
    const [delivery] = receiver.received;
    assert.equal(delivery?.headers['x-telegram-bot-api-secret-token'], 'S3cret_-token');
    assert.equal(delivery?.headers['content-type'], 'application/json');
    assert.deepEqual(delivery?.update, update);
  });

  it('answers getWebhookInfo with the fields a test set, until cleared', async () => {
    receiver = await startReceiver();
    await setWebhook({ url: receiver.url });
    tg.setWebhookInfo(token, { pending_update_count: 57, last_error_date: 1_700_000_000, last_error_message: 'Connection refused' });
    const faked = (await callApi(tg.apiRoot, token, 'getWebhookInfo')).body.result;
    assert.equal(faked.url, receiver.url, 'the real fields stay');
    assert.deepEqual([faked.pending_update_count, faked.last_error_date, faked.last_error_message], [57, 1_700_000_000, 'Connection refused']);
    tg.setWebhookInfo(token, null);
    const real = (await callApi(tg.apiRoot, token, 'getWebhookInfo')).body.result;
    assert.equal(real.pending_update_count, 0);
    assert.equal(real.last_error_message, undefined);
  });

  it('re-sends the SAME update after a 500 answer and reports the error in getWebhookInfo', async () => {
    receiver = await startReceiver((_, index) => ({ status: index === 0 ? 500 : 200 }));
    await setWebhook({ url: receiver.url });
    tg.sendMessage(token, 'retry me');
    await tg.waitFor(() => receiver?.received.length === 2 && tg.pendingUpdates(token).length === 0);
    const [first, second] = receiver.received;
    assert.equal(first?.update.update_id, second?.update.update_id);
    assert.deepEqual(first?.update, second?.update);
    const info = (await callApi(tg.apiRoot, token, 'getWebhookInfo')).body.result;
    assert.equal(info.url, receiver.url);
    assert.equal(info.pending_update_count, 0);
    assert.equal(info.last_error_message, 'Wrong response from the webhook: 500 Internal Server Error');
    assert.ok(Math.abs(info.last_error_date - Date.now() / 1000) < 5);
    assert.deepEqual(tg.webhookDeliveries(token).map((d) => d.status), [500, 200]);
  });

  it('delivers updates in order, holding later ones back while one is failing', async () => {
    let failures = 2;
    receiver = await startReceiver(() => ({ status: failures-- > 0 ? 502 : 200 }));
    tg.sendMessage(token, 'first');
    tg.sendMessage(token, 'second');
    tg.sendMessage(token, 'third');
    await setWebhook({ url: receiver.url });
    await tg.waitFor(() => tg.pendingUpdates(token).length === 0);
    const texts = receiver.received.map((r) => r.update.message?.text);
    assert.deepEqual(texts, ['first', 'first', 'first', 'second', 'third']);
  });

  it('retries when the receiver answers slower than the webhook timeout', async () => {
    receiver = await startReceiver((_, index) => ({ status: 200, delayMs: index === 0 ? 1000 : 0 }));
    await setWebhook({ url: receiver.url });
    tg.sendMessage(token, 'slow');
    await tg.waitFor(() => tg.pendingUpdates(token).length === 0);
    assert.equal(receiver.received.length, 2);
    assert.equal(receiver.received[0]?.update.update_id, receiver.received[1]?.update.update_id);
    assert.equal(tg.webhook(token).lastErrorMessage, 'Read timeout expired');
  });

  it('keeps retrying while the receiver refuses connections, then delivers', async () => {
    const probe = await startReceiver();
    const url = probe.url;
    await probe.close(); // now nothing listens on that port
    await setWebhook({ url });
    tg.sendMessage(token, 'patience');
    await tg.waitFor(() => tg.webhookDeliveries(token).length >= 2);
    assert.equal(tg.webhook(token).lastErrorMessage, 'Connection refused');
    assert.equal(tg.webhook(token).pendingUpdateCount, 1);
    receiver = await startReceiver();
    await setWebhook({ url: receiver.url });
    await tg.waitFor(() => receiver?.received.length === 1);
    assert.equal(receiver.received[0]?.update.message?.text, 'patience');
  });

  it('executes a method returned in the webhook answer (webhook reply)', async () => {
    receiver = await startReceiver((update) => ({
      status: 200,
      body: JSON.stringify({ method: 'sendMessage', chat_id: update.message?.chat.id, text: 'replied in the answer' }),
    }));
    await setWebhook({ url: receiver.url });
    tg.sendMessage(token, 'hi');
    const [reply] = await tg.waitForMessages(token, tg.defaultUser.id, 1);
    assert.equal(reply?.text, 'replied in the answer');
    assert.equal(tg.calls({ method: 'sendMessage' })[0]?.via, 'webhook-reply');
  });

  it('drops pending updates when asked and stops delivering after deleteWebhook', async () => {
    receiver = await startReceiver(() => ({ status: 500 }));
    await setWebhook({ url: receiver.url });
    tg.sendMessage(token, 'will be dropped');
    await tg.waitFor(() => (receiver?.received.length ?? 0) >= 1);
    const deleted = await callApi(tg.apiRoot, token, 'deleteWebhook', { drop_pending_updates: true });
    assert.deepEqual(deleted.body, { ok: true, result: true, description: 'Webhook was deleted' });
    assert.equal(tg.pendingUpdates(token).length, 0);
    const info = (await callApi(tg.apiRoot, token, 'getWebhookInfo')).body.result;
    assert.deepEqual(info, { url: '', has_custom_certificate: false, pending_update_count: 0 });
  });

  it('refuses bad webhook URLs and secret tokens', async () => {
    assert.equal((await setWebhook({ url: 'not a url' })).body.description, 'Bad Request: bad webhook: invalid webhook URL specified');
    assert.equal((await setWebhook({ url: 'ftp://x.org/' })).body.description, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
    const badSecret = await setWebhook({ url: 'https://example.com/hook', secret_token: 'has spaces' });
    assert.equal(badSecret.body.description, 'Bad Request: bad webhook: secret token contains unallowed characters');
  });

  it('pauses deliveries while the server is down and resumes when it is up', async () => {
    receiver = await startReceiver();
    await setWebhook({ url: receiver.url });
    await tg.down();
    tg.sendMessage(token, 'queued while down');
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(receiver.received.length, 0);
    await tg.up();
    await tg.waitFor(() => receiver?.received.length === 1);
    assert.equal(receiver.received[0]?.update.message?.text, 'queued while down');
  });
});
