import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FILTERED, registerSecret, scrubString, scrubValue } from './scrub.js';

const TOKEN = '7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';

describe('scrubbing', () => {
  it('removes bot tokens from URLs, messages and stack-like text', () => {
    assert.equal(scrubString(`https://api.telegram.org/bot${TOKEN}/sendMessage`), 'https://api.telegram.org/bot[bot-token]/sendMessage');
    assert.equal(scrubString(`token ${TOKEN} leaked`), 'token [bot-token] leaked');
    assert.equal(scrubString('    at fetch (/bot12345:short/getMe)'), '    at fetch (/bot[bot-token]/getMe)');
    assert.equal(scrubString('12:30 meeting, ratio 3:4'), '12:30 meeting, ratio 3:4');
  });

  it('removes registered secrets verbatim, whatever their shape', () => {
    registerSecret('odd-secret-value-xyz');
    assert.equal(scrubString('key=odd-secret-value-xyz'), 'key=[bot-token]');
  });

  it('walks objects: strings scrubbed, secret-named keys filtered, cycles and depth bounded', () => {
    const input: Record<string, unknown> = {
      url: `/bot${TOKEN}/getUpdates`,
      nested: { list: [`x ${TOKEN}`], password: 'hunter2', Authorization: 'Bearer abc', api_key: 12345, has_token: true },
      update_id: 5,
      long: 'a'.repeat(50),
    };
    input['self'] = input;
    const out = scrubValue(input, { maxStringLength: 30 }) as any;
    assert.equal(out.url, '/bot[bot-token]/getUpdates');
    assert.deepEqual(out.nested.list, ['x [bot-token]']);
    assert.equal(out.nested.password, FILTERED);
    assert.equal(out.nested.Authorization, FILTERED);
    assert.equal(out.nested.api_key, FILTERED);
    assert.equal(out.nested.has_token, true);
    assert.equal(out.update_id, 5);
    assert.equal(out.long, `${'a'.repeat(30)}…`);
    assert.equal(out.self, '[Circular]');
    assert.equal(input['url'], `/bot${TOKEN}/getUpdates`, 'the input is not modified');
  });
});
