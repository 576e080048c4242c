// parse_mode=HTML, modeled on TDLib's parse_html (the code behind the Bot API): the same tag
// set, the same error wordings and byte offsets. One deliberate difference: a bare "&" that
// does not start an entity is an error here. Telegram lets it through, but its docs require
// "&amp;", and a test double that is stricter than the real thing catches escaping bugs
// before production does.
import { EntityParseError } from '../errors.js';
import type { FormattedText, MessageEntity } from '../types.js';
import { isValidLink, normalizeLink, sortEntities } from './entities.js';

const SUPPORTED_TAGS = new Set([
  'a', 'b', 'strong', 'i', 'em', 's', 'strike', 'del', 'u', 'ins',
  'tg-spoiler', 'tg-emoji', 'span', 'pre', 'code', 'blockquote',
]);

const SIMPLE_TAG_TYPES: Record<string, string> = {
  b: 'bold', strong: 'bold',
  i: 'italic', em: 'italic',
  u: 'underline', ins: 'underline',
  s: 'strikethrough', strike: 'strikethrough', del: 'strikethrough',
  'tg-spoiler': 'spoiler', span: 'spoiler',
  code: 'code',
};

interface OpenTag {
  name: string;
  argument: string;
  expandable: boolean;
  /** UTF-16 offset in the output text where the tag's content starts. */
  offset: number;
}

export function parseHtml(source: string): FormattedText {
  return new HtmlParser(source).parse();
}

/** Decodes an HTML entity starting at `pos` ("&lt;", "&#60;", "&#x3C;"), or returns undefined. */
export function decodeEntityAt(text: string, pos: number): { char: string; end: number } | undefined {
  const match = /^&(?:#x([0-9a-fA-F]+)|#([0-9]+)|([a-zA-Z]+));?/.exec(text.slice(pos, pos + 16));
  if (!match) return undefined;
  const [whole, hex, dec, name] = match;
  let codePoint: number | undefined;
  if (hex !== undefined) codePoint = parseInt(hex, 16);
  else if (dec !== undefined) codePoint = parseInt(dec, 10);
  else codePoint = NAMED_ENTITIES[name ?? ''];
  // TDLib refuses NUL, values beyond Unicode and overlong numbers (10+ characters).
  if (codePoint === undefined || codePoint === 0 || codePoint >= 0x10ffff) return undefined;
  if ((hex ?? dec) !== undefined && whole.replace(/;$/, '').length >= 10) return undefined;
  return { char: String.fromCodePoint(codePoint), end: pos + whole.length };
}

const NAMED_ENTITIES: Record<string, number> = { lt: 0x3c, gt: 0x3e, amp: 0x26, quot: 0x22 };

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\n' || c === '\t' || c === '\r';
const isNameTokenChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9.-]/.test(c);

class HtmlParser {
  private out = '';
  private readonly entities: MessageEntity[] = [];
  private readonly open: OpenTag[] = [];
  /** Languages of <code class="language-x">, kept aside because Bot API code entities have none. */
  private readonly codeLanguages = new Map<MessageEntity, string>();
  private i = 0;

  constructor(private readonly src: string) {}

  parse(): FormattedText {
    while (this.i < this.src.length) {
      const c = this.src[this.i];
      if (c === '&') this.readCharacterReference();
      else if (c === '<' && this.src[this.i + 1] === '/') this.readEndTag();
      else if (c === '<') this.readStartTag();
      else {
        this.out += c;
        this.i++;
      }
    }
    const unclosed = this.open[this.open.length - 1];
    if (unclosed) this.fail(`Can't find end tag corresponding to start tag "${unclosed.name}"`);
    return { text: this.out, entities: sortEntities(this.entities) };
  }

  private fail(message: string): never {
    throw new EntityParseError(message);
  }

  /** TDLib reports positions as byte offsets into the UTF-8 source. */
  private byteOffset(pos: number): number {
    return Buffer.byteLength(this.src.slice(0, pos), 'utf8');
  }

  private readCharacterReference(): void {
    const decoded = decodeEntityAt(this.src, this.i);
    if (!decoded) {
      this.fail(`Unescaped "&" at byte offset ${this.byteOffset(this.i)}; write it as "&amp;"`);
    }
    this.out += decoded.char;
    this.i = decoded.end;
  }

  private readStartTag(): void {
    const begin = this.i++;
    const at = this.byteOffset(begin);
    const nameStart = this.i;
    while (this.i < this.src.length && !isSpace(this.src[this.i]) && this.src[this.i] !== '>') this.i++;
    if (this.i >= this.src.length) this.fail(`Unclosed start tag at byte offset ${at}`);
    const name = this.src.slice(nameStart, this.i).toLowerCase();
    if (!SUPPORTED_TAGS.has(name)) this.fail(`Unsupported start tag "${name}" at byte offset ${at}`);

    const tag: OpenTag = { name, argument: '', expandable: false, offset: this.out.length };
    this.readAttributes(tag, at);
    this.i++; // the closing '>'
    if (name === 'span' && tag.argument !== 'spoiler') {
      this.fail(`Tag "span" must have class "tg-spoiler" at byte offset ${at}`);
    }
    if (name === 'tg-emoji' && !/^[0-9]+$/.test(tag.argument)) {
      this.fail(`Invalid custom emoji identifier specified at byte offset ${at}`);
    }
    this.open.push(tag);
  }

