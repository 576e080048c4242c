#!/usr/bin/env node
// SDK overhead benchmark (a program, not a test). A grammY bot handles the same updates with and
// without @botpulse/sdk (instrumentGrammy: the outermost middleware + the API transformer), each
// measurement in a fresh process (lib/worker.mjs), rounds interleaved, medians reported.
// Two Bot API set-ups:
//   stub  — a transformer answers every call locally: no network at all, so the bare bot is as
//           cheap as grammY gets and the SDK's absolute cost per update shows fully;
//   http  — the bot talks HTTP to the fake Telegram in another process (lib/fake-telegram.mjs),
//           16 updates in flight: what a bot that answers its users actually does.
// The SDK reports to a local sink process over real HTTP (production defaults: 10% of updates
// traced). Then an error storm: 10 000 throwing updates/s into a sink that answers after 200 ms,
// to show that memory stays bounded (RSS, queue, dropped and suppressed counters reported).
// Side by side with the most used peer: the same bot with the real @sentry/node (PEER below: its
// default integrations, errors only, then tracesSampleRate 1) next to Botpulse at the same
// settings, every variant measured in the same interleaved rounds against the same bare bot.
// Usage: npx tsc -b packages/sdk packages/fake-telegram && node benchmarks/sdk/run.mjs [--quick] [--rounds N]
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string' }, 'storm-seconds': { type: 'string' } } });
const QUICK = args.quick;
const ROUNDS = Number(args.rounds ?? (QUICK ? 3 : 5));
const STORM_SECONDS = Number(args['storm-seconds'] ?? (QUICK ? 3 : 10));
const STORM_RATE = 10_000;
// @sentry/node 10 (the major most bots have installed; the workspace also has 11 as @sentry/node-11).
const PEER = { package: '@sentry/node', label: '@sentry/node 10' };
const STUB_TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';

function startHelper(script, args = []) {
  const child = spawn(process.execPath, [join(HERE, script), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const next = () => new Promise((resolve) => lines.once('line', resolve));
  return { child, next, stop: () => (child.stdin.end(), new Promise((resolve) => child.once('exit', resolve))) };
}

async function startSink(delayMs) {
  const helper = startHelper('lib/sink.mjs', [String(delayMs)]);
  const port = Number(await helper.next());
  return { dsn: `http://benchkey@127.0.0.1:${port}/1`, stop: helper.stop };
}

async function startFakeTelegram() {
  const helper = startHelper('lib/fake-telegram.mjs');
  return { ...JSON.parse(await helper.next()), stop: helper.stop };
}

function measure(config) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(HERE, 'lib/worker.mjs'), JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1))) : reject(new Error(`worker exited with ${code}`))));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round1 = (x) => Math.round(x * 10) / 10;
const dropped = (counters) => Object.values(counters?.transportDropped ?? {}).reduce((a, b) => a + b, 0);

async function compare(name, base) {
  const results = { bare: [], sdk: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['bare', 'sdk'] : ['sdk', 'bare'];
    for (const variant of order) results[variant].push(await measure({ ...base, variant }));
  }
  const rate = (v) => median(results[v].map((r) => r.rate));
  const cpu = (v) => median(results[v].map((r) => r.cpuUsPerUpdate));
  const last = results.sdk.at(-1).counters;
  return {
    scenario: name,
    bare_updates_per_s: Math.round(rate('bare')),
    sdk_updates_per_s: Math.round(rate('sdk')),
    throughput_loss_pct: round1(((rate('bare') - rate('sdk')) / rate('bare')) * 100),
    bare_cpu_us_per_update: round1(cpu('bare')),
    sdk_cpu_us_per_update: round1(cpu('sdk')),
    cpu_overhead_us: round1(cpu('sdk') - cpu('bare')),
    events_sent: last.eventsCaptured,
    transport_dropped: dropped(last),
    storm_suppressed: last.eventsDropped.storm ?? 0,
  };
}

/** The floor: a bare bot whose only extra is one AsyncLocalStorage.run per update (Node 20 promise hooks). */
async function asyncLocalStorageFloor(base) {
  const bare = [];
  const als = [];
  for (let round = 0; round < ROUNDS; round++) {
    bare.push(await measure({ ...base, variant: 'bare' }));
    als.push(await measure({ ...base, variant: 'als' }));
  }
  const cpu = (xs) => median(xs.map((r) => r.cpuUsPerUpdate));
  const rate = (xs) => median(xs.map((r) => r.rate));
  return {
    scenario: 'stub API, no error: AsyncLocalStorage.run alone (no SDK)',
    bare_updates_per_s: Math.round(rate(bare)),
    sdk_updates_per_s: Math.round(rate(als)),
    throughput_loss_pct: round1(((rate(bare) - rate(als)) / rate(bare)) * 100),
    bare_cpu_us_per_update: round1(cpu(bare)),
    sdk_cpu_us_per_update: round1(cpu(als)),
    cpu_overhead_us: round1(cpu(als) - cpu(bare)),
    events_sent: '-',
    transport_dropped: '-',
    storm_suppressed: '-',
  };
}

