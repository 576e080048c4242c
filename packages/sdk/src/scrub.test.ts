import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FILTERED, registerSecret, scrubJson, scrubString, scrubValue } from './scrub.js';

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

  it('removes tokens whose colon was percent-encoded once or twice (%3A, %253A)', () => {
    const [id, secret] = TOKEN.split(':');
    assert.equal(scrubString(`u=https%3A%2F%2Fapi.telegram.org%2Fbot${id}%3A${secret}%2FgetMe`), 'u=https%3A%2F%2Fapi.telegram.org%2Fbot[bot-token]%2FgetMe');
    assert.equal(scrubString(`u=https%253A%252F%252Fh%252Fbot${id}%253A${secret}%252F`), 'u=https%253A%252F%252Fh%252Fbot[bot-token]%252F');
    assert.equal(scrubString(`id ${id}%253A${secret} end`), 'id [bot-token] end');
  });

  it('removes key, pwd, pass, sig and signature query parameters, in text and in serialised JSON', () => {
    for (const name of ['key', 'pwd', 'pass', 'sig', 'signature']) {
      assert.equal(scrubString(`GET https://maps.example/api?${name}=AIzaSyD-s3cr3t&q=1`), `GET https://maps.example/api?${name}=${FILTERED}&q=1`);
      assert.equal(scrubString(`${name}=s3cr3t&q=1`), `${name}=${FILTERED}&q=1`);
    }
    const json = JSON.stringify({ request: { url: 'https://x.example/cb?sig=abc123&q=1', query_string: 'key=AIza123&q=2' } });
    const scrubbed = scrubJson(json);
    assert.deepEqual(JSON.parse(scrubbed), { request: { url: `https://x.example/cb?sig=${FILTERED}&q=1`, query_string: `key=${FILTERED}&q=2` } });
    for (const text of ['monkey=banana', 'passkey=7', 'bypass=on&x=1']) assert.equal(scrubString(text), text);
  });

  it('removes OpenAI, Anthropic and Stripe API keys from free text', () => {
    for (const key of ['sk-proj-Ab3dEfGh1jKlMnOpQrStUvWxYz0123456789abcd', 'sk-ant-api03-Ab3dEfGh1jKlMnOpQrStUvWxYz_0123456789-abcdEFGH', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc']) {
      assert.equal(scrubString(`model call with ${key} failed`), `model call with ${FILTERED} failed`);
      assert.equal(JSON.parse(scrubJson(JSON.stringify({ message: key }))).message, FILTERED);
    }
    assert.equal(scrubString('risk-assessment-for-the-quarterly-report'), 'risk-assessment-for-the-quarterly-report');
  });
});
