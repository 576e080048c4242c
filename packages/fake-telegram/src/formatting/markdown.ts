// parse_mode=MarkdownV2 and the legacy parse_mode=Markdown, after TDLib's parse_markdown_v2 /
// parse_markdown. Covers what bots use (bold, italic, underline, strike, spoiler, code, pre,
// links, custom emoji, block quotes) and the errors they hit, above all the unescaped
// reserved character.
import { EntityParseError } from '../errors.js';
import type { FormattedText, MessageEntity } from '../types.js';
import { isValidLink, normalizeLink, sortEntities } from './entities.js';

const RESERVED = '_*[]()~`>#+-=|{}.!';

/** In MarkdownV2 a backslash escapes any ASCII character, inside code and URLs too (TDLib). */
const isEscapableAscii = (c: string): boolean => c.charCodeAt(0) > 0 && c.charCodeAt(0) <= 126;

interface Open {
  type: string;
  /** The text that closes this entity ("*", "__", "||", "]"). */
  marker: string;
  offset: number;
  byte: number;
}

const ENTITY_NAMES: Record<string, string> = {
  bold: 'Bold', italic: 'Italic', underline: 'Underline', strikethrough: 'Strikethrough',
  spoiler: 'Spoiler', text_link: 'TextUrl', custom_emoji: 'CustomEmoji',
};

export function parseMarkdownV2(source: string): FormattedText {
  return new MarkdownV2Parser(source).parse();
}

abstract class CursorParser {
  protected out = '';
  protected i = 0;
  protected readonly entities: MessageEntity[] = [];

  constructor(protected readonly src: string) {}

  protected fail(message: string): never {
    throw new EntityParseError(message);
  }

  protected byteOffset(pos: number): number {
    return Buffer.byteLength(this.src.slice(0, pos), 'utf8');
  }

  /** Reads until `terminator`, honouring backslash escapes; returns undefined at end of text. */
  protected readUntil(terminator: string, escapable: (c: string) => boolean): string | undefined {
    let value = '';
    while (this.i < this.src.length) {
      if (this.src.startsWith(terminator, this.i)) {
        this.i += terminator.length;
        return value;
      }
      const c = this.src[this.i] as string;
      const next = this.src[this.i + 1];
      if (c === '\\' && next !== undefined && escapable(next)) {
        value += next;
        this.i += 2;
      } else {
        value += c;
        this.i++;
      }
    }
    return undefined;
  }

  /** Adds a link entity, or a custom emoji if the URL is tg://emoji?id=N. */
  protected addLink(type: string, offset: number, url: string): void {
    const length = this.out.length - offset;
    if (type === 'custom_emoji') {
      const id = /^tg:\/\/emoji\?id=([0-9]+)$/.exec(url)?.[1];
      if (!id) this.fail('Custom emoji URL must have an emoji identifier');
      if (length > 0) this.entities.push({ type, offset, length, custom_emoji_id: id });
    } else if (length > 0 && isValidLink(url)) {
      this.entities.push({ type: 'text_link', offset, length, url: normalizeLink(url) });
    }
  }
}

class MarkdownV2Parser extends CursorParser {
  private readonly open: Open[] = [];
  private quote: { offset: number; expandable: boolean } | undefined;

  parse(): FormattedText {
    while (this.i < this.src.length) this.step();
    this.closeQuote();
    const last = this.open[this.open.length - 1];
    if (last) this.fail(`Can't find end of ${ENTITY_NAMES[last.type] ?? last.type} entity at byte offset ${last.byte}`);
    return { text: this.out, entities: sortEntities(this.entities) };
  }

  private step(): void {
    const c = this.src[this.i] as string;
    const next = this.src[this.i + 1];
    const atLineStart = this.i === 0 || this.src[this.i - 1] === '\n';
    if (c === '\\' && next !== undefined && isEscapableAscii(next)) {
      this.out += next;
      this.i += 2;
    } else if (atLineStart && (c === '>' || this.src.startsWith('**>', this.i))) {
      this.openQuote();
    } else if (c === '\n') {
      this.endOfLine();
    } else if (!RESERVED.includes(c)) {
      this.out += c;
      this.i++;
    } else {
      this.reserved(c);
    }
  }

  private reserved(c: string): void {
    if (c === '`') return this.readCode();
    if (c === '[') return this.push('text_link', ']', 1);
    if (c === '!' && this.src[this.i + 1] === '[') return this.push('custom_emoji', ']', 2);
    if (c === ']' && this.top()?.marker === ']') return this.closeLinkText();
    if (c === '|' && this.src[this.i + 1] === '|' && this.quote && this.isLineEnd(this.i + 2)) {
      this.quote.expandable = true; // "||" at the end of a quote marks it expandable
      this.i += 2;
      return;
    }
    const marker = c === '_' && this.src[this.i + 1] === '_' ? '__' : c === '|' && this.src[this.i + 1] === '|' ? '||' : c;
    const type = { '*': 'bold', _: 'italic', __: 'underline', '~': 'strikethrough', '||': 'spoiler' }[marker];
    if (!type) this.fail(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);
    if (this.top()?.marker === marker) this.close(marker.length);
    else this.push(type, marker, marker.length);
  }

