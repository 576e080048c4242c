import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, html, join, jsonForScript, queryString, raw } from './html.js';

describe('html templates', () => {
  it('escapes every interpolated string, in text and in attributes', () => {
    const evil = `<img src=x onerror="alert(1)">'&\``;
    assert.equal(html`<p title="${evil}">${evil}</p>`.value, '<p title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;&#96;">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;&#96;</p>');
  });

  it('inserts nested templates and raw fragments as they are, and only those', () => {
    const inner = html`<b>${'<i>'}</b>`;
    assert.equal(html`<p>${inner}${raw('<br>')}</p>`.value, '<p><b>&lt;i&gt;</b><br></p>');
    assert.equal(html`${{ toString: () => '<x>' } as unknown as string}`.value, '&lt;x&gt;');
  });

  it('renders lists, numbers and drops null, undefined and booleans', () => {
    assert.equal(html`${['<a>', html`<b>`, 3, null, undefined, false, true]}`.value, '&lt;a&gt;<b>3');
    assert.equal(join(['a', '<b>'], html`<hr>`).value, 'a<hr>&lt;b&gt;');
  });

  it('makes JSON safe inside a script element', () => {
    const out = jsonForScript({ s: '</script><script>alert(1)</script>', amp: '&', ls: '\u2028' }).value;
    assert.ok(!out.includes('<') && !out.includes('>'));
    assert.deepEqual(JSON.parse(out), { s: '</script><script>alert(1)</script>', amp: '&', ls: '\u2028' });
  });

  it('builds query strings from the non-empty values', () => {
    assert.equal(queryString({ a: 'x y', b: '', c: undefined, d: 0, e: null }), '?a=x+y&d=0');
    assert.equal(queryString({}), '');
    assert.equal(escapeHtml('plain'), 'plain');
  });
});
