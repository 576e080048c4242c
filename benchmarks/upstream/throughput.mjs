// How fast the forwarder empties a backlog into an upstream that answers at once: N events are
// sent to a fresh `botpulse serve` (8 in flight) whose upstream is a sink on 127.0.0.1; the time
// from the last 200 to the last envelope the sink receives is the forwarder's catch-up.
// Prints a line and writes results/throughput.json. A program, not a test.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCallSites, makeEnvelope, makeEvent, rng, SIZE_CLASSES } from '../ingest/lib/events.mjs';
import { freePort, startServe, startSink } from '../lib/local-server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, '..', '..', 'packages', 'server', 'dist');
const N = Number(process.argv[2] ?? 5000);

const sink = await startSink();
const free = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-upstream-throughput-'));
const server = await startServe({ dist: DIST, dataDir, port: free, env: { BOTPULSE_UPSTREAM_DSN: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${sink.port}/1` } });
const base = `http://127.0.0.1:${free}`;
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
while (sink.received() < N) await new Promise((r) => setTimeout(r, 50));
const lastAt = sink.lastAt();
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
await sink.close();
rmSync(dataDir, { recursive: true, force: true });
