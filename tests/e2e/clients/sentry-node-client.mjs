// A bot-like program that reports through the real, unmodified @sentry/node.
// Usage: node sentry-node-client.mjs <dsn> <dir with node_modules/tg-lib>  → prints {scenario: eventId} as JSON.
import { createRequire } from 'node:module';
import * as Sentry from '@sentry/node';

const [dsn, libDir] = process.argv.slice(2);
const tgLib = createRequire(`${libDir}/`)('tg-lib');
Sentry.init({ dsn, release: 'bot@1.0.0', environment: 'production', tracesSampleRate: 0 });

const ids = {};
const capture = (name, fn) => {
  try {
    fn();
  } catch (err) {
    ids[name] = Sentry.captureException(err);
  }
};

function chargeCard(amount) {
  if (amount > 0) throw new Error(`card declined for amount ${amount}`);
}
function readProfile(user) {
  return user.profile.name; // TypeError when user has no profile
}

for (const [name, amount] of [['same-1', 10], ['same-2', 99]]) capture(name, () => chargeCard(amount));
capture('different', () => readProfile({}));
// The same call site failing twice with different waits (the everyday case).
for (const n of [17, 3]) capture(`retry-${n}`, () => tgLib.callApi(n));
// Errors raised inside the library on its own (no in-app frame at all): grouped by type and the
// parameterised value, so the wait in seconds must not split them.
for (const n of [17, 3]) {
  try {
    await tgLib.failLater(n);
  } catch (err) {
    ids[`lib-retry-${n}`] = Sentry.captureException(err);
  }
}
ids['message-17'] = Sentry.captureMessage('Too Many Requests: retry after 17', 'warning');
ids['message-3'] = Sentry.captureMessage('Too Many Requests: retry after 3', 'warning');
for (const name of ['custom-1', 'custom-2']) {
  Sentry.withScope((scope) => {
    scope.setFingerprint(['payments-provider-down']);
    capture(name, () => (name === 'custom-1' ? chargeCard(1) : readProfile({})));
  });
}

const token = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';
Sentry.addBreadcrumb({ category: 'http', type: 'http', data: { url: `https://api.telegram.org/bot${token}/sendMessage`, method: 'POST' } });
Sentry.withScope((scope) => {
  scope.setExtra('bot_config', { token, chat: 42 });
  scope.setTag('origin', 'webhook');
  capture('token', () => {
    throw new Error(`request to https://api.telegram.org/bot${token}/getMe failed (token ${token})`);
  });
});

await Sentry.flush(10_000);
process.stdout.write(JSON.stringify(ids));
