import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BotTokenError, resolveBotToken, selectBotToken } from './token.js';

const PROD = '111111111:prodprodprodprodprodprodprodprodprod';
const DEV = '222222222:devdevdevdevdevdevdevdevdevdevdevdev';
const OVERRIDE = '333333333:overrideoverrideoverrideoverrideover';
const LEGACY = '444444444:legacylegacylegacylegacylegacylegac';

describe('bot token selection (seed 001)', () => {
  it('follows OVERRIDE > PROD (production only) > DEV > legacy', () => {
    assert.equal(resolveBotToken({ ENVIRONMENT: 'production', TELEGRAM_BOT_TOKEN_OVERRIDE: OVERRIDE, TELEGRAM_BOT_TOKEN_PROD: PROD }), OVERRIDE);
    assert.deepEqual(selectBotToken({ ENVIRONMENT: 'production', TELEGRAM_BOT_TOKEN_PROD: PROD, TELEGRAM_BOT_TOKEN_DEV: DEV }), { token: PROD, source: 'TELEGRAM_BOT_TOKEN_PROD' });
    assert.equal(resolveBotToken({ ENVIRONMENT: 'development', TELEGRAM_BOT_TOKEN_PROD: PROD, TELEGRAM_BOT_TOKEN_DEV: DEV }), DEV);
    assert.equal(resolveBotToken({ TELEGRAM_BOT_TOKEN_DEV: DEV, TELEGRAM_BOT_TOKEN: LEGACY }), DEV);
    assert.equal(resolveBotToken({ TELEGRAM_BOT_TOKEN: LEGACY }), LEGACY);
    assert.equal(resolveBotToken({ ENVIRONMENT: 'production', TELEGRAM_BOT_TOKEN: LEGACY }), LEGACY);
  });

  it('refuses the production token outside production, without printing it', () => {
    const cases = [
      { ENVIRONMENT: 'development', TELEGRAM_BOT_TOKEN_PROD: PROD },
      { ENVIRONMENT: 'staging', TELEGRAM_BOT_TOKEN_PROD: PROD, TELEGRAM_BOT_TOKEN_DEV: PROD },
      { TELEGRAM_BOT_TOKEN_PROD: PROD, TELEGRAM_BOT_TOKEN: PROD },
      { ENVIRONMENT: 'dev', TELEGRAM_BOT_TOKEN_PROD: PROD, TELEGRAM_BOT_TOKEN_OVERRIDE: PROD },
    ];
    for (const env of cases) {
      assert.throws(() => resolveBotToken(env), (error: unknown) => {
        assert.ok(error instanceof BotTokenError);
        assert.ok(!error.message.includes(PROD) && !error.message.includes(PROD.split(':')[1]!), 'no token in the message');
        assert.match(error.message, /production/);
        return true;
      });
    }
  });

  it('says what to set when nothing is configured', () => {
    assert.throws(() => resolveBotToken({}), /set TELEGRAM_BOT_TOKEN_DEV/);
  });
});
