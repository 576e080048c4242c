import { createChannels } from '../alerts/alerting.js';
import { DeliveryError } from '../alerts/channels/contract.js';
import type { TelegramChannel } from '../alerts/channels/telegram/sender.js';
import type { WebhookChannel } from '../alerts/channels/webhook/sender.js';
import { resolveRules } from '../alerts/rules.js';
import type { Config } from '../config/load.js';
import type { Store } from '../store/store.js';
import { alertStoreFor } from '../main.js';
import { printJson, withStore } from './context.js';

interface Destination {
  channel: 'telegram' | 'webhook';
  target: string;
  threadId: number | null;
  silent: boolean;
  /** Which projects send there (`default` for ERROR_ALERT_CHAT_ID). */
  for: string[];
}

interface Outcome {
  channel: string;
  target: string;
  for: string[];
  ok: boolean;
  answer: string;
}

/**
 * `botpulse test-alert`: sends a test message through every configured channel and target
 * (ERROR_ALERT_CHAT_ID, every project's own chat, the webhook) and prints what each answered.
 * A success re-enables a target that a permanent error had disabled.
 */
export async function testAlert(opts: { json?: boolean }): Promise<void> {
  const outcomes = await withStore(async (store, config) => {
    const destinations = await listDestinations(store, config);
    if (!destinations.length) {
      throw new Error('no alert channel is configured: set BOTPULSE_TELEGRAM_TOKEN and ERROR_ALERT_CHAT_ID, or BOTPULSE_ALERT_WEBHOOK_URL (docs/alerts.md)');
    }
    const channels = createChannels(config);
    const alerts = alertStoreFor(store);
    const results: Outcome[] = [];
    for (const d of destinations) {
      const outcome = await sendOne(d, channels, config.publicUrl);
      if (outcome.ok) await alerts.enableTarget(d.channel, d.target);
      results.push(outcome);
    }
    return results;
  });
  if (opts.json) printJson(outcomes);
  else for (const o of outcomes) process.stdout.write(`${o.channel} ${o.target} (${o.for.join(', ')}): ${o.ok ? '' : 'FAILED '}${o.answer}\n`);
  if (outcomes.some((o) => !o.ok)) process.exitCode = 1;
}

async function sendOne(d: Destination, channels: ReturnType<typeof createChannels>, publicUrl: string): Promise<Outcome> {
  const base = { channel: d.channel, target: d.target, for: d.for };
  try {
    const delivered =
      d.channel === 'telegram'
        ? await (channels.telegram as TelegramChannel).sendTest(d.target, publicUrl, { threadId: d.threadId, silent: d.silent })
        : await (channels.webhook as WebhookChannel).sendTest(d.target);
    return { ...base, ok: true, answer: delivered.summary };
  } catch (err) {
    const e = err instanceof DeliveryError ? err : new DeliveryError(String(err));
    const kind = e.permanent ? 'permanent, fix the chat or the bot' : e.migrateTo ? `the group moved to ${e.migrateTo}; use that id` : 'temporary';
    return { ...base, ok: false, answer: `${e.message} (${kind})` };
  }
}

async function listDestinations(store: Store, config: Readonly<Config>): Promise<Destination[]> {
  const byTarget = new Map<string, Destination>();
  const add = (d: Omit<Destination, 'for'>, who: string) => {
    const key = `${d.channel} ${d.target} ${d.threadId}`;
    const known = byTarget.get(key);
    if (known) known.for.push(who);
    else byTarget.set(key, { ...d, for: [who] });
  };
  if (config.alerts.telegram.token) {
    const { defaults } = config.alerts;
    for (const chat of defaults.chatIds) add({ channel: 'telegram', target: chat, threadId: defaults.threadId, silent: defaults.silent }, 'default');
    for (const project of await store.listProjects()) {
      const rules = resolveRules(config.alerts, project.slug, await store.getProjectSettings(project.id));
      for (const chat of rules.chatIds) add({ channel: 'telegram', target: chat, threadId: rules.threadId, silent: rules.silent }, project.slug);
    }
  }
  if (config.alerts.webhook.url) add({ channel: 'webhook', target: config.alerts.webhook.url, threadId: null, silent: false }, 'all projects');
  return [...byTarget.values()];
}
