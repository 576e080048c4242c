import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoredEvent } from '../store/model.js';
import { expandLink, formatLinkTemplates, linkValues, parseLinkTemplates, safeHttpUrl, telegramOf } from './links.js';

const values = { user: { id: 42 }, tags: { gen_request_id: 'g/1 2&x' }, telegram: { chat_id: -1001 }, event: { id: 'abc' } };

describe('link templates', () => {
  it('fills placeholders with URL-encoded values', () => {
    assert.equal(expandLink({ name: 'user', url: 'https://admin.example/users/{user.id}' }, values), 'https://admin.example/users/42');
    assert.equal(expandLink({ name: 'gen', url: 'https://admin.example/gen?id={tags.gen_request_id}' }, values), 'https://admin.example/gen?id=g%2F1%202%26x');
    assert.equal(expandLink({ name: 'chat', url: 'https://t.example/{telegram.chat_id}' }, values), 'https://t.example/-1001');
  });

  it('drops a link whose value is missing, or that is not http(s)', () => {
    assert.equal(expandLink({ name: 'x', url: 'https://a.example/{user.email}' }, values), null);
    assert.equal(expandLink({ name: 'x', url: 'javascript:alert({user.id})' }, values), null);
    assert.equal(safeHttpUrl('javascript:alert(1)'), null);
    assert.equal(safeHttpUrl('https://github.com/o/r/issues/1'), 'https://github.com/o/r/issues/1');
  });

  it('reads and writes the settings textarea format', () => {
    const { templates, errors } = parseLinkTemplates('user https://a.example/u/{user.id}\n\nbad line here\nftp ftp://x');
    assert.deepEqual(templates, [{ name: 'user', url: 'https://a.example/u/{user.id}' }]);
    assert.equal(errors.length, 2);
    assert.equal(formatLinkTemplates(templates), 'user https://a.example/u/{user.id}');
  });

  it('reads Telegram values from contexts.telegram, else from the tags other SDKs send', () => {
    const event = (payload: object, tags: Record<string, string>) => ({ eventId: 'e1', release: null, environment: null, tags, payload }) as unknown as StoredEvent;
    assert.deepEqual(telegramOf(event({ contexts: { telegram: { chat_id: 5 } } }, { chat_id: '9' })), { chat_id: 5 });
    assert.deepEqual(telegramOf(event({}, { 'tg.chat_id': '9', 'telegram.user_id': '7' })), { chat_id: '9', user_id: '7' });
    assert.equal(telegramOf(event({}, {})), null);
    const values = linkValues(event({ user: { id: 'u1' } }, { chat_id: '-100' }));
    assert.equal(expandLink({ name: 'chat', url: 'https://a.example/{telegram.chat_id}/{user.id}/{event.id}' }, values), 'https://a.example/-100/u1/e1');
  });
});
