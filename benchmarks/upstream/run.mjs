// Ingestion p99 with forwarding to an upstream Sentry: off, upstream up, upstream down, in one run
// (issue 14: "ingestion p99 within noise of an upstream that is up"). Each variant is a run of
// benchmarks/ingest (a fresh `botpulse serve`, the same bodies and load) with
// BOTPULSE_UPSTREAM_DSN pointing at: nothing (off); a sink on 127.0.0.1 that answers 200 like
// Sentry (up); a port where nothing listens, so every send fails and is retried with backoff
// (down). Variants alternate, `--rounds` times, so drift of the machine hits all of them alike.
// A program, not a test: it prints a table and writes results/latest.json.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, startSink } from '../lib/local-server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const INGEST = join(HERE, '..', 'ingest', 'run.mjs');

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    levels: { type: 'string', default: '8,32' },
    duration: { type: 'string', default: '5' },
    size: { type: 'string', default: '5k' },
    out: { type: 'string', default: join(HERE, 'results', 'latest.json') },
    variants: { type: 'string', default: 'off,up,down' },
    // name=path/to/cli/main.js,...: each variant runs with each build, side by side in one run.
    builds: { type: 'string', default: '' },
    'server-node-args': { type: 'string', default: '' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opts.help) {
  console.log('node run.mjs [--rounds 2] [--levels 8,32] [--duration 5] [--size 5k] [--variants off,up,down] [--builds base=/path/dist/cli/main.js,new=...] [--server-node-args=...] [--out results/latest.json]');
  process.exit(0);
}

function runIngest(variant, round, env, build) {
  const out = join(HERE, 'results', `.${variant}-${build.name}-${round}.json`);
  const args = [INGEST, '--targets', 'botpulse', '--sizes', opts.size, '--levels', opts.levels, '--duration', opts.duration, '--out', out];
  if (build.main) args.push('--server-main', build.main);
  if (opts['server-node-args']) args.push(`--server-node-args=${opts['server-node-args']}`);
  for (const [k, v] of Object.entries(env)) args.push('--server-env', `${k}=${v}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => (code === 0 || code === 1 ? resolve(JSON.parse(readFileSync(out, 'utf8'))) : reject(new Error(`ingest run exited ${code}`))));
  });
}

mkdirSync(join(HERE, 'results'), { recursive: true });
const sink = await startSink();
const dead = await freePort(); // nothing listens there: every send fails
const builds = opts.builds ? opts.builds.split(',').map((b) => ({ name: b.split('=')[0], main: b.split('=').slice(1).join('=') })) : [{ name: 'current', main: '' }];
const allVariants = {
  off: {},
  up: { BOTPULSE_UPSTREAM_DSN: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${sink.port}/1` },
  down: { BOTPULSE_UPSTREAM_DSN: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${dead}/1` },
};
const variants = Object.fromEntries(opts.variants.split(',').map((v) => [v, allVariants[v]]));
const rows = [];
const started = Date.now();
for (let round = 1; round <= Number(opts.rounds); round++) {
  for (const [variant, env] of Object.entries(variants)) for (const build of builds) {
    const before = sink.received();
    const loadBefore = loadavg()[0];
    const result = await runIngest(variant, round, env, build);
    const forwarded = sink.received() - before;
    for (const r of result.rows) {
      rows.push({ build: build.name, loadavg1: loadBefore, variant, round, concurrency: r.concurrency, acceptedPerSec: r.acceptedPerSec, p50: r.latencyMs.p50, p99: r.latencyMs.p99, max: r.latencyMs.max, ok: r.ok, forwardedDuringRun: variant === 'up' ? forwarded : 0, serverCpuPct: r.serverCpuPctLoad });
    }
    process.stderr.write(`round ${round} ${variant} ${build.name}: done${variant === 'up' ? ` (${forwarded} envelopes reached the upstream)` : ''}\n`);
  }
}
await sink.close();

const fmt = (n, d = 2) => n.toFixed(d);
const lines = ['| variant | build | round | load (1 min) | in flight | events/s | p50 ms | p99 ms | max ms | sent upstream during the run |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
for (const r of rows) lines.push(`| ${r.variant} | ${r.build} | ${r.round} | ${fmt(r.loadavg1, 1)} | ${r.concurrency} | ${fmt(r.acceptedPerSec, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${r.variant === 'up' ? r.forwardedDuringRun : '–'} |`);
const summary = {};
for (const r of rows) {
  const key = `${r.variant} ${r.build} c=${r.concurrency}`;
  (summary[key] ??= []).push(r.p99);
}
lines.push('', '| variant, build, in flight | events/s per round | p99 ms per round |', '| --- | --- | --- |');
for (const [key, p99s] of Object.entries(summary)) {
  const rates = rows.filter((r) => `${r.variant} ${r.build} c=${r.concurrency}` === key).map((r) => fmt(r.acceptedPerSec, 0));
  lines.push(`| ${key} | ${rates.join(', ')} | ${p99s.map((p) => fmt(p)).join(', ')} |`);
}
const table = lines.join('\n');
console.log(table);
writeFileSync(opts.out, JSON.stringify({ machine: { cpus: cpus().length, loadavgAtEnd: loadavg() }, options: opts, elapsedSeconds: (Date.now() - started) / 1000, rows, table }, null, 2));
console.log(`\nwrote ${opts.out}`);
