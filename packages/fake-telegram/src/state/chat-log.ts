// What one bot sees of one chat: every message (from the bot and from users) with its edit
// history, plus chat actions. Message ids increase per (bot, chat) and are shared by the
// bot's and the users' messages, as in a private chat on Telegram.
import type { Chat, InlineKeyboardMarkup, Message, MessageEntity, ReplyMarkup, User } from '../types.js';

/** One state of a message; `versions[0]` is the original, the last one is current. */
export interface MessageVersion {
  text?: string;
  caption?: string;
  entities: MessageEntity[];
  parseMode?: string;
  replyMarkup?: InlineKeyboardMarkup;
  at: number;
}

export interface ChatMessage {
  readonly messageId: number;
  readonly chatId: number;
  /** True for messages the bot sent through the API, false for messages of users. */
  readonly fromBot: boolean;
  readonly from: User;
  /** "text", "photo", "document", ... */
  readonly kind: string;
  /** Current text after entity parsing (undefined for media). */
  text?: string;
  caption?: string;
  /** Current entities of the text or caption. */
  entities: MessageEntity[];
  /** parse_mode of the latest send/edit, as the bot passed it. */
  parseMode?: string;
  /** The text/caption exactly as the bot sent it (before parsing), latest version. */
  sourceText?: string;
  /** reply_markup as sent: an inline keyboard, or a reply keyboard / remove / force_reply. */
  replyMarkup?: ReplyMarkup;
  readonly messageThreadId?: number;
  readonly disableNotification: boolean;
  readonly protectContent: boolean;
  readonly replyToMessageId?: number;
  readonly linkPreviewOptions?: Record<string, unknown>;
  /** Unix seconds, as in Message.date. */
  readonly date: number;
  /** Milliseconds (Date.now()) when the message was created. */
  readonly sentAt: number;
  readonly versions: MessageVersion[];
  edited: boolean;
  deleted: boolean;
  deletedAt?: number;
  pinned: boolean;
  /** The Bot API Message object in its current state. */
  message: Message;
}

export interface ChatAction {
  action: string;
  messageThreadId?: number;
  at: number;
}

export type NewMessage = Omit<ChatMessage, 'messageId' | 'chatId' | 'date' | 'sentAt' | 'versions' | 'edited' | 'deleted' | 'pinned' | 'message'> & {
  replyTo?: ChatMessage;
  /** Extra Message fields (photo, document, forward_origin, ...). */
  extra?: Record<string, unknown>;
};

export class ChatLog {
  private nextId = 1;
  readonly messages: ChatMessage[] = [];
  readonly actions: ChatAction[] = [];

  constructor(readonly chat: Chat) {}

  add(input: NewMessage): ChatMessage {
    const now = Date.now();
    const { replyTo, extra, ...fields } = input;
    const record: ChatMessage = {
      ...fields,
      messageId: this.nextId++,
      chatId: this.chat.id,
      date: Math.floor(now / 1000),
      sentAt: now,
      versions: [],
      edited: false,
      deleted: false,
      pinned: false,
      message: { message_id: 0, date: 0, chat: this.chat },
    };
    if (replyTo) (record as { replyToMessageId?: number }).replyToMessageId = replyTo.messageId;
    record.versions.push(versionOf(record, now));
    record.message = buildMessage(record, this.chat, replyTo, extra);
    this.messages.push(record);
    return record;
  }

  /** A message that exists and was not deleted. */
  find(messageId: number): ChatMessage | undefined {
    return this.messages.find((m) => m.messageId === messageId && !m.deleted);
  }

  /** Applies an edit and records it as a new version; returns the new Message object. */
  edit(record: ChatMessage, change: Partial<Pick<ChatMessage, 'text' | 'caption' | 'entities' | 'parseMode' | 'sourceText' | 'replyMarkup'>>): Message {
    const now = Date.now();
    Object.assign(record, change);
    if ('replyMarkup' in change && change.replyMarkup === undefined) delete record.replyMarkup;
    record.edited = true;
    record.versions.push(versionOf(record, now));
    const message: Message = { ...record.message, edit_date: Math.floor(now / 1000) };
    setContent(message, record);
    record.message = message;
    return message;
  }

  delete(record: ChatMessage): void {
    record.deleted = true;
    record.deletedAt = Date.now();
  }
}

export function inlineKeyboardOf(markup: ReplyMarkup | undefined): InlineKeyboardMarkup | undefined {
  const rows = (markup as InlineKeyboardMarkup | undefined)?.inline_keyboard;
  return Array.isArray(rows) && rows.some((row) => row.length > 0) ? (markup as InlineKeyboardMarkup) : undefined;
}

function versionOf(record: ChatMessage, at: number): MessageVersion {
  const version: MessageVersion = { entities: record.entities, at };
  if (record.text !== undefined) version.text = record.text;
  if (record.caption !== undefined) version.caption = record.caption;
  if (record.parseMode !== undefined) version.parseMode = record.parseMode;
  const keyboard = inlineKeyboardOf(record.replyMarkup);
  if (keyboard) version.replyMarkup = keyboard;
  return version;
}

function buildMessage(record: ChatMessage, chat: Chat, replyTo?: ChatMessage, extra?: Record<string, unknown>): Message {
  const message: Message = { message_id: record.messageId, from: record.from, chat: { ...chat }, date: record.date };
  if (record.messageThreadId !== undefined) {
    message.message_thread_id = record.messageThreadId;
    if (chat.is_forum) message.is_topic_message = true;
  }
  if (replyTo) {
    // A replied-to message is embedded without its own reply_to_message, as Telegram does.
    const { reply_to_message: _nested, ...inner } = replyTo.message;
    message.reply_to_message = inner;
  }
  if (record.protectContent) message.has_protected_content = true;
  Object.assign(message, extra);
  setContent(message, record);
  return message;
}

/** Writes text/caption, entities and the inline keyboard of `record` into `message`. */
function setContent(message: Message, record: ChatMessage): void {
  delete message.entities;
  delete message.caption_entities;
  delete message.reply_markup;
  if (record.text !== undefined) {
    message.text = record.text;
    if (record.entities.length > 0) message.entities = record.entities;
  } else if (record.caption !== undefined) {
    message.caption = record.caption;
    if (record.entities.length > 0) message.caption_entities = record.entities;
  } else {
    delete message.caption;
  }
  const keyboard = inlineKeyboardOf(record.replyMarkup);
  if (keyboard) message.reply_markup = keyboard;
}
