// The public face of the fake: start/stop, bots, the user-side actions, inspection, waiting,
// and fault injection. Tests talk to this class; bots talk HTTP to `apiRoot`.
import { Core, resolveOptions, type ApiCall, type FakeTelegramOptions } from './core.js';
import { ApiError } from './errors.js';
import { createRequestListener, executeWebhookReply } from './http/dispatcher.js';
import { Listener } from './http/listener.js';
import { BotState, generateToken, type CallbackAnswer } from './state/bot.js';
import type { ChatAction, ChatMessage } from './state/chat-log.js';
import { Faults, type Fault } from './state/faults.js';
import type { WebhookDelivery } from './state/webhook.js';
import type { ChatSpec, UserSpec } from './state/world.js';
import type { Chat, Update, User } from './types.js';
import {
  commandText, queue, userPressesButton, userSendsMessage,
  type ButtonPress, type ButtonPressResult, type UserMessageOptions, type UserMessageResult,
} from './user-api.js';

export interface CreateBotOptions {
  /** A fixed token; its digits before ":" become the bot id. Default: a fresh realistic token. */
  token?: string;
  id?: number;
  /** Default "fake<N>_bot". */
  username?: string;
  firstName?: string;
  canJoinGroups?: boolean;
  canReadAllGroupMessages?: boolean;
}

export interface BotHandle {
  token: string;
  id: number;
  username: string;
  firstName: string;
  /** The bot's User object, as getMe returns it. */
  user: User;
}

export interface CreatedChat {
  id: number;
  chat: Chat;
  /** Thread ids of the topics created with the chat, by name. */
  topics: Record<string, number>;
}

export interface CallFilter {
  token?: string;
  /** Case-insensitive. */
  method?: string;
  ok?: boolean;
}

export interface WaitOptions {
  /** Default 30 000 ms: a guard against a hang, long enough for a loaded CI machine. */
  timeoutMs?: number;
}

export interface WebhookState {
  url: string;
  secretToken?: string;
  pendingUpdateCount: number;
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

const describeWait = (what: string | (() => string)): string => (typeof what === 'function' ? what() : what);

/** A live, read-only view of what one bot sees in one chat. */
export class ChatView {
  constructor(
    private readonly core: Core,
    readonly token: string,
    readonly chatId: number,
  ) {}

  private get all(): ChatMessage[] {
    return this.core.bots.get(this.token)?.chats.get(this.chatId)?.messages ?? [];
  }

  get chat(): Chat | undefined {
    return this.core.world.chats.get(this.chatId)?.chat;
  }

  /** Messages the bot sent, in order, deleted ones included (see `deleted`). */
  get messages(): ChatMessage[] {
    return this.all.filter((m) => m.fromBot);
  }

  /** Every message of the chat, the users' included. */
  get history(): ChatMessage[] {
    return [...this.all];
  }

  get lastMessage(): ChatMessage | undefined {
    return this.messages.at(-1);
  }

  /** Current texts (or captions) of the bot's messages that were not deleted. */
  get texts(): string[] {
    return this.messages.filter((m) => !m.deleted).map((m) => m.text ?? m.caption ?? '');
  }

  message(messageId: number): ChatMessage | undefined {
    return this.all.find((m) => m.messageId === messageId);
  }

  /** The bot's messages in one forum topic. */
  inThread(threadId: number): ChatMessage[] {
    return this.messages.filter((m) => m.messageThreadId === threadId);
  }

  get actions(): ChatAction[] {
    return [...(this.core.bots.get(this.token)?.chats.get(this.chatId)?.actions ?? [])];
  }
}

export class FakeTelegram {
  private constructor(
    private readonly core: Core,
    private readonly listener: Listener,
  ) {}

  static async start(options?: FakeTelegramOptions): Promise<FakeTelegram> {
    const core = new Core(resolveOptions(options));
    const listener = new Listener(createRequestListener(core), core.options.host);
    await listener.listen(core.options.port);
    core.isUp = true;
    return new FakeTelegram(core, listener);
  }

