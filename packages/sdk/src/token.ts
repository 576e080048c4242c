// Which bot token to use (seed 001): TELEGRAM_BOT_TOKEN_OVERRIDE > TELEGRAM_BOT_TOKEN_PROD (only
// when ENVIRONMENT=production) > TELEGRAM_BOT_TOKEN_DEV > legacy TELEGRAM_BOT_TOKEN. A dev
// process must never poll with the production token (it would steal the prod bot's updates).
import type { Env } from './config.js';
import { registerSecret } from './scrub.js';

/**
 * Raised when no usable token is configured or the production token is used outside production. Never contains a token.
 * @example try { resolveBotToken() } catch (e) { if (e instanceof BotTokenError) process.exit(1) }
 */
export class BotTokenError extends Error {
  override name = 'BotTokenError';
}

/** Names of the variables, in priority order. */
export type BotTokenSource = 'TELEGRAM_BOT_TOKEN_OVERRIDE' | 'TELEGRAM_BOT_TOKEN_PROD' | 'TELEGRAM_BOT_TOKEN_DEV' | 'TELEGRAM_BOT_TOKEN';

/**
 * The token and the variable it came from.
 * @example const { token, source } = selectBotToken(process.env); console.log(`token from ${source}`);
 */
export function selectBotToken(env: Env = process.env): { token: string; source: BotTokenSource } {
  const value = (name: BotTokenSource): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const environment = (env['ENVIRONMENT'] ?? 'development').trim().toLowerCase();
  const isProduction = environment === 'production';
  const prod = value('TELEGRAM_BOT_TOKEN_PROD');
  const order: BotTokenSource[] = isProduction
    ? ['TELEGRAM_BOT_TOKEN_OVERRIDE', 'TELEGRAM_BOT_TOKEN_PROD', 'TELEGRAM_BOT_TOKEN_DEV', 'TELEGRAM_BOT_TOKEN']
    : ['TELEGRAM_BOT_TOKEN_OVERRIDE', 'TELEGRAM_BOT_TOKEN_DEV', 'TELEGRAM_BOT_TOKEN'];
  for (const source of order) {
    const token = value(source);
    if (!token) continue;
    if (!isProduction && prod !== undefined && token === prod) {
      throw new BotTokenError(`${source} holds the production bot token but ENVIRONMENT is "${environment}"; use a separate TELEGRAM_BOT_TOKEN_DEV outside production`);
    }
    registerSecret(token);
    return { token, source };
  }
  if (prod !== undefined) {
    throw new BotTokenError(`only TELEGRAM_BOT_TOKEN_PROD is set and ENVIRONMENT is "${environment}"; the production token is used only when ENVIRONMENT=production. Set TELEGRAM_BOT_TOKEN_DEV`);
  }
  throw new BotTokenError('no bot token: set TELEGRAM_BOT_TOKEN_DEV (or TELEGRAM_BOT_TOKEN_PROD with ENVIRONMENT=production, or TELEGRAM_BOT_TOKEN_OVERRIDE)');
}

/**
 * The bot token to use, by the seed's rules. Throws BotTokenError (without the token) when the
 * production token would be used outside production or nothing is set.
 * @example const bot = new Bot(resolveBotToken());
 */
export function resolveBotToken(env: Env = process.env): string {
  return selectBotToken(env).token;
}
