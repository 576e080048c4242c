import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandLink, formatLinkTemplates, parseLinkTemplates, safeHttpUrl } from './links.js';

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
});