  get port(): number {
    return this.listener.port;
  }

  /** Pass this as grammY's `client.apiRoot` or Telegraf's `telegram.apiRoot`. */
  get apiRoot(): string {
    return `http://${this.core.options.host}:${this.listener.port}`;
  }

  /** The user that user-side actions use when no `from` is given. */
  get defaultUser(): User {
    return this.core.world.defaultUser;
  }

  get isUp(): boolean {
    return this.listener.isListening;
  }

  // ---- bots -------------------------------------------------------------------------------

  createBot(options: CreateBotOptions = {}): BotHandle {
    const { core } = this;
    const n = core.nextBotNumber();
    const tokenId = options.token !== undefined ? /^(\d+):/.exec(options.token)?.[1] : undefined;
    const id = options.id ?? (tokenId !== undefined ? Number(tokenId) : 7_000_000_000 + n * 1_000 + Math.floor(Math.random() * 1000));
    const token = options.token ?? generateToken(id);
    if (core.bots.has(token)) throw new Error(`FakeTelegram: a bot with token ${token} already exists`);
    const user: User = {
      id,
      is_bot: true,
      first_name: options.firstName ?? `Fake Bot ${n}`,
      username: options.username ?? `fake${n}_bot`,
      can_join_groups: options.canJoinGroups ?? true,
      can_read_all_group_messages: options.canReadAllGroupMessages ?? false,
      supports_inline_queries: false,
    };
    const bot: BotState = new BotState(
      token,
      user,
      {
        timeoutMs: core.options.webhookTimeoutMs,
        retryDelayMs: core.options.webhookRetryDelayMs,
        isPaused: () => core.stopped || !this.listener.isListening || bot.updates.isStalled,
        onReply: (method, params) => executeWebhookReply(core, token, method, params),
      },
      () => core.changed(),
    );
    bot.updates.onWaiting = () => core.changed();
    core.bots.set(token, bot);
    core.world.addBotUser(user);
    return this.handle(bot);
  }

  /** The bot behind a token. */
  bot(token: string): BotHandle {
    return this.handle(this.core.requireBot(token));
  }

  /** Revokes a token: its calls answer 401 Unauthorized from now on. */
  deleteBot(token: string): void {
    const bot = this.core.requireBot(token);
    bot.updates.terminatePoll(new ApiError(401, 'Unauthorized'));
    bot.dispose();
    this.core.bots.delete(token);
  }

  private handle(bot: BotState): BotHandle {
    const { user, token } = bot;
    return { token, id: user.id, username: user.username ?? '', firstName: user.first_name, user };
  }

  // ---- users, chats, topics ---------------------------------------------------------------

  createUser(spec: UserSpec = {}): User {
    return this.core.world.createUser(spec);
  }

  createChat(spec: ChatSpec): CreatedChat {
    const record = this.core.world.createChat(spec);
    const topics: Record<string, number> = {};
    for (const topic of record.topics?.values() ?? []) topics[topic.name] = topic.threadId;
    return { id: record.chat.id, chat: record.chat, topics };
  }

  /** Adds a forum topic to a supergroup; returns its message_thread_id. */
  createTopic(chatId: number, name: string): number {
    return this.core.world.createTopic(chatId, name).threadId;
  }

  /** Deletes a topic: sending to it then fails with "message thread not found". */
  deleteTopic(chatId: number, threadId: number): void {
    this.core.world.deleteTopic(chatId, threadId);
  }

  // ---- the user side ----------------------------------------------------------------------

  /** A user writes `text` to the bot (private chat by default). */
  sendMessage(token: string, text: string, options?: UserMessageOptions): UserMessageResult {
    return userSendsMessage(this.core, token, text, options);
  }

