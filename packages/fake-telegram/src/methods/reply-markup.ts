// reply_markup validation. The check that matters most for alert bots: callback_data must be
// 1..64 BYTES (UTF-8), otherwise Telegram answers "Bad Request: BUTTON_DATA_INVALID".
import { badRequest } from '../errors.js';
import { isValidLink } from '../formatting/entities.js';
import type { Params } from '../http/params.js';
import type { InlineKeyboardButton, ReplyMarkup } from '../types.js';

const BUTTON_ACTIONS = [
  'url', 'callback_data', 'web_app', 'login_url', 'switch_inline_query', 'switch_inline_query_current_chat',
  'switch_inline_query_chosen_chat', 'copy_text', 'callback_game', 'pay',
];

export const MAX_CALLBACK_DATA_BYTES = 64;

export function readReplyMarkup(params: Params): ReplyMarkup | undefined {
  const markup = params.json<Record<string, unknown>>('reply_markup', "can't parse reply keyboard markup JSON object");
  if (markup === undefined) return undefined;
  if (typeof markup !== 'object' || Array.isArray(markup)) throw badRequest("can't parse reply keyboard markup JSON object");
  if ('inline_keyboard' in markup) validateInlineKeyboard(markup['inline_keyboard']);
  else if (!('keyboard' in markup || 'remove_keyboard' in markup || 'force_reply' in markup)) {
    throw badRequest("can't parse reply keyboard markup JSON object");
  }
  return markup;
}

function validateInlineKeyboard(rows: unknown): void {
  if (!Array.isArray(rows) || !rows.every(Array.isArray)) {
    throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays');
  }
  for (const row of rows as unknown[][]) for (const button of row) validateButton(button);
}

function validateButton(value: unknown): void {
  if (typeof value !== 'object' || value === null) throw badRequest("can't parse inline keyboard button: InlineKeyboardButton must be an Object");
  const button = value as InlineKeyboardButton;
  if (typeof button.text !== 'string') throw badRequest(`can't parse inline keyboard button: Field "text" must be of type String`);
  const actions = BUTTON_ACTIONS.filter((field) => button[field] !== undefined);
  if (actions.length === 0) throw badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
  if (button.callback_data !== undefined) validateCallbackData(button.callback_data);
  if (button.url !== undefined && (typeof button.url !== 'string' || !isValidLink(button.url))) {
    throw badRequest(`inline keyboard button URL '${String(button.url)}' is invalid: Wrong HTTP URL`);
  }
}

function validateCallbackData(data: unknown): void {
  if (typeof data !== 'string') throw badRequest('BUTTON_DATA_INVALID');
  const bytes = Buffer.byteLength(data, 'utf8');
  if (bytes < 1 || bytes > MAX_CALLBACK_DATA_BYTES) throw badRequest('BUTTON_DATA_INVALID');
}

/** Key-order independent JSON, to compare markups the way Telegram compares content. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
