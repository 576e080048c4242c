// An unmodified @sentry/node with `enableLogs: true`, sending log lines through Sentry.logger.
// Usage: node sentry-node-logs.mjs <dsn>. Prints nothing; exits once the logs are flushed.
import * as Sentry from '@sentry/node';

const [dsn] = process.argv.slice(2);
Sentry.init({ dsn, enableLogs: true, environment: 'production', release: 'pay-bot@3.1.0', defaultIntegrations: false });
Sentry.logger.info(Sentry.logger.fmt`User ${42} balance checked`, { operation: 'check_balance', duration_ms: 45 });
Sentry.logger.warn('Duplicate update_id 991', { update_id: 991 });
Sentry.logger.error('Database connection lost', { error_type: 'OperationalError' });
await Sentry.flush(10_000);