  /** A user sends "/command [args]"; with `mention`, "/command@botname" as clients do in groups. */
  sendCommand(token: string, command: string, options: UserMessageOptions & { args?: string; mention?: boolean } = {}): UserMessageResult {
    const text = commandText(this.core.requireBot(token), command, options.args, options.mention ?? false);
    return userSendsMessage(this.core, token, text, options);
  }

  /** A user presses an inline button of a message the bot sent: queues a callback_query update. */
  pressButton(token: string, press: ButtonPress): ButtonPressResult {
    return userPressesButton(this.core, token, press);
  }

  /** Queues any update; update_id is assigned by the fake. */
  injectUpdate(token: string, update: Omit<Update, 'update_id'>): Update {
    return queue(this.core, this.core.requireBot(token), update);
  }

  // ---- inspection -------------------------------------------------------------------------

  chat(token: string, chatId: number): ChatView {
    return new ChatView(this.core, token, chatId);
  }

  /** Every API call answered so far (oldest first), optionally filtered. */
  calls(filter: CallFilter = {}): ApiCall[] {
    const method = filter.method?.toLowerCase();
    return this.core.calls.filter(
      (c) =>
        (filter.token === undefined || c.token === filter.token) &&
        (method === undefined || c.method.toLowerCase() === method) &&
        (filter.ok === undefined || c.ok === filter.ok),
    );
  }

  clearCalls(): void {
    this.core.calls.length = 0;
  }

  callbackAnswers(token: string): CallbackAnswer[] {
    return [...this.core.requireBot(token).callbackAnswers];
  }

  callbackAnswer(token: string, queryId: string): CallbackAnswer | undefined {
    return this.core.requireBot(token).callbackQueries.get(queryId)?.answer;
  }

  /** True while a getUpdates call of this bot is held open (a long poll is waiting). */
  isPolling(token: string): boolean {
    return this.core.requireBot(token).updates.isPolling;
  }

  /** Updates queued and not yet confirmed (by getUpdates offset or webhook delivery). */
  pendingUpdates(token: string): Update[] {
    return this.core.requireBot(token).updates.list();
  }

  webhook(token: string): WebhookState {
    const { webhook, updates } = this.core.requireBot(token);
    const state: WebhookState = { url: webhook.config?.url ?? '', pendingUpdateCount: updates.size };
    if (webhook.config?.secretToken) state.secretToken = webhook.config.secretToken;
    if (webhook.lastErrorDate !== undefined) state.lastErrorDate = webhook.lastErrorDate;
    if (webhook.lastErrorMessage !== undefined) state.lastErrorMessage = webhook.lastErrorMessage;
    return state;
  }

  /** Every webhook delivery attempt for a bot, in order. */
  webhookDeliveries(token: string): WebhookDelivery[] {
    return [...this.core.requireBot(token).deliveries];
  }

  // ---- waiting ----------------------------------------------------------------------------

