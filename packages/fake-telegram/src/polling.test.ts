import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CONFLICT_OTHER_POLLER, CONFLICT_WEBHOOK_ACTIVE } from './errors.js';
import { FakeTelegram } from './fake-telegram.js';
import { callApi } from './test-support/http.js';

describe('getUpdates long polling', () => {
  let tg: FakeTelegram;
  let token: string;
  const poll = (params: Record<string, unknown> = {}, signal?: AbortSignal) =>
    callApi(tg.apiRoot, token, 'getUpdates', params, { signal });

  beforeEach(async () => {
    tg = await FakeTelegram.start();
    token = tg.createBot().token;
  });
  afterEach(() => tg.stop());

  it('holds a poll with timeout=1 and no updates for about one second, then answers []', async () => {
    const started = Date.now();
    const { status, body } = await poll({ timeout: 1 });
    const elapsed = Date.now() - started;
    assert.equal(status, 200);
    assert.deepEqual(body, { ok: true, result: [] });
    // Held for the timeout (the lower bound is exact: a timer never fires early); the upper bound
    // only tells "answered after its own timeout" from "held to some other limit" (grammY's 30 s
    // default), with room for a loaded machine.
    assert.ok(elapsed >= 950 && elapsed < 10_000, `answered after ${elapsed} ms`);
  });

  it('answers a waiting poll as soon as an update arrives', async () => {
    const started = Date.now();
    const pending = poll({ timeout: 60 });
    await tg.waitFor(() => tg.isPolling(token));
    tg.sendMessage(token, 'hello');
    const { body } = await pending;
    const elapsed = Date.now() - started;
    assert.equal(body.result.length, 1);
    assert.equal(body.result[0].message.text, 'hello');
    // Well before the 60 s timeout: answered by the update, not by the timer.
    assert.ok(elapsed < 30_000, `answered after ${elapsed} ms`);
  });

  it('answers at once when updates are already queued, and again until they are confirmed', async () => {
    tg.sendMessage(token, 'one');
    tg.sendMessage(token, 'two');
    const first = (await poll({ timeout: 30 })).body.result;
    assert.deepEqual(first.map((u: any) => u.message.text), ['one', 'two']);
    assert.equal(first[1].update_id, first[0].update_id + 1);
    const again = (await poll({ timeout: 0 })).body.result;
    assert.deepEqual(again.map((u: any) => u.update_id), first.map((u: any) => u.update_id));
    const confirmed = (await poll({ offset: first[1].update_id + 1, timeout: 0 })).body.result;
    assert.deepEqual(confirmed, []);
    assert.deepEqual(tg.pendingUpdates(token), []);
  });

  it('forgets only updates below the offset and honours limit', async () => {
    for (const text of ['a', 'b', 'c', 'd']) tg.sendMessage(token, text);
    const all = (await poll()).body.result;
    const fromSecond = (await poll({ offset: all[1].update_id, limit: 2 })).body.result;
    assert.deepEqual(fromSecond.map((u: any) => u.message.text), ['b', 'c']);
    assert.equal(tg.pendingUpdates(token).length, 3);
  });

  it('keeps the last N updates for a negative offset', async () => {
    for (const text of ['a', 'b', 'c']) tg.sendMessage(token, text);
    const last = (await poll({ offset: -1 })).body.result;
    assert.deepEqual(last.map((u: any) => u.message.text), ['c']);
  });

  it('filters by allowed_updates and remembers the setting', async () => {
    await poll({ allowed_updates: ['callback_query'] });
    tg.sendMessage(token, 'ignored');
    assert.deepEqual((await poll()).body.result, []);
    await poll({ allowed_updates: [] }); // back to the default set
    tg.sendMessage(token, 'seen');
    assert.deepEqual((await poll()).body.result.map((u: any) => u.message.text), ['seen']);
  });

  it('makes the earlier of two concurrent polls answer 409 Conflict', async () => {
    const first = poll({ timeout: 10 });
    await tg.waitFor(() => tg.isPolling(token));
    const second = poll({ timeout: 1 });
    const answer = await first;
    assert.equal(answer.status, 409);
    assert.deepEqual(answer.body, { ok: false, error_code: 409, description: CONFLICT_OTHER_POLLER });
    assert.equal((await second).status, 200);
  });

  it('refuses getUpdates while a webhook is set, and ends a waiting poll when one is set', async () => {
    const waiting = poll({ timeout: 10 });
    await tg.waitFor(() => tg.isPolling(token));
    await callApi(tg.apiRoot, token, 'setWebhook', { url: 'http://127.0.0.1:9/hook' });
    assert.deepEqual((await waiting).body, { ok: false, error_code: 409, description: CONFLICT_WEBHOOK_ACTIVE });
    const refused = await poll();
    assert.equal(refused.status, 409);
    assert.equal(refused.body.description, CONFLICT_WEBHOOK_ACTIVE);
    await callApi(tg.apiRoot, token, 'deleteWebhook');
    assert.equal((await poll()).status, 200);
  });

  it('drops pending updates on deleteWebhook with drop_pending_updates', async () => {
    tg.sendMessage(token, 'old');
    await callApi(tg.apiRoot, token, 'deleteWebhook', { drop_pending_updates: true });
    assert.deepEqual((await poll()).body.result, []);
  });

  it('stops waiting and logs status 0 when the client gives up', async () => {
    const controller = new AbortController();
    const pending = poll({ timeout: 30 }, controller.signal).catch((error: Error) => error);
    await tg.waitFor(() => tg.isPolling(token));
    controller.abort();
    assert.ok((await pending) instanceof Error);
    const [call] = await tg.waitForCalls({ method: 'getUpdates' });
    assert.equal(call?.status, 0);
    // The abandoned poll no longer swallows updates: the next poll gets them.
    tg.sendMessage(token, 'after');
    assert.equal((await poll()).body.result[0].message.text, 'after');
  });

  it('returns nothing while stalled though updates are queued, and delivers them after', async () => {
    tg.stallUpdates(token);
    tg.sendMessage(token, 'stuck');
    const started = Date.now();
    assert.deepEqual((await poll({ timeout: 1 })).body.result, []);
    assert.ok(Date.now() - started >= 950);
    assert.equal(tg.pendingUpdates(token).length, 1);
    const waiting = poll({ timeout: 10 });
    await tg.waitFor(() => tg.isPolling(token));
    tg.stallUpdates(token, false);
    assert.equal((await waiting).body.result[0].message.text, 'stuck');
  });
});
