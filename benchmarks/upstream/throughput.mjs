// How fast the forwarder empties a backlog into an upstream that answers at once: N events are
// sent to a fresh `botpulse serve` (8 in flight) whose upstream is a sink on 127.0.0.1; the time
// from the last 200 to the last envelope the sink receives is the forwarder's catch-up.
// Prints a line and writes results/throughput.json. A program, not a test.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCallSites, makeEnvelope, makeEvent, rng, SIZE_CLASSES } from '../ingest/lib/events.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, '..', '..', 'packages', 'server', 'dist', 'cli', 'main.js');
const N = Number(process.argv[2] ?? 5000);

let received = 0;
let lastAt = 0;
const sink = createServer((req, res) => req.resume().on('end', () => {
  received++;
  lastAt = performance.now();
  res.writeHead(200).end('{}');
}));
await new Promise((r) => sink.listen(0, '127.0.0.1', r));
const free = await new Promise((r) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => r(port)); }); });
const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-upstream-throughput-'));
const server = spawn(process.execPath, [CLI, 'serve'], {
  env: { ...process.env, BOTPULSE_DATA_DIR: dataDir, BOTPULSE_PORT: String(free), BOTPULSE_LOG_LEVEL: 'warn', BOTPULSE_UPSTREAM_DSN: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${sink.address().port}/1` },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const base = `http://127.0.0.1:${free}`;
for (;;) {
  if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) break;
  await new Promise((r) => setTimeout(r, 100));
}
const token = readFileSync(join(dataDir, 'initial-api-token'), 'utf8').trim();
const [project] = await (await fetch(`${base}/api/v1/projects`, { headers: { Authorization: `Bearer ${token}` } })).json();
const url = `${base}/api/${project.id}/envelope/?sentry_key=${new URL(project.dsn).username}`;

const r = rng(7);
const sites = buildCallSites();
const nowSec = Date.now() / 1000;
const bodies = Array.from({ length: N }, (_, i) => {
  const event = makeEvent(r, sites[i % sites.length], SIZE_CLASSES['5k'], nowSec, crypto.randomUUID().replace(/-/g, ''));
  const env = makeEnvelope(event, nowSec);
  return env.buf ?? env;
});
const t0 = performance.now();
let next = 0;
await Promise.all(Array.from({ length: 8 }, async () => {
  while (next < N) {
    const res = await fetch(url, { method: 'POST', body: bodies[next++] });
    if (res.status !== 200) throw new Error(`answered ${res.status}`);
    await res.arrayBuffer();
  }
}));
const tAnswered = performance.now();
while (received < N) await new Promise((r) => setTimeout(r, 50));
const result = {
  events: N,
  ingestSeconds: (tAnswered - t0) / 1000,
  forwardedAllSeconds: (lastAt - t0) / 1000,
  catchUpSecondsAfterLast200: (lastAt - tAnswered) / 1000,
  forwardedPerSecond: N / ((lastAt - t0) / 1000),
};
console.log(`| events | ingest s | all forwarded s (from the first send) | after the last 200 s | forwarded/s |\n| --- | --- | --- | --- | --- |\n| ${N} | ${result.ingestSeconds.toFixed(2)} | ${result.forwardedAllSeconds.toFixed(2)} | ${result.catchUpSecondsAfterLast200.toFixed(2)} | ${result.forwardedPerSecond.toFixed(0)} |`);
writeFileSync(join(HERE, 'results', 'throughput.json'), JSON.stringify(result, null, 2));
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
sink.close();
rmSync(dataDir, { recursive: true, force: true });