  /**
   * Resolves with the first truthy value of `probe`, re-evaluated after every change in the
   * fake (API call, user action, webhook delivery). Rejects after the timeout or on stop().
   */
  waitFor<T>(probe: () => T | undefined | null | false, options: WaitOptions & { what?: string | (() => string) } = {}): Promise<T> {
    const { timeoutMs = 30_000, what = 'a condition' } = options;
    const { events } = this.core;
    return new Promise<T>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        events.off('change', check);
        events.off('stop', onStop);
      };
      function check(): void {
        let value: T | undefined | null | false;
        try {
          value = probe();
        } catch (error) {
          cleanup();
          reject(error as Error);
          return;
        }
        if (value !== undefined && value !== null && value !== false) {
          cleanup();
          resolve(value);
        }
      }
      const onStop = (): void => {
        cleanup();
        reject(new Error(`FakeTelegram stopped while waiting for ${describeWait(what)}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`FakeTelegram: timed out after ${timeoutMs} ms waiting for ${describeWait(what)}`));
      }, timeoutMs);
      events.on('change', check);
      events.once('stop', onStop);
      check();
    });
  }

  /** Waits until the bot has sent at least `count` messages to the chat (optionally in one topic). */
  waitForMessages(token: string, chatId: number, count: number, options: WaitOptions & { threadId?: number } = {}): Promise<ChatMessage[]> {
    const view = this.chat(token, chatId);
    const pick = (): ChatMessage[] => (options.threadId === undefined ? view.messages : view.inThread(options.threadId));
    return this.waitFor(() => (pick().length >= count ? pick() : undefined), {
      ...options,
      what: () => `${count} message(s) in chat ${chatId} (have ${pick().length}: ${JSON.stringify(view.texts)})`,
    });
  }

  /** Waits until at least `count` (default 1) logged calls match the filter. */
  waitForCalls(filter: CallFilter & { count?: number }, options: WaitOptions = {}): Promise<ApiCall[]> {
    const count = filter.count ?? 1;
    return this.waitFor(() => (this.calls(filter).length >= count ? this.calls(filter) : undefined), {
      ...options,
      what: `${count} call(s) matching ${JSON.stringify(filter)}`,
    });
  }

  waitForCallbackAnswer(token: string, queryId: string, options: WaitOptions = {}): Promise<CallbackAnswer> {
    return this.waitFor(() => this.callbackAnswer(token, queryId), { ...options, what: `an answer to callback query ${queryId}` });
  }

  // ---- faults -----------------------------------------------------------------------------

  /**
   * Makes the next `times` calls (default 1; Infinity = until cleared) of `method` ("*" = any
   * method) by this bot answer with `fault` instead of the normal answer.
   */
  fail(token: string, method: string, fault: Fault, options: { times?: number } = {}): void {
    this.core.faults.add(token, method, fault, options.times ?? 1);
  }

  /** Clears method faults: all, one bot's, or one bot's for one method. Chat faults stay. */
  clearFaults(token?: string, method?: string): void {
    this.core.faults.clear(token, method);
  }

  /** Every call of this bot naming this chat_id answers with `fault` until set to null. */
  setChatFault(token: string, chatId: number | string, fault: Fault | null): void {
    this.core.faults.setChatFault(token, chatId, fault);
  }

  /** The user blocked the bot: 403 "Forbidden: bot was blocked by the user" for this chat. */
  blockChat(token: string, chatId: number): void {
    this.setChatFault(token, chatId, Faults.blocked());
  }

  /** The chat is gone: 400 "Bad Request: chat not found" for this chat. */
  loseChat(token: string, chatId: number): void {
    this.setChatFault(token, chatId, Faults.chatNotFound());
  }

  /** While stalled, getUpdates returns nothing (after its timeout) and webhooks are not sent, though updates queue up. */
  stallUpdates(token: string, stalled = true): void {
    this.core.requireBot(token).updates.setStalled(stalled);
  }

  /**
   * Makes getWebhookInfo answer these fields over the real ones (e.g. `{ pending_update_count: 57,
   * last_error_date, last_error_message: 'Connection refused' }`) until called with null.
   */
  setWebhookInfo(token: string, fields: Record<string, unknown> | null): void {
    this.core.requireBot(token).webhookInfoOverride = fields ?? undefined;
  }

  /** Takes the server down: open connections are cut and new ones refused. */
  async down(): Promise<void> {
    this.core.isUp = false;
    await this.listener.close();
    this.core.changed();
  }

  /** Brings the server back on the same port; webhook deliveries resume. */
  async up(): Promise<void> {
    if (this.listener.isListening) return;
    await this.listener.listen(this.listener.port);
    this.core.isUp = true;
    for (const bot of this.core.bots.values()) bot.webhook.kick();
    this.core.changed();
  }

  /** Stops everything: closes connections, cancels deliveries and rejects pending waits. */
  async stop(): Promise<void> {
    if (this.core.stopped) return;
    this.core.stopped = true;
    this.core.events.emit('stop');
    for (const bot of this.core.bots.values()) bot.dispose();
    await this.listener.close();
  }
}
