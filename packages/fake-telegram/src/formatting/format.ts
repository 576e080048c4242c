// Turns a (text, parse_mode, entities) triple from a request into the stored text, with the
// checks Telegram applies: parse errors, empty text and length limits, all counted AFTER
// entity parsing and trimming, in UTF-16 code units (the unit of entity offsets).
import { ApiError, badRequest, EntityParseError } from '../errors.js';
import type { FormattedText, MessageEntity } from '../types.js';
import { sortEntities, trimFormatted } from './entities.js';
import { parseHtml } from './html.js';
import { parseMarkdown, parseMarkdownV2 } from './markdown.js';

export const MAX_TEXT_LENGTH = 4096;
export const MAX_CAPTION_LENGTH = 1024;

export function parseWithMode(text: string, parseMode: string | undefined, entities?: MessageEntity[]): FormattedText {
  const mode = (parseMode ?? '').toLowerCase();
  try {
    if (mode === 'html') return parseHtml(text);
    if (mode === 'markdownv2') return parseMarkdownV2(text);
    if (mode === 'markdown') return parseMarkdown(text);
  } catch (error) {
    if (error instanceof EntityParseError) throw badRequest(`can't parse entities: ${error.message}`);
    throw error;
  }
  if (mode !== '') throw badRequest('unsupported parse_mode');
  return { text, entities: sortEntities(validEntities(text, entities ?? [])) };
}

/** Text of sendMessage / editMessageText: 1..4096 characters after parsing. */
export function formatMessageText(text: string | undefined, parseMode?: string, entities?: MessageEntity[]): FormattedText {
  if (text === undefined || text === '') throw badRequest('message text is empty');
  const formatted = trimFormatted(parseWithMode(text, parseMode, entities));
  if (formatted.text.length === 0) throw badRequest('message text is empty');
  if (formatted.text.length > MAX_TEXT_LENGTH) throw badRequest('message is too long');
  return formatted;
}

/** Media captions: optional, 0..1024 characters after parsing. */
export function formatCaption(caption: string | undefined, parseMode?: string, entities?: MessageEntity[]): FormattedText | undefined {
  if (caption === undefined || caption === '') return undefined;
  const formatted = trimFormatted(parseWithMode(caption, parseMode, entities));
  if (formatted.text.length > MAX_CAPTION_LENGTH) throw badRequest('message caption is too long');
  return formatted.text.length > 0 ? formatted : undefined;
}

/** Explicit `entities` outside the text are dropped, as Telegram does, rather than refused. */
function validEntities(text: string, entities: MessageEntity[]): MessageEntity[] {
  if (!Array.isArray(entities)) throw new ApiError(400, "Bad Request: can't parse entities JSON object");
  return entities.filter(
    (e) =>
      typeof e === 'object' && e !== null && typeof e.type === 'string' &&
      Number.isInteger(e.offset) && Number.isInteger(e.length) &&
      e.offset >= 0 && e.length > 0 && e.offset + e.length <= text.length,
  );
}
