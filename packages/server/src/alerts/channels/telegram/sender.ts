import type { AlertItem } from '../../items.js';
import type { AlertChannel, Delivered, OutgoingAlert } from '../contract.js';
import { toDeliveryError, type BotApi } from './api.js';
import { formatAlert, formatTestMessage } from './format.js';

/** Sends alert messages through Botpulse's own alert bot (never the monitored bot's token). */
export class TelegramChannel implements AlertChannel {
  readonly kind = 'telegram' as const;

  constructor(private readonly api: BotApi) {}

  check(items: AlertItem[]): void {
    formatAlert(items);
  }

  async send(message: OutgoingAlert): Promise<Delivered> {
    const { text, reply_markup } = formatAlert(message.items);
    const hasButtons = reply_markup.inline_keyboard.length > 0;
    return this.sendText(message.target, text, { threadId: message.threadId, silent: message.silent, ...(hasButtons ? { replyMarkup: reply_markup } : {}) });
  }

  async sendTest(target: string, publicUrl: string, opts: { threadId: number | null; silent: boolean }): Promise<Delivered> {
    return this.sendText(target, formatTestMessage(publicUrl), opts);
  }

  private async sendText(chatId: string, text: string, opts: { threadId: number | null; silent: boolean; replyMarkup?: unknown }): Promise<Delivered> {
    try {
      const sent = await this.api.call<{ message_id: number }>('sendMessage', {
        chat_id: chatId,
        text,
        parse_mode: 'HTML',
        link_preview_options: { is_disabled: true },
        ...(opts.threadId !== null ? { message_thread_id: opts.threadId } : {}),
        ...(opts.silent ? { disable_notification: true } : {}),
        ...(opts.replyMarkup ? { reply_markup: opts.replyMarkup } : {}),
      });
      return { messageId: String(sent.message_id), summary: `ok, message ${sent.message_id}` };
    } catch (err) {
      throw toDeliveryError(err);
    }
  }
}
