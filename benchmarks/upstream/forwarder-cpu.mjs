// CPU per forwarded event, per build: the forwarder of each build (dist copied aside for an A/B)
// forwards the same stored events to a sink that answers 200, in a process of its own, and the
// process's CPU time (process.cpuUsage: user + system) is divided by the events sent. CPU time,
// not wall time: a busy machine slows the run but adds little to what the forwarder itself spends,
// so the builds compare on a loaded machine too (the load is recorded with every row).
// A program, not a test: it prints a table and writes JSON.
//
//   node benchmarks/upstream/forwarder-cpu.mjs --builds base=packages/server/dist-base,new=packages/server/dist [--events 3000] [--rounds 3] [--child-node-args=...]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, startSink } from '../lib/local-server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const KEY = '0123456789abcdef0123456789abcdef';

const { values: opts } = parseArgs({
  options: {
    builds: { type: 'string', default: `current=${join(REPO, 'packages/server/dist')}` },
    // e.g. --child-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof": a profile of each build's forwarder
    'child-node-args': { type: 'string', default: '' },
    events: { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: join(HERE, 'results', 'forwarder-cpu-latest.json') },
    child: { type: 'string' },
    data: { type: 'string' },
    sink: { type: 'string' },
  },
});

if (opts.child) await child(opts.child, opts.data, opts.sink, Number(opts.events));
else await parent();

/** One build's forwarder over the stored events, from the first; prints its figures as JSON. */
async function child(dist, dataDir, sinkPort, events) {
  const imp = (p) => import(pathToFileURL(join(dist, p)).href);
  const { loadConfig } = await imp('config/load.js');
  const { openUpstreamThreadStores } = await imp('stores.js');
  const { UpstreamForwarder } = await imp('upstream/forwarder.js');
  const quiet = () => undefined;
  const logger = { debug: quiet, info: quiet, warn: quiet, error: quiet, child: () => logger };
  const config = loadConfig({ BOTPULSE_DATA_DIR: dataDir, BOTPULSE_UPSTREAM_DSN: `http://${KEY}@127.0.0.1:${sinkPort}/1`, BOTPULSE_LOG_LEVEL: 'silent' });
  const stores = await openUpstreamThreadStores({ databaseFile: config.databaseFile });
  await stores.upstream.setValue('cursor:event', '0');
  const forwarder = new UpstreamForwarder({ config: config.upstream, forwardedBy: 'http://bench.invalid', upstream: stores.upstream, store: stores.store, leases: stores.leases, logger });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  forwarder.start();
  while (forwarder.snapshot().sent.event < events) await new Promise((r) => setTimeout(r, 5));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const sent = forwarder.snapshot().sent.event;
  await forwarder.stop();
  await stores.store.close();
  process.stdout.write(JSON.stringify({ sent, cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, wallMs }));
}

