// A bot-like program using the real, unmodified @sentry/node (major 10 or 11) for what the
// monitors read: traced updates (v10 sends transactions, v11 streams spans) and cron check-ins.
// Usage:
//   node sentry-node-monitors.mjs <module> <dsn> spans <count> <ms>          → traced updates of ~ms each
//   node sentry-node-monitors.mjs <module> <dsn> checkin <slug> <status> <environment> [monitorConfig JSON]
// Prints {"sdk": "<version>"} when everything was flushed.
const [moduleName, dsn, mode, ...args] = process.argv.slice(2);
const Sentry = await import(moduleName);

if (mode === 'spans') {
  const [count, ms] = args.map(Number);
  Sentry.init({ dsn, release: 'bot@1.0.0', environment: 'production', tracesSampleRate: 1 });
  const update = (i) =>
    Sentry.startSpan({ name: 'bot.update message', op: 'bot.update', attributes: { 'update.id': i } }, () =>
      Sentry.startSpan({ name: 'sendMessage', op: 'http.client' }, () => new Promise((resolve) => setTimeout(resolve, ms))),
    );
  await Promise.all(Array.from({ length: count }, (_, i) => update(i)));
} else if (mode === 'checkin') {
  const [slug, status, environment, config] = args;
  Sentry.init({ dsn, release: 'bot@1.0.0', environment, tracesSampleRate: 0 });
  Sentry.captureCheckIn({ monitorSlug: slug, status }, config ? JSON.parse(config) : undefined);
} else {
  throw new Error(`unknown mode ${mode}`);
}
if (!(await Sentry.flush(10_000))) throw new Error('flush timed out');
process.stdout.write(JSON.stringify({ sdk: Sentry.SDK_VERSION }));
