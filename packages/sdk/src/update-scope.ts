// What both bot plugins do around one update: a fresh scope (AsyncLocalStorage) with the
// update's Telegram context, duplicate detection, a breadcrumb, a transaction, and capture of
// an error that escapes the handlers before it is passed on.
import type { BotpulseClient } from './client.js';
import { UpdateDeduper } from './dedupe.js';
import { currentExecution, markGuarded, runInExecution, Scope } from './scope.js';
import type { BotSignals } from './signals.js';
import { telegramContext, textOf, updateType, type UpdateLike } from './update.js';

export interface UpdateScopeOptions {
  /** `mechanism.type` of captured errors, e.g. "grammy.middleware". */
  mechanism: string;
  /** A role for `contexts.telegram.role` (e.g. "admin"), computed per update. */
  role?: ((ctx: any) => string | undefined) | undefined;
  /**
   * Do not pass expected Telegram errors (bot blocked, 429...) on to the bot's own error
   * handling: they are counted and recorded as breadcrumbs, then swallowed. Default false.
   */
  swallowNoise?: boolean | undefined;
  /** The bot's per-minute signals: each update's lag (its age when handling begins) is recorded there. */
  signals?: BotSignals | undefined;
}

/**
 * Runs update handlers inside an update scope. One instance per bot (its dedupe memory is per bot).
 * @example
 * const updates = new UpdateScope(client, { mechanism: 'custom' });
 * await updates.run(ctx, ctx.update, () => handle(ctx));
 */
export class UpdateScope {
  private readonly deduper: UpdateDeduper;

  constructor(
    private readonly client: BotpulseClient,
    private readonly options: UpdateScopeOptions,
  ) {
    this.deduper = new UpdateDeduper(client.config.dedupeCapacity);
  }

  run(ctx: unknown, update: UpdateLike, next: () => Promise<void>): Promise<void> {
    const { client } = this;
    const scope = new Scope(client.globalScope.maxBreadcrumbs);
    const telegram = telegramContext(update, { role: this.options.role?.(ctx) });
    scope.telegram = telegram;
    const type = telegram.update_type ?? updateType(update);
    const duplicate = this.deduper.check(update.update_id);
    const data: Record<string, unknown> = { update_id: update.update_id };
    if (telegram.chat_id !== undefined) data['chat_id'] = telegram.chat_id;
    if (client.config.captureMessageText) {
      const text = textOf(update);
      if (text !== undefined) data['text'] = text;
    }
    scope.addBreadcrumb({ type: 'default', category: 'telegram.update', level: 'info', message: `update ${type}`, data });
    if (duplicate) {
      telegram.duplicate = true;
      client.stats.duplicateUpdates += 1;
      scope.addBreadcrumb({ category: 'telegram.update', level: 'warning', message: `Duplicate update_id ${update.update_id}`, data: { skipped: client.config.skipDuplicateUpdates } });
      if (client.config.skipDuplicateUpdates) return Promise.resolve();
    }
    this.options.signals?.updateStarted(update);
    const transaction = client.startTransaction('telegram.update', `update ${type}`);
    const webhook = currentExecution()?.webhook;
    if (webhook) webhook.updateScope = scope; // the guard's timeout warning carries this update's context
    const execution = { scope, span: transaction, update: { id: update.update_id, startedAt: Date.now() }, webhook };
    // Plain promise chaining rather than async/await: every extra promise costs twice while
    // AsyncLocalStorage tracks promises (Node 20), and this runs for every update.
    return runInExecution(execution, () =>
      next().then(
        () => transaction.end('ok'),
        (error: unknown) => {
          transaction.end('internal_error');
          this.capture(error);
          if (webhook) markGuarded(error);
          if (this.options.swallowNoise && client.noiseKind(error) !== undefined) return;
          throw error;
        },
      ),
    );
  }

  private capture(error: unknown): void {
    this.client.captureException(error, { mechanism: { type: this.options.mechanism, handled: false } });
  }
}

