// Reading Telegram context out of a raw Update: its type, chat, sender. Shared by the grammY and
// Telegraf plugins (both hand us the raw update object).
import type { TelegramContext } from '@botpulse/protocol';

/** The parts of a Telegram Update the SDK reads; any object with `update_id` fits. */
export interface UpdateLike {
  update_id: number;
  [key: string]: unknown;
}

interface ChatLike {
  id: number | string;
  type?: string;
}
interface UserLike {
  id: number;
  username?: string;
  first_name?: string;
  last_name?: string;
  language_code?: string;
}

/**
 * The update's type: its one key besides `update_id` (`message`, `callback_query`, ...).
 * @example updateType(ctx.update) // 'callback_query'
 */
export function updateType(update: UpdateLike): string {
  for (const key in update) if (key !== 'update_id') return key;
  return 'unknown';
}

function payloadOf(update: UpdateLike): Record<string, any> | undefined {
  const payload = update[updateType(update)];
  return typeof payload === 'object' && payload !== null ? (payload as Record<string, any>) : undefined;
}

/** The chat an update happened in, if any. */
export function chatOf(update: UpdateLike): ChatLike | undefined {
  const payload = payloadOf(update);
  if (!payload) return undefined;
  const chat = payload['chat'] ?? payload['message']?.chat;
  return chat && (typeof chat.id === 'number' || typeof chat.id === 'string') ? chat : undefined;
}

/** The user who caused an update, if any. */
export function senderOf(update: UpdateLike): UserLike | undefined {
  const payload = payloadOf(update);
  if (!payload) return undefined;
  const from = payload['from'] ?? payload['user'];
  return from && typeof from.id === 'number' ? from : undefined;
}

/** The text (or caption) a user sent, for `captureMessageText: true`. */
export function textOf(update: UpdateLike): string | undefined {
  const payload = payloadOf(update);
  const text = payload?.['text'] ?? payload?.['caption'] ?? payload?.['data'] ?? payload?.['query'];
  return typeof text === 'string' ? text : undefined;
}

/**
 * `contexts.telegram` for an update: ids, types and the sender's names and language.
 * @example telegramContext({ update_id: 1, message: { chat: { id: 5, type: 'private' }, from: { id: 5 } } })
 */
export function telegramContext(update: UpdateLike, extra: { role?: string | undefined } = {}): TelegramContext {
  const context: TelegramContext = { update_id: update.update_id, update_type: updateType(update) };
  const chat = chatOf(update);
  if (chat) {
    context.chat_id = chat.id;
    if (chat.type) context.chat_type = chat.type;
    if (chat.type === 'group' || chat.type === 'supergroup') context.group_id = chat.id;
  }
  const user = senderOf(update);
  if (user) {
    context.user_id = user.id;
    if (user.username) context.username = user.username;
    if (user.first_name) context.first_name = user.first_name;
    if (user.last_name) context.last_name = user.last_name;
    if (user.language_code) context.language_code = user.language_code;
  }
  if (extra.role) context.role = extra.role;
  return context;
}
