// The subset of Bot API objects the fake produces. Field names follow the Bot API exactly
// (snake_case) because these objects go over the wire unchanged.

export interface User {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
  is_premium?: true;
  can_join_groups?: boolean;
  can_read_all_group_messages?: boolean;
  supports_inline_queries?: boolean;
}

export type ChatType = 'private' | 'group' | 'supergroup' | 'channel';

export interface Chat {
  id: number;
  type: ChatType;
  title?: string;
  username?: string;
  first_name?: string;
  last_name?: string;
  is_forum?: true;
}

export interface MessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
  user?: User;
}

export interface InlineKeyboardButton {
  text: string;
  callback_data?: string;
  url?: string;
  [field: string]: unknown;
}

export interface InlineKeyboardMarkup {
  inline_keyboard: InlineKeyboardButton[][];
}

/** Any reply_markup a bot may send; only inline keyboards are echoed back in Message objects. */
export type ReplyMarkup = InlineKeyboardMarkup | Record<string, unknown>;

export interface Message {
  message_id: number;
  message_thread_id?: number;
  from?: User;
  date: number;
  chat: Chat;
  edit_date?: number;
  is_topic_message?: true;
  has_protected_content?: true;
  reply_to_message?: Message;
  text?: string;
  entities?: MessageEntity[];
  caption?: string;
  caption_entities?: MessageEntity[];
  reply_markup?: InlineKeyboardMarkup;
  [field: string]: unknown;
}

export interface CallbackQuery {
  id: string;
  from: User;
  message?: Message;
  chat_instance: string;
  data?: string;
}

export interface Update {
  update_id: number;
  message?: Message;
  edited_message?: Message;
  callback_query?: CallbackQuery;
  [field: string]: unknown;
}

export interface ResponseParameters {
  retry_after?: number;
  migrate_to_chat_id?: number;
}

/** A file the fake issued a file_id for (Bot API File, plus what document messages need). */
export interface StoredFile {
  file_id: string;
  file_unique_id: string;
  file_size?: number;
  file_path?: string;
  file_name?: string;
  mime_type?: string;
}

/** A text with its entities, as Telegram stores it after parse_mode was applied. */
export interface FormattedText {
  text: string;
  entities: MessageEntity[];
}
