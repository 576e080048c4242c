import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_PARAMETERIZE_LENGTH, parameterize, routePattern } from './parameterize.js';

describe('parameterize', () => {
  it('gives flood-wait messages with different waits the same text', () => {
    assert.equal(parameterize('Too Many Requests: retry after 17'), 'Too Many Requests: retry after <int>');
    assert.equal(parameterize('Too Many Requests: retry after 3'), parameterize('Too Many Requests: retry after 17'));
  });

  it('leaves Telegram descriptions without variables readable', () => {
    for (const text of [
      'Bad Request: chat not found',
      'Forbidden: bot was blocked by the user',
      'Bad Request: message is not modified',
      'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
    ]) {
      assert.equal(parameterize(text), text);
    }
  });

  it("keeps grammY's API error message stable", () => {
    const text = "Call to 'sendMessage' failed! (400: Bad Request: chat not found)";
    assert.equal(parameterize(text), "Call to 'sendMessage' failed! (<int>: Bad Request: chat not found)");
    assert.equal(parameterize(text), parameterize(text));
  });

  it('replaces Telegram user and chat ids, including negative supergroup ids', () => {
    assert.equal(
      parameterize('user 123456789 cannot write to chat -1001234567890'),
      'user <int> cannot write to chat <int>',
    );
    assert.equal(parameterize('Forbidden: chat_id=-1001234567890'), parameterize('Forbidden: chat_id=-1009876543210'));
  });

  it('makes messages differing only in an id, uuid or timestamp identical', () => {
    const a = 'order 550e8400-e29b-41d4-a716-446655440000 of user 42 failed at 2024-01-26T17:27:31.414Z';
    const b = 'order 7c9e6679-7425-40de-944b-e07fc1f90ae7 of user 4711 failed at 2025-10-10T08:00:01Z';
    assert.equal(parameterize(a), 'order <uuid> of user <int> failed at <date>');
    assert.equal(parameterize(a), parameterize(b));
  });

  it('replaces emails, URLs and IP addresses', () => {
    assert.equal(parameterize('mail to john.doe@example.com failed'), 'mail to <email> failed');
    assert.equal(parameterize('GET https://api.example.com/v1/users/7?x=1 failed.'), 'GET <url> failed.');
    assert.equal(parameterize('connect ECONNREFUSED 127.0.0.1:5432'), 'connect ECONNREFUSED <ip>');
    assert.equal(parameterize('connect ECONNREFUSED ::1'), 'connect ECONNREFUSED <ip>');
    assert.equal(parameterize('from 2001:db8:85a3:0:0:8a2e:370:7334 now'), 'from <ip> now');
  });

  it('does not mistake C++/PHP scope operators or words for IPv6', () => {
    assert.equal(parameterize('Foo::bar() in Bad::Request'), 'Foo::bar() in Bad::Request');
  });

  it('replaces hashes and hex numbers', () => {
    assert.equal(parameterize('commit 3f786850e387550fdab836ed7e6dc881de23001b'), 'commit <hex>');
    assert.equal(parameterize('md5 d41d8cd98f00b204e9800998ecf8427e'), 'md5 <hex>');
    assert.equal(parameterize('segfault at 0x7ffd5fbff8a0'), 'segfault at <hex>');
  });

  it('replaces common date and time formats', () => {
    for (const date of [
      '2024-01-26',
      '2024-01-26 17:27:31',
      '2024-01-26T17:27:31+02:00',
      'Mon, 02 Jan 2006 15:04:05 GMT',
      'Mon Jan 02 2006 15:04:05 GMT+0000 (Coordinated Universal Time)',
      'Jan 2, 2006',
      '26/01/2024',
      '26.01.2024',
      '17:27:31.414',
    ]) {
      assert.equal(parameterize(`expired at ${date}.`), 'expired at <date>.', date);
    }
  });

  // `<date>` and `<hex>` are tried only on text holding what every one of their formats needs
  // (a `-`, `/`, `.`, `:` or a month's name; 12 hex characters in a row or `0x`): text right at that edge.
  it('replaces dates and hex with nothing around them that a cheaper test could miss', () => {
    for (const [text, expected] of [
      ['expired at 2024-01-26', 'expired at <date>'],
      ['expired at 26/01/2024', 'expired at <date>'],
      ['expired at 26.01.2024', 'expired at <date>'],
      ['expired at 17:27', 'expired at <date>'],
      ['expired at Jan 2 2006', 'expired at <date>'],
      ['expired at 02 Jan 2006', 'expired at <date>'],
      ['Mon Jan 02 2006', '<date>'],
      ['expired at 2 jan 2006', 'expired at <int> jan <int>'],
      ['blob deadbeef1234 gone', 'blob <hex> gone'],
      ['blob deadbeef123 gone', 'blob deadbeef123 gone'],
      ['flags 0X1F set', 'flags <hex> set'],
      ['user 123456789012 left', 'user <int> left'],
    ] as const) {
      assert.equal(parameterize(text), expected, text);
    }
  });

  it('replaces durations, floats and ints', () => {
    assert.equal(parameterize('timeout of 10000ms exceeded'), 'timeout of <duration> exceeded');
    assert.equal(parameterize('took 3 ms, then 1.5s, then 2 hours'), 'took <duration>, then <duration>, then <duration>');
    assert.equal(parameterize('Request timed out after 10000 ms'), 'Request timed out after <duration>');
    assert.equal(parameterize('score 0.75 below 1'), 'score <float> below <int>');
  });

  it('keeps digits that belong to words and the dash of a name', () => {
    assert.equal(parameterize('utf8 base64 IPv6 user42 sha256'), 'utf8 base64 IPv6 user42 sha256');
    assert.equal(parameterize('item-5 missing'), 'item-<int> missing');
  });

  it('replaces quoted values and booleans after =', () => {
    assert.equal(parameterize(`query name='bob' active=true id=42`), 'query name=<quoted_str> active=<bool> id=<int>');
    assert.equal(parameterize('say "hello" please'), 'say "hello" please');
  });

  // The timeout only guards against a catastrophic regex, which would take minutes.
  it('cuts huge hostile input before matching', { timeout: 10_000 }, () => {
    for (const huge of ['a'.repeat(200_000) + ' x@y', '1'.repeat(200_000), 'ab12:'.repeat(40_000)]) {
      assert.ok(parameterize(huge).length <= MAX_PARAMETERIZE_LENGTH);
    }
  });
});

describe('routePattern', () => {
  it('drops scheme, host, query and fragment and parameterises ids in segments', () => {
    assert.equal(routePattern('https://x.org/users/42/orders?a=1#top'), '/users/<int>/orders');
    assert.equal(routePattern('/u/550e8400-e29b-41d4-a716-446655440000/files/3f786850e387550fdab8'), '/u/<uuid>/files/<hex>');
    assert.equal(routePattern('/share/aB3dE5fG7hJ9kL/view'), '/share/<id>/view');
    assert.equal(routePattern('/reports/2024-01-26'), '/reports/<date>');
  });

  it('keeps words and short versioned segments', () => {
    assert.equal(routePattern('/api/v2/page10/sendMessage/'), '/api/v2/page10/sendMessage/');
  });

  it('gives the same pattern for the same route with different ids', () => {
    assert.equal(routePattern('/chats/-1001234567890/members/5'), routePattern('/chats/-1009999999999/members/77'));
  });
});
