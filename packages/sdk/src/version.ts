/**
 * The SDK's name as Sentry servers see it (`sdk.name`, `sentry_client`).
 * @example `${SDK_NAME}/${SDK_VERSION}` // 'botpulse.javascript.node/0.1.0'
 */
export const SDK_NAME = 'botpulse.javascript.node';
/**
 * Kept in step with package.json by a unit test.
 * @example console.log(`@botpulse/sdk ${SDK_VERSION}`)
 */
export const SDK_VERSION = '0.1.0';
