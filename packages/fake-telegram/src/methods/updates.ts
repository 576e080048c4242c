// getUpdates and the webhook methods. A bot has either a webhook or long polling, never both:
// getUpdates while a webhook is set is a 409, and setting a webhook ends a pending poll.
import { ApiError, badRequest, CONFLICT_WEBHOOK_ACTIVE } from '../errors.js';
import type { WebhookConfig } from '../state/webhook.js';
import type { Handler, MethodContext } from './context.js';

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

function allowedUpdatesParam(ctx: MethodContext): string[] | undefined {
  const value = ctx.params.json<unknown>('allowed_updates', "can't parse allowed updates JSON object");
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw badRequest("can't parse allowed updates JSON object");
  return value.map(String);
}

export const getUpdates: Handler = (ctx) => {
  const { bot, params } = ctx;
  if (bot.webhook.config) throw new ApiError(409, CONFLICT_WEBHOOK_ACTIVE);
  return bot.updates.poll({
    offset: params.integer('offset'),
    limit: clamp(params.integer('limit') ?? 100, 1, 100),
    timeoutSec: Math.max(0, params.integer('timeout') ?? 0),
    allowedUpdates: allowedUpdatesParam(ctx),
    signal: ctx.signal,
  });
};

function readWebhookConfig(ctx: MethodContext, url: string): WebhookConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest('bad webhook: invalid webhook URL specified');
  }
  // Telegram requires HTTPS; the fake also accepts http:// so tests can use a plain local receiver.
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
  }
  const secretToken = ctx.params.string('secret_token');
  if (secretToken !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) {
    throw badRequest('bad webhook: secret token contains unallowed characters');
  }
  const maxConnections = ctx.params.integer('max_connections') ?? 40;
  const config: WebhookConfig = { url, maxConnections: clamp(maxConnections, 1, 100) };
  if (secretToken) config.secretToken = secretToken;
  const ipAddress = ctx.params.string('ip_address');
  if (ipAddress) config.ipAddress = ipAddress;
  return config;
}

export const setWebhook: Handler = (ctx) => {
  const { bot, params } = ctx;
  const url = params.string('url') ?? '';
  if (url === '') return deleteWebhook(ctx);
  const config = readWebhookConfig(ctx, url);
  const allowed = allowedUpdatesParam(ctx);
  if (params.boolean('drop_pending_updates')) bot.updates.dropAll();
  if (allowed !== undefined) bot.updates.setAllowed(allowed);
  bot.updates.terminatePoll(new ApiError(409, CONFLICT_WEBHOOK_ACTIVE));
  const current = bot.webhook.config;
  const unchanged = current !== undefined && JSON.stringify(current) === JSON.stringify(config);
  ctx.description = unchanged ? 'Webhook is already set' : 'Webhook was set';
  if (unchanged) bot.webhook.kick();
  else bot.webhook.set(config);
  return true;
};

export const deleteWebhook: Handler = (ctx) => {
  const { bot } = ctx;
  if (ctx.params.boolean('drop_pending_updates')) bot.updates.dropAll();
  ctx.description = bot.webhook.config ? 'Webhook was deleted' : 'Webhook is already deleted';
  if (bot.webhook.config) bot.webhook.set(undefined);
  return true;
};

export const getWebhookInfo: Handler = (ctx) => {
  const { webhook, updates } = ctx.bot;
  const info: Record<string, unknown> = {
    url: webhook.config?.url ?? '',
    has_custom_certificate: false,
    pending_update_count: updates.size,
  };
  if (webhook.config) {
    info['max_connections'] = webhook.config.maxConnections;
    info['ip_address'] = webhook.config.ipAddress ?? '127.0.0.1';
  }
  if (webhook.lastErrorDate !== undefined) {
    info['last_error_date'] = webhook.lastErrorDate;
    info['last_error_message'] = webhook.lastErrorMessage;
  }
  const allowed = updates.allowedUpdates;
  if (allowed) info['allowed_updates'] = allowed;
  return ctx.bot.webhookInfoOverride ? { ...info, ...ctx.bot.webhookInfoOverride } : info;
};
