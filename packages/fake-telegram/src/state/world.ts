// Users, chats and forum topics. They are shared by all bots on the server, as on Telegram:
// one human can talk to several bots, and one group can contain several bots.
import type { Chat, ChatType, User } from '../types.js';

export interface UserSpec {
  id?: number;
  first_name?: string;
  last_name?: string;
  username?: string;
  language_code?: string;
  is_premium?: true;
}

/** A user given by id (created on first use), by fields, or omitted (the default user). */
export type UserRef = number | UserSpec | undefined;

export interface ChatSpec {
  id?: number;
  type: ChatType;
  title?: string;
  username?: string;
  /** Supergroups only: the chat has forum topics, so message_thread_id is checked. */
  isForum?: boolean;
  /** Names of forum topics to create (implies isForum). */
  topics?: string[];
}

export interface Topic {
  threadId: number;
  name: string;
  closed: boolean;
}

export interface ChatRecord {
  chat: Chat;
  /** Present when the chat has forum topics; thread ids not listed here are refused. */
  topics?: Map<number, Topic>;
}

/** The General topic of a forum; it always exists. */
export const GENERAL_TOPIC_ID = 1;
const SUPERGROUP_BASE = 1_000_000_000_000;

export class World {
  readonly users = new Map<number, User>();
  readonly chats = new Map<number, ChatRecord>();
  readonly defaultUser: User;
  private nextUserId = 10_001;
  private nextGroupId = 4_000_000_001;
  private nextSupergroupId = SUPERGROUP_BASE + 1_000_000_001;
  private nextTopicId = 1_001;

  constructor() {
    this.defaultUser = this.createUser({ first_name: 'Test', last_name: 'User', username: 'test_user', language_code: 'en' });
  }

  createUser(spec: UserSpec = {}): User {
    const id = spec.id ?? this.nextUserId++;
    const existing = this.users.get(id);
    const user: User = {
      id,
      is_bot: false,
      first_name: spec.first_name ?? existing?.first_name ?? `User${id}`,
      ...pick(existing, ['last_name', 'username', 'language_code', 'is_premium']),
      ...pick(spec, ['last_name', 'username', 'language_code', 'is_premium']),
    };
    this.users.set(id, user);
    return user;
  }

  /** Registers a bot account so that it can appear as a chat member or message author. */
  addBotUser(user: User): void {
    this.users.set(user.id, user);
  }

  user(ref: UserRef): User {
    if (ref === undefined) return this.defaultUser;
    if (typeof ref === 'number') return this.users.get(ref) ?? this.createUser({ id: ref });
    return this.createUser(ref); // merges the given fields into an existing user with that id
  }

  createChat(spec: ChatSpec): ChatRecord {
    const id = spec.id ?? this.newChatId(spec.type);
    const chat: Chat = { id, type: spec.type };
    if (spec.type === 'private') Object.assign(chat, this.privateChatFields(id));
    else chat.title = spec.title ?? `Test ${spec.type} ${Math.abs(id)}`;
    if (spec.username) chat.username = spec.username;
    const record: ChatRecord = { chat };
    if (spec.type === 'supergroup' && (spec.isForum || spec.topics)) {
      chat.is_forum = true;
      record.topics = new Map([[GENERAL_TOPIC_ID, { threadId: GENERAL_TOPIC_ID, name: 'General', closed: false }]]);
    }
    this.chats.set(id, record);
    for (const name of spec.topics ?? []) this.createTopic(id, name);
    return record;
  }

  privateChat(user: User): ChatRecord {
    return this.chats.get(user.id) ?? this.createChat({ id: user.id, type: 'private' });
  }

  /** Finds a chat by id or "@username". */
  findChat(ref: number | string): ChatRecord | undefined {
    if (typeof ref === 'number') return this.chats.get(ref);
    const username = ref.replace(/^@/, '').toLowerCase();
    return [...this.chats.values()].find((r) => r.chat.username?.toLowerCase() === username);
  }

  /** Creates a chat on first sight, with the type its id implies (Telegram's id ranges). */
  ensureChat(id: number, type?: ChatType): ChatRecord {
    return this.chats.get(id) ?? this.createChat({ id, type: type ?? inferChatType(id) });
  }

  createTopic(chatId: number, name: string): Topic {
    const record = this.chats.get(chatId);
    if (!record || record.chat.type !== 'supergroup') throw new Error(`chat ${chatId} is not a supergroup`);
    record.chat.is_forum = true;
    record.topics ??= new Map([[GENERAL_TOPIC_ID, { threadId: GENERAL_TOPIC_ID, name: 'General', closed: false }]]);
    const topic: Topic = { threadId: this.nextTopicId++, name, closed: false };
    record.topics.set(topic.threadId, topic);
    return topic;
  }

  deleteTopic(chatId: number, threadId: number): boolean {
    return this.chats.get(chatId)?.topics?.delete(threadId) ?? false;
  }

  private newChatId(type: ChatType): number {
    if (type === 'private') return this.createUser().id;
    if (type === 'group') return -this.nextGroupId++;
    return -this.nextSupergroupId++;
  }

  private privateChatFields(id: number): Partial<Chat> {
    const user = this.user(id);
    return { first_name: user.first_name, ...pick(user, ['last_name', 'username']) };
  }
}

export function inferChatType(id: number): ChatType {
  if (id > 0) return 'private';
  return id <= -SUPERGROUP_BASE ? 'supergroup' : 'group';
}

function pick<T extends object, K extends keyof T>(source: T | undefined, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  if (!source) return out;
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}
