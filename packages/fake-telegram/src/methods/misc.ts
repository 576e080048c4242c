// The bot account, callback answers, chat actions, commands and chat information. Methods a
// bot calls "on the side" answer plausibly so that code using them runs unchanged.
import { badRequest, QUERY_TOO_OLD } from '../errors.js';
import type { BotCommand } from '../state/bot.js';
import { GENERAL_TOPIC_ID } from '../state/world.js';
import type { Handler, MethodContext } from './context.js';

export const getMe: Handler = (ctx) => ctx.bot.user;

export const answerCallbackQuery: Handler = (ctx) => {
  const { bot, params, core } = ctx;
  const id = params.string('callback_query_id') ?? '';
  const query = bot.callbackQueries.get(id);
  // A query can be answered once, and only while it is fresh.
  if (!query || query.answer || Date.now() - query.createdAt > core.options.callbackQueryTtlMs) {
    throw badRequest(QUERY_TOO_OLD);
  }
  const text = params.string('text');
  if (text !== undefined && text.length > 200) throw badRequest('MESSAGE_TOO_LONG');
  query.answer = {
    queryId: id,
    showAlert: params.boolean('show_alert'),
    cacheTime: params.integer('cache_time') ?? 0,
    at: Date.now(),
    ...(text !== undefined ? { text } : {}),
    ...(params.string('url') !== undefined ? { url: params.string('url') } : {}),
  };
  bot.callbackAnswers.push(query.answer);
  return true;
};

const CHAT_ACTIONS = new Set([
  'typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice', 'upload_document',
  'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note',
]);

export const sendChatAction: Handler = (ctx) => {
  const action = ctx.params.string('action') ?? '';
  if (!CHAT_ACTIONS.has(action)) throw badRequest('wrong parameter action in request');
  const target = ctx.targetChat();
  const messageThreadId = ctx.threadId(target);
  target.log.actions.push({ action, at: Date.now(), ...(messageThreadId !== undefined ? { messageThreadId } : {}) });
  return true;
};

/** Commands are stored per scope and language, as setMyCommands documents. */
function commandKey(ctx: MethodContext): string {
  const scope = ctx.params.json<Record<string, unknown>>('scope', "can't parse BotCommandScope JSON object") ?? { type: 'default' };
  const language = ctx.params.string('language_code') ?? '';
  return `${String(scope['type'])}:${String(scope['chat_id'] ?? '')}:${String(scope['user_id'] ?? '')}:${language}`;
}

export const setMyCommands: Handler = (ctx) => {
  const commands = ctx.params.json<BotCommand[]>('commands', "can't parse commands JSON object");
  if (!Array.isArray(commands)) throw badRequest('commands is empty');
  if (commands.length > 100) throw badRequest('too many commands specified');
  for (const command of commands) {
    if (typeof command?.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(command.command)) throw badRequest('BOT_COMMAND_INVALID');
    if (typeof command.description !== 'string' || command.description.length < 1 || command.description.length > 256) {
      throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
    }
  }
  ctx.bot.commands.set(commandKey(ctx), commands.map(({ command, description }) => ({ command, description })));
  return true;
};

export const getMyCommands: Handler = (ctx) => ctx.bot.commands.get(commandKey(ctx)) ?? [];

export const deleteMyCommands: Handler = (ctx) => {
  ctx.bot.commands.delete(commandKey(ctx));
  return true;
};

/** setMyName / getMyName and friends: one text per language. */
function botText(field: string, max: number): Record<string, Handler> {
  const camel = field.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
  const method = camel[0]?.toUpperCase() + camel.slice(1);
  const key = (ctx: MethodContext): string => `${field}:${ctx.params.string('language_code') ?? ''}`;
  return {
    [`setMy${method}`]: (ctx) => {
      const value = ctx.params.string(field) ?? '';
      if (value.length > max) throw badRequest(`bot ${field.replace('_', ' ')} is too long`);
      ctx.bot.texts.set(key(ctx), value);
      return true;
    },
    [`getMy${method}`]: (ctx) => ({ [field]: ctx.bot.texts.get(key(ctx)) ?? (field === 'name' ? ctx.bot.user.first_name : '') }),
  };
}

export const botTexts: Record<string, Handler> = {
  ...botText('name', 64),
  ...botText('description', 512),
  ...botText('short_description', 120),
};

export const getChat: Handler = (ctx) => {
  const { record } = ctx.existingChat();
  return { ...record.chat, accent_color_id: 0, max_reaction_count: 11, accepted_gift_types: { unlimited_gifts: false, limited_gifts: false, unique_gifts: false, premium_subscription: false } };
};

