import { createHmac } from 'node:crypto';
import type { AlertItem } from '../../items.js';

/**
 * The webhook body: JSON with a stable `id` (the outbox row, for receivers that dedupe) and the
 * alert items as the Telegram formatter sees them: issues (`kind: "issue"`), the project-wide
 * error rate (`"project"`) and monitor notifications (`"monitor"`: `text`, `payload`, `monitorId`,
 * `notificationId`). The signature covers the exact body bytes, and the body carries the same
 * `timestamp` as the header, so a receiver can refuse replays.
 */
export interface WebhookBody {
  type: 'botpulse.alert' | 'botpulse.test';
  id: number;
  timestamp: number;
  alerts: AlertItem[];
}

export function webhookBody(type: WebhookBody['type'], id: number, items: AlertItem[], timestamp: number): string {
  const body: WebhookBody = { type, id, timestamp, alerts: items };
  return JSON.stringify(body);
}

/** `sha256=<hex>` of HMAC-SHA256(secret, body): the X-Botpulse-Signature header. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
