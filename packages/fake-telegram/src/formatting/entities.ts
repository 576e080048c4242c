// Helpers shared by the parse_mode parsers and by user-side messages: entity ordering,
// Telegram's whitespace trimming, link checks, and auto-detected entities (bot commands, ...).
import type { FormattedText, MessageEntity } from '../types.js';

/** Telegram returns entities ordered by offset, outer (longer) entities first. */
export function sortEntities(entities: MessageEntity[]): MessageEntity[] {
  return [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
}

/**
 * Telegram strips leading and trailing whitespace from message texts (TDLib's
 * fix_formatted_text); entities are shifted and clipped with the text.
 */
export function trimFormatted(formatted: FormattedText): FormattedText {
  const { text } = formatted;
  const lead = text.length - text.trimStart().length;
  const end = text.trimEnd().length;
  if (lead === 0 && end === text.length) return formatted;
  const entities: MessageEntity[] = [];
  for (const entity of formatted.entities) {
    const start = Math.max(entity.offset, lead);
    const stop = Math.min(entity.offset + entity.length, end);
    if (stop > start) entities.push({ ...entity, offset: start - lead, length: stop - start });
  }
  return { text: end > lead ? text.slice(lead, end) : '', entities };
}

const LINK_SCHEMES = /^(https?|tg|ftp|ton):/i;

/** Roughly TDLib's check_link: a known scheme, or something that looks like a host name. */
export function isValidLink(url: string): boolean {
  if (url.trim() === '' || /\s/.test(url)) return false;
  if (LINK_SCHEMES.test(url)) return canParseUrl(url);
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return false;
  return canParseUrl(`http://${url}`) && /^[^/?#]+\.[^/?#]+/.test(url);
}

/** Telegram adds "http://" to scheme-less links. */
export function normalizeLink(url: string): string {
  return LINK_SCHEMES.test(url) ? url : `http://${url}`;
}

function canParseUrl(url: string): boolean {
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}

// Entities Telegram detects on its own in texts users send: /commands, @mentions, #hashtags
// and links. Bots rely on bot_command at offset 0 to route commands.
const AUTO_ENTITY_PATTERN =
  /(?<=^|[\s(])(?:(\/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?)|(@[A-Za-z0-9_]{5,32})|(#[\p{L}\p{N}_]+)|(https?:\/\/[^\s]+))/gu;

export function detectEntities(text: string): MessageEntity[] {
  const entities: MessageEntity[] = [];
  for (const match of text.matchAll(AUTO_ENTITY_PATTERN)) {
    const [whole, command, mention, hashtag] = match;
    const type = command ? 'bot_command' : mention ? 'mention' : hashtag ? 'hashtag' : 'url';
    entities.push({ type, offset: match.index ?? 0, length: whole.length });
  }
  return entities;
}
