// @botpulse/fake-telegram: a Telegram Bot API stand-in on 127.0.0.1 for offline tests.
export { FakeTelegram, ChatView } from './fake-telegram.js';
export type { BotHandle, CallFilter, CreateBotOptions, CreatedChat, WaitOptions, WebhookState } from './fake-telegram.js';
export type { ApiCall, FakeTelegramOptions } from './core.js';
export { Faults } from './state/faults.js';
export type { Fault } from './state/faults.js';
export type { ChatAction, ChatMessage, MessageVersion } from './state/chat-log.js';
export type { CallbackAnswer } from './state/bot.js';
export type { WebhookDelivery } from './state/webhook.js';
export type { ChatSpec, UserRef, UserSpec } from './state/world.js';
export type { ButtonPress, ButtonPressResult, UserMessageOptions, UserMessageResult } from './user-api.js';
export { SUPPORTED_METHODS } from './methods/index.js';
export { parseHtml } from './formatting/html.js';
export { parseMarkdownV2, parseMarkdown } from './formatting/markdown.js';
export {
  CONFLICT_OTHER_POLLER, CONFLICT_WEBHOOK_ACTIVE, MESSAGE_NOT_MODIFIED, QUERY_TOO_OLD,
} from './errors.js';
export type * from './types.js';
