// The method table. Telegram matches method names case-insensitively, so lookups are lowercase;
// anything not listed here answers 404 "Not Found", like an unknown method on the real API.
import type { Handler } from './context.js';
import { getFile, mediaMethods, otherSenders } from './media.js';
import {
  copyMessage, deleteMessage, deleteMessages, editMessageCaption, editMessageReplyMarkup, editMessageText,
  forwardMessage, pinChatMessage, sendMessage, unpinAllChatMessages, unpinChatMessage,
} from './messages.js';
import {
  answerCallbackQuery, botTexts, createForumTopic, deleteMyCommands, getChat, getChatAdministrators,
  getChatMember, getChatMemberCount, getMe, getMyCommands, plainMethods, sendChatAction, setMyCommands, topicMethods,
} from './misc.js';
import { deleteWebhook, getUpdates, getWebhookInfo, setWebhook } from './updates.js';

const HANDLERS: Record<string, Handler> = {
  getMe,
  getUpdates, setWebhook, deleteWebhook, getWebhookInfo,
  sendMessage, editMessageText, editMessageCaption, editMessageReplyMarkup, deleteMessage, deleteMessages,
  copyMessage, forwardMessage, pinChatMessage, unpinChatMessage, unpinAllChatMessages,
  ...mediaMethods, ...otherSenders, getFile,
  answerCallbackQuery, sendChatAction,
  setMyCommands, getMyCommands, deleteMyCommands, ...botTexts,
  getChat, getChatMember, getChatAdministrators, getChatMemberCount,
  createForumTopic, ...topicMethods,
  ...plainMethods,
};

/** Every Bot API method the fake answers, by its canonical name. */
export const SUPPORTED_METHODS: readonly string[] = Object.keys(HANDLERS).sort();

const BY_LOWERCASE = new Map(Object.entries(HANDLERS).map(([name, handler]) => [name.toLowerCase(), handler]));

export function findHandler(method: string): Handler | undefined {
  return BY_LOWERCASE.get(method.toLowerCase());
}
