// The human side: builds the Updates a real user's actions would produce (a message, a
// command, a button press) and queues them for the bot.
import { randomBytes } from 'node:crypto';
import type { Core } from './core.js';
import { detectEntities } from './formatting/entities.js';
import type { BotState } from './state/bot.js';
import type { ChatMessage } from './state/chat-log.js';
import { GENERAL_TOPIC_ID, type ChatRecord, type UserRef } from './state/world.js';
import type { ChatType, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update, User } from './types.js';

export interface UserMessageOptions {
  /** The sender: an id, user fields, or omitted for tg.defaultUser. */
  from?: UserRef;
  /** The chat; omitted means the private chat with the sender (or the default group of `chatType`). */
  chatId?: number;
  /** Type of the chat when it is created by this call (default: inferred from the id). */
  chatType?: ChatType;
  /** Forum topic the message is posted in. */
  threadId?: number;
  /** message_id (in this chat) the message replies to. */
  replyTo?: number;
  /** Entities to send instead of the auto-detected ones (bot_command, mention, hashtag, url). */
  entities?: MessageEntity[];
}

export interface UserMessageResult {
  update: Update;
  message: ChatMessage;
}

export interface ButtonPress {
  chatId: number;
  /** The bot's message carrying the button; default: the latest one that has a matching button. */
  messageId?: number;
  /** Press the button with this callback_data ... */
  data?: string;
  /** ... or the button with this label. */
  text?: string;
  from?: UserRef;
}

export interface ButtonPressResult {
  update: Update;
  /** callback_query.id, to pass to answerCallbackQuery and to look the answer up. */
  queryId: string;
}

const defaultChats = new WeakMap<Core, Map<ChatType, ChatRecord>>();

function userChat(core: Core, user: User, options: UserMessageOptions): ChatRecord {
  if (options.chatId !== undefined) return core.world.ensureChat(options.chatId, options.chatType);
  const type = options.chatType ?? 'private';
  if (type === 'private') return core.world.privateChat(user);
  const defaults = defaultChats.get(core) ?? new Map<ChatType, ChatRecord>();
  defaultChats.set(core, defaults);
  const record = defaults.get(type) ?? core.world.createChat({ type, title: `Test ${type}` });
  defaults.set(type, record);
  return record;
}

export function userSendsMessage(core: Core, token: string, text: string, options: UserMessageOptions = {}): UserMessageResult {
  const bot = core.requireBot(token);
  const user = core.world.user(options.from);
  const record = userChat(core, user, options);
  if (options.threadId !== undefined && record.topics && !record.topics.has(options.threadId)) {
    throw new Error(`FakeTelegram: chat ${record.chat.id} has no topic ${options.threadId}`);
  }
  const log = bot.chatLog(record.chat);
  const replyTo = options.replyTo === undefined ? undefined : log.find(options.replyTo);
  if (options.replyTo !== undefined && !replyTo) throw new Error(`FakeTelegram: no message ${options.replyTo} in chat ${record.chat.id}`);
  const message = log.add({
    fromBot: false,
    from: user,
    kind: 'text',
    text,
    entities: options.entities ?? detectEntities(text),
    messageThreadId: options.threadId === GENERAL_TOPIC_ID ? undefined : options.threadId,
    replyTo,
    disableNotification: false,
    protectContent: false,
  });
  const update = queue(core, bot, { message: message.message });
  return { update, message };
}

/** "/command args"; in groups the command is addressed to the bot ("/command@botname"), as clients do. */
export function commandText(bot: BotState, command: string, args: string | undefined, addressed: boolean): string {
  const name = command.replace(/^\//, '');
  const mention = addressed ? `@${bot.user.username ?? ''}` : '';
  return `/${name}${mention}${args ? ` ${args}` : ''}`;
}

export function userPressesButton(core: Core, token: string, press: ButtonPress): ButtonPressResult {
  const bot = core.requireBot(token);
  const { message, button } = findButton(bot, press);
  const user = core.world.user(press.from);
  const queryId = newQueryId();
  bot.callbackQueries.set(queryId, {
    id: queryId,
    chatId: press.chatId,
    messageId: message.messageId,
    fromId: user.id,
    data: button.callback_data ?? '',
    createdAt: Date.now(),
  });
  const update = queue(core, bot, {
    callback_query: {
      id: queryId,
      from: user,
      message: structuredClone(message.message),
      chat_instance: bot.chatInstance(press.chatId),
      data: button.callback_data,
    },
  });
  return { update, queryId };
}

function findButton(bot: BotState, press: ButtonPress): { message: ChatMessage; button: InlineKeyboardButton } {
  const log = bot.chats.get(press.chatId);
  const candidates = (log?.messages ?? [])
    .filter((m) => m.fromBot && !m.deleted && (press.messageId === undefined || m.messageId === press.messageId))
    .reverse();
  for (const message of candidates) {
    const rows = (message.replyMarkup as InlineKeyboardMarkup | undefined)?.inline_keyboard ?? [];
    const button = rows.flat().find(
      (b) => b.callback_data !== undefined && (press.data === undefined || b.callback_data === press.data) && (press.text === undefined || b.text === press.text),
    );
    if (button) return { message, button };
  }
  const what = press.data !== undefined ? `callback_data "${press.data}"` : press.text !== undefined ? `text "${press.text}"` : 'a callback button';
  throw new Error(`FakeTelegram: no message${press.messageId ? ` ${press.messageId}` : ''} of the bot in chat ${press.chatId} has a button with ${what}`);
}

/** Callback query ids are opaque numeric strings on Telegram. */
function newQueryId(): string {
  return BigInt(`0x${randomBytes(8).toString('hex')}`).toString();
}

export function queue(core: Core, bot: BotState, body: Omit<Update, 'update_id'>): Update {
  const update = bot.updates.push(body);
  core.changed();
  return update;
}