const PEER_VARIANTS = [
  { instrumentation: 'none (bare grammY)', variant: 'bare' },
  { instrumentation: 'Botpulse, errors only (tracesSampleRate 0)', variant: 'sdk', tracesSampleRate: 0 },
  { instrumentation: 'Botpulse, production default (10 % traced)', variant: 'sdk' },
  { instrumentation: 'Botpulse, tracesSampleRate 1', variant: 'sdk', tracesSampleRate: 1 },
  { instrumentation: `${PEER.label}, errors only`, variant: 'sentry', sentryPackage: PEER.package },
  { instrumentation: `${PEER.label}, tracesSampleRate 1`, variant: 'sentry', sentryPackage: PEER.package, sentryTracesSampleRate: 1 },
];

/** Error events built, and the ones not built or not kept with the SDK's own reason ("3436 queue_overflow"). */
function errorEvents(result) {
  if (result.counters) {
    const dropped = Object.entries(result.counters.eventsDropped).map(([reason, n]) => `${n} ${reason}`);
    return { events_built: result.counters.eventsCaptured, events_not_built: dropped.join(', ') || 0 };
  }
  if (result.sentry) {
    const dropped = Object.entries(result.sentry.dropped).map(([reason, n]) => `${n} ${reason}`);
    return { events_built: result.sentry.events, events_not_built: dropped.join(', ') || 0 };
  }
  return { events_built: '-', events_not_built: '-' };
}

/** Every PEER_VARIANTS entry in the same rounds (order rotated each round), medians per variant. */
async function sideBySide(name, base) {
  const results = PEER_VARIANTS.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < PEER_VARIANTS.length; k++) {
      const i = (k + round) % PEER_VARIANTS.length;
      const { instrumentation, ...variant } = PEER_VARIANTS[i];
      results[i].push(await measure({ ...base, ...variant }));
    }
  }
  const rate = (xs) => median(xs.map((r) => r.rate));
  const cpu = (xs) => median(xs.map((r) => r.cpuUsPerUpdate));
  const [bare] = results;
  return PEER_VARIANTS.map(({ instrumentation }, i) => ({
    scenario: name,
    instrumentation,
    updates_per_s: Math.round(rate(results[i])),
    throughput_loss_pct: round1(((rate(bare) - rate(results[i])) / rate(bare)) * 100),
    cpu_us_per_update: round1(cpu(results[i])),
    cpu_overhead_us: round1(cpu(results[i]) - cpu(bare)),
    rss_mb: Math.round(median(results[i].map((r) => r.rss)) / 1048576),
    ...errorEvents(results[i].at(-1)),
  }));
}

function table(rows, columns) {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells) => `| ${cells.map((cell, i) => String(cell).padEnd(widths[i])).join(' | ')} |`;
  return [line(columns), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map((r) => line(columns.map((c) => r[c])))].join('\n');
}

function peerVersion() {
  return createRequire(import.meta.url)(`${PEER.package}/package.json`).version;
}

