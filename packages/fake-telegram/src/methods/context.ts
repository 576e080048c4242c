// What a method handler gets: the bot, its typed parameters, the shared state, and helpers
// for the lookups most methods share (target chat, topic, replied message, own message).
import type { Core } from '../core.js';
import { ApiError, badRequest } from '../errors.js';
import type { Params } from '../http/params.js';
import type { BotState } from '../state/bot.js';
import type { ChatLog, ChatMessage } from '../state/chat-log.js';
import { GENERAL_TOPIC_ID, type ChatRecord } from '../state/world.js';

export type Handler = (ctx: MethodContext) => unknown;

export interface Target {
  record: ChatRecord;
  log: ChatLog;
}

export class MethodContext {
  /** Optional "description" of a successful answer (setWebhook says "Webhook was set"). */
  description: string | undefined;

  constructor(
    readonly core: Core,
    readonly bot: BotState,
    readonly params: Params,
    /** Aborted when the HTTP client goes away. */
    readonly signal: AbortSignal,
  ) {}

  /** The chat named by chat_id; unknown chats are created or refused per the unknownChats option. */
  targetChat(): Target {
    const ref = this.params.chatId();
    let record = this.core.world.findChat(ref);
    if (!record) {
      if (typeof ref === 'string' || this.core.options.unknownChats === 'not_found') throw badRequest('chat not found');
      record = this.core.world.ensureChat(ref);
    }
    const peer = record.chat.type === 'private' ? this.core.world.users.get(record.chat.id) : undefined;
    if (peer?.is_bot && peer.id !== this.bot.user.id) throw new ApiError(403, "Forbidden: bot can't send messages to bots");
    return { record, log: this.bot.chatLog(record.chat) };
  }

  /** message_thread_id, checked against the chat's topics when it has any. */
  threadId(target: Target): number | undefined {
    const threadId = this.params.integer('message_thread_id');
    if (threadId === undefined) return undefined;
    const topics = target.record.topics;
    if (topics && !topics.has(threadId)) throw badRequest('message thread not found');
    // Messages in a forum's General topic carry no message_thread_id.
    return topics && threadId === GENERAL_TOPIC_ID ? undefined : threadId;
  }

  /** reply_parameters (or the older reply_to_message_id / allow_sending_without_reply). */
  replyTarget(target: Target): ChatMessage | undefined {
    const parameters = this.params.json<{ message_id?: unknown; allow_sending_without_reply?: unknown }>(
      'reply_parameters',
      "can't parse reply parameters JSON object",
    );
    const rawId = parameters?.message_id ?? this.params.integer('reply_to_message_id');
    if (rawId === undefined) return undefined;
    const messageId = Number(rawId);
    const allowWithout = parameters?.allow_sending_without_reply === true || this.params.boolean('allow_sending_without_reply');
    const replied = target.log.find(messageId);
    if (!replied && !allowWithout) throw badRequest('message to be replied not found');
    return replied;
  }

  /** The message named by chat_id + message_id, for edits. Inline messages are not modelled. */
  ownMessage(notFound: string): { target: Target; message: ChatMessage } {
    if (this.params.has('inline_message_id')) throw badRequest('MESSAGE_ID_INVALID');
    const target = this.existingChat();
    const messageId = this.params.requireInteger('message_id', 'message identifier is not specified');
    const message = target.log.find(messageId);
    if (!message) throw badRequest(notFound);
    if (!message.fromBot) throw badRequest("message can't be edited");
    return { target, message };
  }

  /** Like targetChat, but never creates a chat. */
  existingChat(): Target {
    const record = this.core.world.findChat(this.params.chatId());
    if (!record) throw badRequest('chat not found');
    return { record, log: this.bot.chatLog(record.chat) };
  }
}
