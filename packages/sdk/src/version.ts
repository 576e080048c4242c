/** The SDK's name as Sentry servers see it (`sdk.name`, `sentry_client`). */
export const SDK_NAME = 'botpulse.javascript.node';
/** Kept in step with package.json by a unit test. */
export const SDK_VERSION = '0.1.0';