  private top(): Open | undefined {
    return this.open[this.open.length - 1];
  }

  private push(type: string, marker: string, width: number): void {
    this.open.push({ type, marker, offset: this.out.length, byte: this.byteOffset(this.i) });
    this.i += width;
  }

  private close(width: number): void {
    const entity = this.open.pop() as Open;
    this.i += width;
    const length = this.out.length - entity.offset;
    if (length > 0) this.entities.push({ type: entity.type, offset: entity.offset, length });
  }

  private closeLinkText(): void {
    const entity = this.open.pop() as Open;
    this.i++;
    let url = this.out.slice(entity.offset);
    if (this.src[this.i] === '(') {
      this.i++;
      const start = this.i;
      const value = this.readUntil(')', isEscapableAscii);
      if (value === undefined) this.fail(`Can't find end of a URL at byte offset ${this.byteOffset(start)}`);
      url = value;
    }
    this.addLink(entity.type, entity.offset, url);
  }

  /** `code` and ```language\npre```; inside them only ` and \ must be escaped (others may be). */
  private readCode(): void {
    const start = this.i;
    const offset = this.out.length;
    const isPre = this.src.startsWith('```', this.i);
    this.i += isPre ? 3 : 1;
    const body = this.readUntil(isPre ? '```' : '`', isEscapableAscii);
    if (body === undefined) {
      this.fail(`Can't find end of ${isPre ? 'Pre' : 'Code'} entity at byte offset ${this.byteOffset(start)}`);
    }
    let text = body;
    let language: string | undefined;
    const newline = body.indexOf('\n');
    if (isPre && newline >= 0) {
      language = body.slice(0, newline).trim() || undefined;
      text = body.slice(newline + 1);
    }
    this.out += text;
    if (text.length === 0) return;
    const entity: MessageEntity = { type: isPre ? 'pre' : 'code', offset, length: text.length };
    if (language) entity.language = language;
    this.entities.push(entity);
  }

  private openQuote(): void {
    const expandable = this.src.startsWith('**>', this.i);
    this.i += expandable ? 3 : 1;
    if (!this.quote) this.quote = { offset: this.out.length, expandable };
  }

  private endOfLine(): void {
    // A quote ends at the first line that does not start with '>'.
    if (this.quote && this.src[this.i + 1] !== '>') this.closeQuote();
    this.out += '\n';
    this.i++;
  }

  private closeQuote(): void {
    if (!this.quote) return;
    const { offset, expandable } = this.quote;
    this.quote = undefined;
    if (this.out.length > offset) {
      this.entities.push({ type: expandable ? 'expandable_blockquote' : 'blockquote', offset, length: this.out.length - offset });
    }
  }

  private isLineEnd(pos: number): boolean {
    return pos >= this.src.length || this.src[pos] === '\n';
  }
}

/** Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting. */
export function parseMarkdown(source: string): FormattedText {
  return new LegacyMarkdownParser(source).parse();
}

class LegacyMarkdownParser extends CursorParser {
  parse(): FormattedText {
    while (this.i < this.src.length) {
      const c = this.src[this.i] as string;
      const next = this.src[this.i + 1];
      if (c === '\\' && next !== undefined && '_*`['.includes(next)) {
        this.out += next;
        this.i += 2;
      } else if ('_*`['.includes(c)) {
        this.readEntity(c);
      } else {
        this.out += c;
        this.i++;
      }
    }
    return { text: this.out, entities: sortEntities(this.entities) };
  }

  private readEntity(c: string): void {
    const start = this.i;
    const offset = this.out.length;
    const isPre = this.src.startsWith('```', this.i);
    const terminator = isPre ? '```' : c === '[' ? ']' : c;
    this.i += isPre ? 3 : 1;
    const body = this.readUntil(terminator, () => false);
    if (body === undefined) this.fail(`Can't find end of the entity starting at byte offset ${this.byteOffset(start)}`);
    this.out += body;
    if (c === '[') return this.readLegacyUrl(offset);
    const type = isPre ? 'pre' : { '*': 'bold', _: 'italic', '`': 'code' }[c] ?? 'bold';
    if (body.length > 0) this.entities.push({ type, offset, length: body.length });
  }

  private readLegacyUrl(offset: number): void {
    if (this.src[this.i] !== '(') return;
    this.i++;
    const url = this.readUntil(')', () => false);
    if (url === undefined) this.fail(`Can't find end of the entity starting at byte offset ${this.byteOffset(this.i)}`);
    this.addLink('text_link', offset, url);
  }
}
