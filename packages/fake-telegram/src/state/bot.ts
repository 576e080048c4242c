// Everything the fake knows about one bot token: its account, update queue, webhook,
// chats, callback queries and settings changed through the API.
import { randomBytes } from 'node:crypto';
import type { Chat, User } from '../types.js';
import { ChatLog } from './chat-log.js';
import { UpdateQueue } from './update-queue.js';
import { WebhookDeliverer, type WebhookDelivery, type WebhookOptions } from './webhook.js';

export interface CallbackQueryRecord {
  id: string;
  chatId: number;
  messageId: number;
  fromId: number;
  data: string;
  createdAt: number;
  answer?: CallbackAnswer;
}

export interface CallbackAnswer {
  queryId: string;
  text?: string;
  showAlert: boolean;
  url?: string;
  cacheTime: number;
  at: number;
}

export interface BotCommand {
  command: string;
  description: string;
}

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

/** A token shaped like a real one: "<bot id>:<35 characters of [A-Za-z0-9_-]>". */
export function generateToken(botId: number): string {
  const bytes = randomBytes(35);
  const secret = [...bytes].map((b) => TOKEN_ALPHABET[b % TOKEN_ALPHABET.length]).join('');
  return `${botId}:${secret}`;
}

export class BotState {
  readonly updates = new UpdateQueue();
  readonly webhook: WebhookDeliverer;
  readonly chats = new Map<number, ChatLog>();
  readonly callbackQueries = new Map<string, CallbackQueryRecord>();
  readonly callbackAnswers: CallbackAnswer[] = [];
  readonly deliveries: WebhookDelivery[] = [];
  /**
   * Fields getWebhookInfo answers instead of the real ones (set by tests through
   * `FakeTelegram.setWebhookInfo`): how a webhook Telegram cannot reach looks to the bot, without
   * making the delivery fail for real. Undefined: the real state.
   */
  webhookInfoOverride: Record<string, unknown> | undefined;
  /** setMyCommands storage, keyed by scope and language (see commandKey). */
  readonly commands = new Map<string, BotCommand[]>();
  /** setMyName / setMyDescription / setMyShortDescription, keyed by "<field>:<language>". */
  readonly texts = new Map<string, string>();
  private readonly chatInstances = new Map<number, string>();

  constructor(
    readonly token: string,
    readonly user: User,
    webhookOptions: Omit<WebhookOptions, 'onDelivery'>,
    /** Called after each webhook delivery attempt, so waiters can re-check. */
    onChange: () => void,
  ) {
    this.webhook = new WebhookDeliverer(this.updates, {
      ...webhookOptions,
      onDelivery: (delivery) => {
        this.deliveries.push(delivery);
        onChange();
      },
    });
    this.updates.onQueued = () => this.webhook.kick();
  }

  chatLog(chat: Chat): ChatLog {
    let log = this.chats.get(chat.id);
    if (!log) {
      log = new ChatLog(chat);
      this.chats.set(chat.id, log);
    }
    return log;
  }

  /** callback_query.chat_instance: an opaque id, stable for a (bot, chat) pair. */
  chatInstance(chatId: number): string {
    let instance = this.chatInstances.get(chatId);
    if (!instance) {
      instance = String(BigInt.asIntN(64, BigInt(`0x${randomBytes(8).toString('hex')}`)));
      this.chatInstances.set(chatId, instance);
    }
    return instance;
  }

  dispose(): void {
    // A pending long poll ends on its own when the server destroys its socket.
    this.webhook.dispose();
  }
}
