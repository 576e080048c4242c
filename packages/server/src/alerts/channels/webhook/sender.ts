import type { AlertItem } from '../../items.js';
import { DeliveryError, type AlertChannel, type Delivered, type OutgoingAlert } from '../contract.js';
import { signature, webhookBody } from './format.js';

/** POSTs alerts as signed JSON to BOTPULSE_ALERT_WEBHOOK_URL, with the outbox's guarantees. */
export class WebhookChannel implements AlertChannel {
  readonly kind = 'webhook' as const;

  constructor(
    private readonly secret: string | null,
    private readonly timeoutMs = 10_000,
  ) {}

  check(items: AlertItem[]): void {
    webhookBody('botpulse.alert', 0, items, 0);
  }

  async send(message: OutgoingAlert): Promise<Delivered> {
    return this.post(message.target, webhookBody('botpulse.alert', message.id, message.items, Math.floor(Date.now() / 1000)));
  }

  async sendTest(url: string): Promise<Delivered> {
    return this.post(url, webhookBody('botpulse.test', 0, [], Math.floor(Date.now() / 1000)));
  }

  private async post(url: string, body: string): Promise<Delivered> {
    const timestamp = String(JSON.parse(body).timestamp);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'botpulse-alerts', 'x-botpulse-timestamp': timestamp };
    if (this.secret) headers['x-botpulse-signature'] = signature(this.secret, body);
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new DeliveryError(`webhook unreachable: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
    }
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return { messageId: null, summary: `ok, HTTP ${response.status}` };
    throw classify(response);
  }
}

function classify(response: Response): DeliveryError {
  const status = response.status;
  const what = `webhook answered HTTP ${status}`;
  if (status === 429 || status === 503) {
    const retryAfter = Number(response.headers.get('retry-after'));
    return new DeliveryError(what, Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {});
  }
  // Gone, not found, not allowed: the URL or the secret is wrong; retrying will not fix it.
  if ([401, 403, 404, 405, 410].includes(status)) return new DeliveryError(what, { permanent: true });
  if (status >= 400 && status < 500 && status !== 408) return new DeliveryError(what, { rejectsMessage: true });
  return new DeliveryError(what);
}
