// A Sentry-ish sink in its own process (its CPU must not count against the bot): answers every
// envelope with 200 after `delayMs`, counting requests. Prints its port on stdout, then a JSON
// line with its counts when it gets "stats" on stdin.
import http from 'node:http';

const delayMs = Number(process.argv[2] ?? 0);
let requests = 0;
let bytes = 0;
const server = http.createServer((req, res) => {
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => {
    requests += 1;
    setTimeout(() => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'), delayMs);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.stdin.on('data', () => process.stdout.write(`${JSON.stringify({ requests, bytes })}\n`));
process.stdin.on('end', () => process.exit(0));
