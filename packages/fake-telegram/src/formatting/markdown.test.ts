import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMarkdown, parseMarkdownV2 } from './markdown.js';

describe('MarkdownV2 parse mode', () => {
  it('parses bold, italic, underline, strikethrough, spoiler and code', () => {
    const { text, entities } = parseMarkdownV2('*b* _i_ __u__ ~s~ ||p|| `c`');
    assert.equal(text, 'b i u s p c');
    assert.deepEqual(entities.map((e) => e.type), ['bold', 'italic', 'underline', 'strikethrough', 'spoiler', 'code']);
  });

  it('parses links and pre blocks with a language', () => {
    const { text, entities } = parseMarkdownV2('[docs](https://example.com/a\\)b)\n```js\nx()\n```');
    assert.equal(text, 'docs\nx()\n');
    assert.deepEqual(entities, [
      { type: 'text_link', offset: 0, length: 4, url: 'https://example.com/a)b' },
      { type: 'pre', offset: 5, length: 4, language: 'js' },
    ]);
  });

  it('refuses unescaped reserved characters', () => {
    assert.throws(() => parseMarkdownV2('Done.'), { message: "Character '.' is reserved and must be escaped with the preceding '\\'" });
    assert.equal(parseMarkdownV2('Done\\. 1\\-2').text, 'Done. 1-2');
  });

  it('refuses an entity that is never closed', () => {
    assert.throws(() => parseMarkdownV2('*bold'), { message: "Can't find end of Bold entity at byte offset 0" });
  });

  it('parses block quotes line by line', () => {
    const { text, entities } = parseMarkdownV2('>quoted\n>more\nafter');
    assert.equal(text, 'quoted\nmore\nafter');
    assert.deepEqual(entities, [{ type: 'blockquote', offset: 0, length: 11 }]);
  });
});

describe('legacy Markdown parse mode', () => {
  it('parses *bold*, _italic_, `code` and links without escaping rules', () => {
    const { text, entities } = parseMarkdown('*b* _i_ `c` [t](http://x.io) 1.5!');
    assert.equal(text, 'b i c t 1.5!');
    assert.deepEqual(entities.map((e) => e.type), ['bold', 'italic', 'code', 'text_link']);
  });

  it('refuses an unclosed entity', () => {
    assert.throws(() => parseMarkdown('snake_case'), { message: "Can't find end of the entity starting at byte offset 5" });
  });
});