async function parent() {
  const builds = opts.builds.split(',').map((b) => ({ name: b.split('=')[0], dist: resolve(b.split('=').slice(1).join('=')) }));
  const events = Number(opts.events);
  const sink = await startSink();
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-fwd-cpu-'));
  try {
    await storeEvents(builds.at(-1).dist, join(dir, 'data'), events);
    const rows = [];
    for (let round = 1; round <= Number(opts.rounds); round++) {
      for (const build of builds) {
        const load = loadavg()[0];
        const before = sink.received();
        const r = JSON.parse(await run(process.execPath, [...opts['child-node-args'].split(/\s+/).filter(Boolean), fileURLToPath(import.meta.url), '--child', build.dist, '--data', join(dir, 'data'), '--sink', String(sink.port), '--events', String(events)]));
        const cpuMs = r.cpuUserMs + r.cpuSystemMs;
        rows.push({ build: build.name, round, loadavg1: load, sent: r.sent, received: sink.received() - before, cpuMs, cpuUsPerEvent: (cpuMs * 1000) / r.sent, wallMs: r.wallMs, eventsPerSecWall: r.sent / (r.wallMs / 1000) });
        process.stderr.write(`round ${round} ${build.name}: ${((cpuMs * 1000) / r.sent).toFixed(0)} µs CPU per event (load ${load.toFixed(1)})\n`);
      }
    }
    const fmt = (n, d = 0) => n.toFixed(d);
    const lines = ['| build | round | load (1 min) | events sent | CPU µs per event | wall events/s |', '| --- | --- | --- | --- | --- | --- |'];
    for (const r of rows) lines.push(`| ${r.build} | ${r.round} | ${fmt(r.loadavg1, 1)} | ${r.sent} | ${fmt(r.cpuUsPerEvent)} | ${fmt(r.eventsPerSecWall)} |`);
    for (const b of builds) {
      const mine = rows.filter((r) => r.build === b.name).map((r) => r.cpuUsPerEvent).sort((x, y) => x - y);
      lines.push(`\n${b.name}: median ${fmt(mine[Math.floor(mine.length / 2)])} µs CPU per forwarded event (${mine.map((x) => fmt(x)).join(', ')})`);
    }
    const table = lines.join('\n');
    console.log(table);
    writeFileSync(opts.out, JSON.stringify({ machine: { cpus: cpus().length, loadavgAtEnd: loadavg() }, options: { ...opts, child: undefined }, rows, table }, null, 2));
    console.log(`\nwrote ${opts.out}`);
  } finally {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `botpulse serve` (the last build) without an upstream stores `n` events of about 5 KB, then stops. */
async function storeEvents(dist, dataDir, n) {
  const port = await freePort();
  const server = spawn(process.execPath, [join(dist, 'cli/main.js'), 'serve'], { env: { PATH: process.env.PATH, BOTPULSE_DATA_DIR: dataDir, BOTPULSE_PORT: String(port), BOTPULSE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  server.stdout.on('data', (c) => (out += c));
  while (!out.includes('More: npx botpulse --help')) await new Promise((r) => setTimeout(r, 50));
  const key = /DSN: http:\/\/([0-9a-f]{32})@/.exec(out)[1];
  const token = readFileSync(join(dataDir, 'initial-api-token'), 'utf8').trim();
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => send(port, key, i + j)));
  }
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/projects/1/issues?limit=1&sort=count`, { headers: { authorization: `Bearer ${token}` } });
    const { issues } = await res.json();
    if ((issues[0]?.count ?? issues[0]?.eventCount ?? 0) >= n) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
}

function send(port, key, i) {
  const eventId = `${i.toString(16).padStart(8, '0')}${'0'.repeat(24)}`;
  const frames = Array.from({ length: 20 }, (_, f) => ({ filename: `botapp/handlers/module_${f}.py`, function: `handle_step_${f}`, lineno: 10 + f, in_app: f > 10, context_line: `    result = await step_${f}(ctx, payload)`, pre_context: ['    # the previous lines', '    payload = ctx.payload'], post_context: ['    return result'] }));
  const event = { event_id: eventId, platform: 'python', level: 'error', release: 'bot@1.2.3', environment: 'production', tags: { origin: 'celery' }, extra: { payload: { gen_request_id: `gen-${i}` } }, exception: { values: [{ type: 'GenerationFailed', value: `generation failed`, stacktrace: { frames } }] }, breadcrumbs: { values: Array.from({ length: 10 }, (_, b) => ({ category: 'http', message: `GET https://api.example.com/v1/items/${b}`, level: 'info' })) } };
  const body = `${JSON.stringify({ event_id: eventId })}\n${JSON.stringify({ type: 'event' })}\n${JSON.stringify(event)}\n`;
  return fetch(`http://127.0.0.1:${port}/api/1/envelope/?sentry_key=${key}`, { method: 'POST', body }).then((r) => r.arrayBuffer());
}

function run(cmd, args) {
  return new Promise((resolvePromise, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`child exited ${code}`))));
  });
}
