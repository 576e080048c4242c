import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EntityParseError } from '../errors.js';
import { formatMessageText } from './format.js';
import { parseHtml } from './html.js';

const parseError = (source: string): string => {
  try {
    parseHtml(source);
  } catch (error) {
    assert.ok(error instanceof EntityParseError);
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(source)} to be refused`);
};

describe('HTML parse mode', () => {
  it('turns every supported tag into its entity, with UTF-16 offsets', () => {
    const { text, entities } = parseHtml(
      '<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>' +
        '<tg-spoiler>p</tg-spoiler><span class="tg-spoiler">q</span><code>c</code><blockquote>q</blockquote>' +
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
    );
    assert.equal(text, 'bsieunskdpqcq👍');
    assert.deepEqual(
      entities.map((e) => [e.type, e.offset, e.length]),
      [
        ['bold', 0, 1], ['bold', 1, 1], ['italic', 2, 1], ['italic', 3, 1], ['underline', 4, 1], ['underline', 5, 1],
        ['strikethrough', 6, 1], ['strikethrough', 7, 1], ['strikethrough', 8, 1], ['spoiler', 9, 1], ['spoiler', 10, 1],
        ['code', 11, 1], ['blockquote', 12, 1], ['custom_emoji', 13, 2],
      ],
    );
    assert.equal(entities.at(-1)?.custom_emoji_id, '5368324170671202286');
  });

  it('makes <pre><code class="language-x"> one pre entity with a language', () => {
    const { text, entities } = parseHtml('<pre><code class="language-python">print(1)</code></pre>');
    assert.equal(text, 'print(1)');
    assert.deepEqual(entities, [{ type: 'pre', offset: 0, length: 8, language: 'python' }]);
  });

  it('keeps links and nests entities outer-first', () => {
    const { text, entities } = parseHtml('<b>see <a href="https://example.com/x?a=1&amp;b=2">docs</a></b>');
    assert.equal(text, 'see docs');
    assert.deepEqual(entities, [
      { type: 'bold', offset: 0, length: 8 },
      { type: 'text_link', offset: 4, length: 4, url: 'https://example.com/x?a=1&b=2' },
    ]);
  });

  it('marks expandable block quotes', () => {
    assert.equal(parseHtml('<blockquote expandable>long</blockquote>').entities[0]?.type, 'expandable_blockquote');
  });

  it('decodes &lt; &gt; &amp; &quot; and numeric entities', () => {
    assert.equal(parseHtml('&lt;tag&gt; &amp; &quot;q&quot; &#65;&#x42; &#128512;').text, '<tag> & "q" AB 😀');
  });

  it('refuses unknown tags with the byte offset of the tag', () => {
    assert.equal(parseError('héllo <br> x'), 'Unsupported start tag "br" at byte offset 7');
  });

  it('refuses a bare "<" that does not open a tag', () => {
    assert.equal(parseError('1 < 2'), 'Unsupported start tag "" at byte offset 2');
  });

  it('refuses a bare "&" that is not an entity, stricter than Telegram so escaping bugs show', () => {
    assert.match(parseError('AT&T'), /^Unescaped "&" at byte offset 2/);
  });

  it('refuses unclosed and mismatched tags', () => {
    assert.equal(parseError('<b>bold'), 'Can\'t find end tag corresponding to start tag "b"');
    assert.equal(parseError('<b>x</i>'), 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"');
    assert.equal(parseError('x</b>'), 'Unexpected end tag at byte offset 1');
    assert.equal(parseError('<b'), 'Unclosed start tag at byte offset 0');
  });

  it('requires class="tg-spoiler" on span', () => {
    assert.equal(parseError('<span>x</span>'), 'Tag "span" must have class "tg-spoiler" at byte offset 0');
  });

  it('accepts a bare ">" as Telegram does', () => {
    assert.equal(parseHtml('a > b').text, 'a > b');
  });
});

describe('message text rules', () => {
  it('counts the 4096-character limit after entity parsing', () => {
    const visible = 'x'.repeat(4096);
    assert.equal(formatMessageText(`<b>${visible}</b>`, 'HTML').text.length, 4096);
    assert.throws(() => formatMessageText(`<b>${visible}y</b>`, 'HTML'), { description: 'Bad Request: message is too long' });
    // Escapes count as one character each: 4096 × "&lt;" is 16 384 bytes of source, but 4096 characters.
    assert.equal(formatMessageText('&lt;'.repeat(4096), 'HTML').text.length, 4096);
  });

  it('refuses text that is empty after parsing and trimming', () => {
    for (const text of ['', '   \n ', '<b></b>']) {
      assert.throws(() => formatMessageText(text, 'HTML'), { description: 'Bad Request: message text is empty' });
    }
  });

  it('trims surrounding whitespace and shifts entities with it', () => {
    const { text, entities } = formatMessageText('\n  <b>hi</b> there \n', 'HTML');
    assert.equal(text, 'hi there');
    assert.deepEqual(entities, [{ type: 'bold', offset: 0, length: 2 }]);
  });

  it('wraps parser errors in "can\'t parse entities"', () => {
    assert.throws(() => formatMessageText('<x>', 'HTML'), {
      code: 400,
      description: 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0',
    });
  });

  it('refuses an unknown parse_mode and keeps plain text untouched', () => {
    assert.throws(() => formatMessageText('x', 'BBCode'), { description: 'Bad Request: unsupported parse_mode' });
    assert.equal(formatMessageText('<b> & </b>').text, '<b> & </b>');
  });
});