export const getChatMember: Handler = (ctx) => {
  ctx.existingChat();
  const userId = ctx.params.requireInteger('user_id', 'user_id is empty');
  const user = userId === ctx.bot.user.id ? ctx.bot.user : ctx.core.world.user(userId);
  return { status: 'member', user };
};

export const getChatAdministrators: Handler = (ctx) => {
  const { record } = ctx.existingChat();
  if (record.chat.type === 'private') throw badRequest('there are no administrators in the private chat');
  return [{ status: 'creator', user: ctx.core.world.defaultUser, is_anonymous: false }];
};

export const getChatMemberCount: Handler = (ctx) => {
  const { record } = ctx.existingChat();
  return record.chat.type === 'private' ? 2 : 3;
};

export const createForumTopic: Handler = (ctx) => {
  const { record } = ctx.existingChat();
  const name = ctx.params.string('name') ?? '';
  if (name.length < 1 || name.length > 128) throw badRequest('TOPIC_TITLE_EMPTY');
  if (!record.chat.is_forum) throw badRequest('the chat is not a forum');
  const topic = ctx.core.world.createTopic(record.chat.id, name);
  return { message_thread_id: topic.threadId, name, icon_color: ctx.params.integer('icon_color') ?? 7322096 };
};

function topicChange(apply: (ctx: MethodContext, chatId: number, threadId: number) => void): Handler {
  return (ctx) => {
    const { record } = ctx.existingChat();
    const threadId = ctx.params.requireInteger('message_thread_id', 'message thread not found');
    if (!record.topics?.has(threadId) || threadId === GENERAL_TOPIC_ID) throw badRequest('message thread not found');
    apply(ctx, record.chat.id, threadId);
    return true;
  };
}

export const topicMethods: Record<string, Handler> = {
  deleteForumTopic: topicChange((ctx, chatId, threadId) => ctx.core.world.deleteTopic(chatId, threadId)),
  closeForumTopic: topicChange((ctx, chatId, threadId) => setTopicClosed(ctx, chatId, threadId, true)),
  reopenForumTopic: topicChange((ctx, chatId, threadId) => setTopicClosed(ctx, chatId, threadId, false)),
  editForumTopic: topicChange((ctx, chatId, threadId) => {
    const topic = ctx.core.world.chats.get(chatId)?.topics?.get(threadId);
    const name = ctx.params.string('name');
    if (topic && name) topic.name = name;
  }),
};

function setTopicClosed(ctx: MethodContext, chatId: number, threadId: number, closed: boolean): void {
  const topic = ctx.core.world.chats.get(chatId)?.topics?.get(threadId);
  if (topic) topic.closed = closed;
}

/** Methods answered with `true` after checking that the chat exists. */
const CHAT_TRUE_METHODS = [
  'leaveChat', 'banChatMember', 'unbanChatMember', 'restrictChatMember', 'promoteChatMember', 'setChatTitle',
  'setChatDescription', 'setChatPermissions', 'approveChatJoinRequest', 'declineChatJoinRequest', 'setMessageReaction',
  'setChatAdministratorCustomTitle', 'deleteChatPhoto', 'setChatStickerSet', 'deleteChatStickerSet',
];

/** Methods answered with `true` without any check. */
const TRUE_METHODS = [
  'logOut', 'close', 'setChatMenuButton', 'setMyDefaultAdministratorRights', 'answerInlineQuery',
  'answerShippingQuery', 'answerPreCheckoutQuery',
];

export const plainMethods: Record<string, Handler> = {
  ...Object.fromEntries(CHAT_TRUE_METHODS.map((name) => [name, (ctx: MethodContext) => (ctx.existingChat(), true)])),
  ...Object.fromEntries(TRUE_METHODS.map((name) => [name, () => true])),
  getChatMenuButton: () => ({ type: 'default' }),
  getMyDefaultAdministratorRights: () => ({
    is_anonymous: false, can_manage_chat: false, can_delete_messages: false, can_manage_video_chats: false,
    can_restrict_members: false, can_promote_members: false, can_change_info: false, can_invite_users: false,
    can_post_stories: false, can_edit_stories: false, can_delete_stories: false,
  }),
  getUserProfilePhotos: () => ({ total_count: 0, photos: [] }),
  exportChatInviteLink: (ctx) => `https://t.me/+fake${Math.abs(ctx.existingChat().record.chat.id)}`,
};