const loadAtStart = os.loadavg().map(round1);
const sink = await startSink(0);
const slowSink = await startSink(200);
const tg = await startFakeTelegram();
try {
  const stub = { api: 'stub', token: STUB_TOKEN, dsn: sink.dsn, concurrency: 1, updates: QUICK ? 10_000 : 30_000, warmup: 3000 };
  const http = { api: 'http', apiRoot: tg.apiRoot, token: tg.token, dsn: sink.dsn, concurrency: 16, updates: QUICK ? 2000 : 6000, warmup: 500 };
  const rows = [
    await compare('stub API, no error', { ...stub, throws: false }),
    await compare('stub API, no error, tracing off (tracesSampleRate 0)', { ...stub, throws: false, tracesSampleRate: 0 }),
    await asyncLocalStorageFloor({ ...stub, throws: false }),
    await compare('stub API, error in every update', { ...stub, throws: true }),
    await compare('stub API, error in every update, storm guard off', { ...stub, throws: true, errorStorm: false, updates: QUICK ? 3000 : 10_000 }),
    await compare('HTTP to fake Telegram, no error', { ...http, throws: false }),
    await compare('HTTP to fake Telegram, error in every update', { ...http, throws: true }),
  ];
  const peerRows = [
    ...(await sideBySide('stub API, no error', { ...stub, throws: false })),
    ...(await sideBySide('stub API, error in every update', { ...stub, throws: true, updates: QUICK ? 3000 : 10_000 })),
    ...(await sideBySide('HTTP to fake Telegram, no error', { ...http, throws: false })),
    ...(await sideBySide('HTTP to fake Telegram, error in every update', { ...http, throws: true })),
  ];
  const storm = await measure({ ...stub, variant: 'sdk', dsn: slowSink.dsn, throws: true, concurrency: 1, stormRate: STORM_RATE, stormSeconds: STORM_SECONDS });
  const stormRow = {
    target_errors_per_s: STORM_RATE,
    achieved_errors_per_s: Math.round(storm.handled / storm.seconds),
    seconds: round1(storm.seconds),
    rss_before_mb: Math.round(storm.rssBefore / 1048576),
    rss_peak_mb: Math.round(storm.rssPeak / 1048576),
    events_built: storm.counters.eventsCaptured,
    storm_suppressed: storm.counters.eventsDropped.storm ?? 0,
    transport_dropped: dropped(storm.counters),
    // Evicted from the full memory queue into the bounded disk queue (sent later) instead of dropped.
    spilled_to_disk: storm.counters.spilledToDisk ?? 0,
    queue_items_at_end: storm.queue.items,
    queue_kb_at_end: Math.round(storm.queue.bytes / 1024),
  };
  const stormUnguarded = await measure({ ...stub, variant: 'sdk', dsn: slowSink.dsn, throws: true, concurrency: 1, errorStorm: false, stormRate: STORM_RATE, stormSeconds: STORM_SECONDS });
  const stormUnguardedRow = {
    ...stormRow,
    achieved_errors_per_s: Math.round(stormUnguarded.handled / stormUnguarded.seconds),
    seconds: round1(stormUnguarded.seconds),
    rss_before_mb: Math.round(stormUnguarded.rssBefore / 1048576),
    rss_peak_mb: Math.round(stormUnguarded.rssPeak / 1048576),
    events_built: stormUnguarded.counters.eventsCaptured,
    storm_suppressed: 0,
    transport_dropped: dropped(stormUnguarded.counters),
    spilled_to_disk: stormUnguarded.counters.spilledToDisk ?? 0,
    queue_items_at_end: stormUnguarded.queue.items,
    queue_kb_at_end: Math.round(stormUnguarded.queue.bytes / 1024),
  };
  const machine = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', platform: `${os.platform()} ${os.release()}`, load_avg_at_start: loadAtStart, load_avg_at_end: os.loadavg().map(round1) };
  const result = { date: new Date().toISOString(), machine, settings: { rounds: ROUNDS, quick: QUICK, storm_rate: STORM_RATE, storm_seconds: STORM_SECONDS, storm_sink_delay_ms: 200, traces_sample_rate: 0.1 }, overhead: rows, peer: { package: PEER.package, version: peerVersion(), rows: peerRows }, storm: { guard_on: stormRow, guard_off: stormUnguardedRow } };
  const overheadColumns = ['scenario', 'bare_updates_per_s', 'sdk_updates_per_s', 'throughput_loss_pct', 'bare_cpu_us_per_update', 'sdk_cpu_us_per_update', 'cpu_overhead_us', 'events_sent', 'transport_dropped', 'storm_suppressed'];
  console.log(`\nSDK overhead per update (grammY bot.handleUpdate; fresh process per measurement; median of ${ROUNDS} rounds)\n`);
  console.log(table(rows, overheadColumns));
  console.log(`\nSide by side with ${PEER.package} ${peerVersion()} (default integrations; same bot, same rounds; overhead vs the bare bot of the same rounds; RSS at the end of the measured updates; events of the last round)\n`);
  console.log(table(peerRows, Object.keys(peerRows[0])));
  console.log(`\nError storm: ${STORM_RATE} throwing updates/s for ${STORM_SECONDS} s, sink answering after 200 ms (guard on = defaults; off = errorStorm: false)\n`);
  console.log(table([{ guard: 'on', ...stormRow }, { guard: 'off', ...stormUnguardedRow }], ['guard', ...Object.keys(stormRow)]));
  console.log(`\n${machine.cpus} x ${machine.cpu}, Node ${machine.node}; load average (1, 5, 15 min) ${loadAtStart.join(' ')} at start, ${machine.load_avg_at_end.join(' ')} at the end`);
  mkdirSync(join(HERE, 'results'), { recursive: true });
  writeFileSync(join(HERE, 'results/latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('wrote benchmarks/sdk/results/latest.json');
} finally {
  await Promise.all([sink.stop(), slowSink.stop(), tg.stop()]);
}
