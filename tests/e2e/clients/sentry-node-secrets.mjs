// Sends, through the real unmodified @sentry/node, every kind of secret the probing of issue 11
// found kept on disk: a bot token in an attachment's filename and content type, a token whose colon
// was percent-encoded twice, key/pwd/pass/sig/signature query parameters, and sk- API keys.
// Usage: node sentry-node-secrets.mjs <dsn> <secrets as JSON>  → prints {scenario: eventId} as JSON.
import * as Sentry from '@sentry/node';

const [dsn, secretsJson] = process.argv.slice(2);
const s = JSON.parse(secretsJson);
Sentry.init({ dsn, release: 'bot@1.0.0', environment: 'production', tracesSampleRate: 0, sendDefaultPii: false });

const ids = {};
Sentry.withScope((scope) => {
  scope.addAttachment({ filename: `dump-${s.token}.txt`, data: 'state: ok\n', contentType: `text/plain; token=${s.token}` });
  ids.attachment = Sentry.captureMessage('state dump attached');
});
ids.doubleEncoded = Sentry.captureMessage(`webhook https%253A%252F%252Fapi.telegram.org%252Fbot${s.token.replace(':', '%253A')}%252FgetMe failed`);
Sentry.addBreadcrumb({ category: 'http', type: 'http', data: { url: `https://maps.example/geocode?key=${s.queryKey}&q=Berlin`, method: 'GET' } });
Sentry.withScope((scope) => {
  scope.setContext('request_log', { signed: `https://cdn.example/file?sig=${s.sig}&signature=${s.signature}&expires=1` });
  ids.queryParameters = Sentry.captureException(new Error(`login https://db.example/admin?user=ann&pwd=${s.pwd}&pass=${s.pass} refused`));
});
ids.apiKeys = Sentry.captureException(new Error(`OpenAI said 401 for ${s.openai}; Anthropic for ${s.anthropic}`));

await Sentry.flush(10_000);
process.stdout.write(JSON.stringify(ids));