  /** Reads `name="value"` pairs up to (not including) the '>' and stores the one that matters. */
  private readAttributes(tag: OpenTag, at: number): void {
    while (this.src[this.i] !== '>') {
      while (isSpace(this.src[this.i])) this.i++;
      if (this.src[this.i] === '>') return;
      if (this.i >= this.src.length) this.fail(`Unclosed start tag at byte offset ${at}`);
      const nameStart = this.i;
      while (this.i < this.src.length && !isSpace(this.src[this.i]) && !'=>'.includes(this.src[this.i] ?? '')) this.i++;
      const attribute = this.src.slice(nameStart, this.i).toLowerCase();
      if (attribute === '') this.fail(`Empty attribute name in the tag "${tag.name}" at byte offset ${at}`);
      while (isSpace(this.src[this.i])) this.i++;
      if (this.src[this.i] !== '=') {
        if (tag.name === 'blockquote' && attribute === 'expandable') {
          tag.expandable = true;
          continue;
        }
        if (this.i >= this.src.length) this.fail(`Unclosed start tag at byte offset ${at}`);
        this.fail(`Expected equal sign in declaration of an attribute of the tag "${tag.name}" at byte offset ${at}`);
      }
      this.i++;
      while (isSpace(this.src[this.i])) this.i++;
      if (this.i >= this.src.length) this.fail(`Unclosed start tag "${tag.name}" at byte offset ${at}`);
      const value = this.readAttributeValue(tag.name, at);
      if (this.i >= this.src.length) this.fail(`Unclosed start tag at byte offset ${at}`);
      this.applyAttribute(tag, attribute, value);
    }
  }

  private readAttributeValue(tagName: string, at: number): string {
    const quote = this.src[this.i];
    if (quote !== '"' && quote !== "'") {
      // An unquoted value is an SGML name token: letters, digits, periods and hyphens.
      const start = this.i;
      while (isNameTokenChar(this.src[this.i])) this.i++;
      if (!isSpace(this.src[this.i]) && this.src[this.i] !== '>') {
        this.fail(`Unexpected end of name token at byte offset ${this.byteOffset(start)}`);
      }
      return this.src.slice(start, this.i).toLowerCase();
    }
    this.i++;
    let value = '';
    while (this.i < this.src.length && this.src[this.i] !== quote) {
      const decoded = this.src[this.i] === '&' ? decodeEntityAt(this.src, this.i) : undefined;
      if (decoded) {
        value += decoded.char;
        this.i = decoded.end;
      } else {
        value += this.src[this.i++];
      }
    }
    if (this.src[this.i] !== quote) {
      this.fail(`Unclosed end of attribute value in the tag "${tagName}" at byte offset ${at}`);
    }
    this.i++;
    return value;
  }

  private applyAttribute(tag: OpenTag, attribute: string, value: string): void {
    if (tag.name === 'a' && attribute === 'href') tag.argument = value;
    else if (tag.name === 'code' && attribute === 'class' && value.startsWith('language-')) tag.argument = value.slice(9);
    else if (tag.name === 'span' && attribute === 'class' && value.startsWith('tg-')) tag.argument = value.slice(3);
    else if (tag.name === 'tg-emoji' && attribute === 'emoji-id') tag.argument = value;
    // Other attributes are ignored, as Telegram does.
  }

  private readEndTag(): void {
    const begin = this.i;
    const at = this.byteOffset(begin);
    this.i += 2;
    const nameStart = this.i;
    while (this.i < this.src.length && !isSpace(this.src[this.i]) && this.src[this.i] !== '>') this.i++;
    const name = this.src.slice(nameStart, this.i).toLowerCase();
    while (isSpace(this.src[this.i])) this.i++;
    if (this.src[this.i] !== '>') this.fail(`Unclosed end tag at byte offset ${at}`);
    const tag = this.open.pop();
    if (!tag) this.fail(`Unexpected end tag at byte offset ${at}`);
    if (name !== '' && name !== tag.name) {
      this.fail(`Unmatched end tag at byte offset ${at}, expected "</${tag.name}>", found "</${name}>"`);
    }
    this.i++;
    this.closeTag(tag);
  }

  /** Turns a closed tag into an entity; empty tags produce none, as in Telegram. */
  private closeTag(tag: OpenTag): void {
    const length = this.out.length - tag.offset;
    if (length <= 0) return;
    const range = { offset: tag.offset, length };
    const simple = SIMPLE_TAG_TYPES[tag.name];
    if (simple) {
      const entity: MessageEntity = { type: simple, ...range };
      this.entities.push(entity);
      if (tag.name === 'code' && tag.argument) this.codeLanguages.set(entity, tag.argument);
    } else if (tag.name === 'pre') {
      this.closePre(range);
    } else if (tag.name === 'a') {
      this.closeLink(tag, range);
    } else if (tag.name === 'blockquote') {
      this.entities.push({ type: tag.expandable ? 'expandable_blockquote' : 'blockquote', ...range });
    } else if (tag.name === 'tg-emoji') {
      this.entities.push({ type: 'custom_emoji', ...range, custom_emoji_id: tag.argument });
    }
  }

  /** `<pre><code class="language-x">` becomes one pre entity with a language. */
  private closePre(range: { offset: number; length: number }): void {
    const inner = this.entities.findLastIndex(
      (e) => e.type === 'code' && e.offset === range.offset && e.length === range.length,
    );
    const pre: MessageEntity = { type: 'pre', ...range };
    if (inner >= 0) {
      const code = this.entities[inner] as MessageEntity;
      const language = this.codeLanguages.get(code);
      if (language) pre.language = language;
      this.entities.splice(inner, 1);
    }
    this.entities.push(pre);
  }

  /** An <a> without a usable URL silently produces no entity, like Telegram. */
  private closeLink(tag: OpenTag, range: { offset: number; length: number }): void {
    const url = tag.argument || this.out.slice(range.offset);
    if (!isValidLink(url)) return;
    this.entities.push({ type: 'text_link', ...range, url: normalizeLink(url) });
  }
}
