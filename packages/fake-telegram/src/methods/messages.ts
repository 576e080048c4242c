// Text messages: sending, editing, deleting, pinning, copying. Validation happens in the order
// Telegram applies it: the request content first (text, markup), then the chat, the topic
// and the replied-to message.
import { badRequest, MESSAGE_NOT_MODIFIED } from '../errors.js';
import { formatCaption, formatMessageText } from '../formatting/format.js';
import { inlineKeyboardOf, type ChatMessage } from '../state/chat-log.js';
import type { FormattedText, InlineKeyboardMarkup, MessageEntity } from '../types.js';
import type { Handler, MethodContext } from './context.js';
import { canonicalJson, readReplyMarkup } from './reply-markup.js';

function entitiesParam(ctx: MethodContext, name = 'entities'): MessageEntity[] | undefined {
  return ctx.params.json<MessageEntity[]>(name, `can't parse ${name} JSON object`);
}

export const sendMessage: Handler = (ctx) => {
  const { params } = ctx;
  const parseMode = params.string('parse_mode');
  const source = params.string('text');
  const formatted = formatMessageText(source, parseMode, entitiesParam(ctx));
  const replyMarkup = readReplyMarkup(params);
  const target = ctx.targetChat();
  const record = target.log.add({
    fromBot: true,
    from: ctx.bot.user,
    kind: 'text',
    text: formatted.text,
    entities: formatted.entities,
    parseMode,
    sourceText: source,
    replyMarkup,
    messageThreadId: ctx.threadId(target),
    replyTo: ctx.replyTarget(target),
    disableNotification: params.boolean('disable_notification'),
    protectContent: params.boolean('protect_content'),
    linkPreviewOptions: params.json('link_preview_options', "can't parse link preview options JSON object"),
  });
  return record.message;
};

/** Telegram refuses an edit that changes nothing, comparing text, entities and keyboard. */
function assertModified(message: ChatMessage, content: FormattedText | undefined, keyboard: InlineKeyboardMarkup | undefined): void {
  const current = message.text ?? message.caption;
  const sameContent = content === undefined || (content.text === current && canonicalJson(content.entities) === canonicalJson(message.entities));
  const sameMarkup = canonicalJson(keyboard ?? null) === canonicalJson(inlineKeyboardOf(message.replyMarkup) ?? null);
  if (sameContent && sameMarkup) throw badRequest(MESSAGE_NOT_MODIFIED);
}

function keyboardParam(ctx: MethodContext): InlineKeyboardMarkup | undefined {
  return inlineKeyboardOf(readReplyMarkup(ctx.params));
}

export const editMessageText: Handler = (ctx) => {
  const parseMode = ctx.params.string('parse_mode');
  const source = ctx.params.string('text');
  const formatted = formatMessageText(source, parseMode, entitiesParam(ctx));
  const keyboard = keyboardParam(ctx);
  const { target, message } = ctx.ownMessage('message to edit not found');
  if (message.text === undefined) throw badRequest('there is no text in the message to edit');
  // Omitting reply_markup in an edit removes the keyboard, as on Telegram.
  assertModified(message, formatted, keyboard);
  return target.log.edit(message, {
    text: formatted.text, entities: formatted.entities, parseMode, sourceText: source, replyMarkup: keyboard,
  });
};

export const editMessageCaption: Handler = (ctx) => {
  const parseMode = ctx.params.string('parse_mode');
  const source = ctx.params.string('caption');
  const formatted = formatCaption(source, parseMode, entitiesParam(ctx, 'caption_entities'));
  const keyboard = keyboardParam(ctx);
  const { target, message } = ctx.ownMessage('message to edit not found');
  if (message.kind === 'text') throw badRequest('there is no caption in the message to edit');
  const content = formatted ?? { text: '', entities: [] };
  assertModified({ ...message, caption: message.caption ?? '' }, content, keyboard);
  return target.log.edit(message, {
    caption: formatted?.text, entities: content.entities, parseMode, sourceText: source, replyMarkup: keyboard,
  });
};

export const editMessageReplyMarkup: Handler = (ctx) => {
  const keyboard = keyboardParam(ctx);
  const { target, message } = ctx.ownMessage('message to edit not found');
  assertModified(message, undefined, keyboard);
  return target.log.edit(message, { replyMarkup: keyboard });
};

export const deleteMessage: Handler = (ctx) => {
  const target = ctx.existingChat();
  const messageId = ctx.params.requireInteger('message_id', 'message identifier is not specified');
  const message = target.log.find(messageId);
  if (!message) throw badRequest('message to delete not found');
  target.log.delete(message);
  return true;
};

export const deleteMessages: Handler = (ctx) => {
  const target = ctx.existingChat();
  const ids = ctx.params.json<unknown[]>('message_ids', "can't parse message identifiers JSON object") ?? [];
  for (const id of ids) {
    const message = target.log.find(Number(id));
    if (message) target.log.delete(message);
  }
  return true;
};

export const pinChatMessage: Handler = (ctx) => {
  const target = ctx.existingChat();
  const message = target.log.find(ctx.params.requireInteger('message_id', 'message identifier is not specified'));
  if (!message) throw badRequest('message to pin not found');
  message.pinned = true;
  return true;
};

export const unpinChatMessage: Handler = (ctx) => {
  const target = ctx.existingChat();
  const messageId = ctx.params.integer('message_id');
  const pinned = target.log.messages.filter((m) => m.pinned && (messageId === undefined || m.messageId === messageId));
  const message = messageId === undefined ? pinned[pinned.length - 1] : pinned[0];
  if (message) message.pinned = false;
  return true;
};

export const unpinAllChatMessages: Handler = (ctx) => {
  for (const message of ctx.existingChat().log.messages) message.pinned = false;
  return true;
};

/** copyMessage and forwardMessage: re-send an existing message of a chat the bot knows. */
function copyFrom(ctx: MethodContext, forward: boolean): ChatMessage {
  const fromChatId = ctx.params.integer('from_chat_id');
  if (fromChatId === undefined) throw badRequest('from_chat_id is empty');
  const messageId = ctx.params.requireInteger('message_id', 'message identifier is not specified');
  const source = ctx.bot.chats.get(fromChatId)?.find(messageId);
  if (!source) throw badRequest(forward ? 'message to forward not found' : 'message to copy not found');
  const target = ctx.targetChat();
  const extra: Record<string, unknown> = forward
    ? { forward_origin: { type: 'user', sender_user: source.from, date: source.date } }
    : {};
  const { photo, document, video, audio, voice, animation, sticker } = source.message;
  Object.assign(extra, JSON.parse(JSON.stringify({ photo, document, video, audio, voice, animation, sticker })));
  return target.log.add({
    fromBot: true,
    from: ctx.bot.user,
    kind: source.kind,
    text: source.text,
    caption: source.caption,
    entities: source.entities,
    replyMarkup: forward ? undefined : readReplyMarkup(ctx.params),
    messageThreadId: ctx.threadId(target),
    disableNotification: ctx.params.boolean('disable_notification'),
    protectContent: ctx.params.boolean('protect_content'),
    extra,
  });
}

export const copyMessage: Handler = (ctx) => ({ message_id: copyFrom(ctx, false).messageId });
export const forwardMessage: Handler = (ctx) => copyFrom(ctx, true).message;
