// The real @sentry/node dropping events itself (beforeSend returns null), so that its client
// report tells Botpulse. Usage: node sentry-node-discards.mjs <dsn>
import * as Sentry from '@sentry/node';

Sentry.init({
  dsn: process.argv[2],
  release: 'nodebot@1.0.0',
  tracesSampleRate: 0,
  beforeSend: (event) => (event.tags?.drop === 'yes' ? null : event),
});
for (let i = 0; i < 2; i++) Sentry.withScope((scope) => {
  scope.setTag('drop', 'yes');
  Sentry.captureException(new Error(`dropped by beforeSend ${i}`));
});
Sentry.captureException(new Error('kept'));
await Sentry.flush(10_000); // also sends the pending client report
process.stdout.write('done\n');
