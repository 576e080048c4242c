#!/usr/bin/env node
// Alerts benchmark. A real `botpulse serve` child process, the fake Telegram in this process
// (Botpulse's alert bot sends to it), events posted over HTTP as an SDK would.
//
// 1. Latency: one new issue at a time (grouping window 0), from the event's 200 to the moment the
//    alert's sendMessage reaches the fake Telegram. Issues rotate over 20 projects with a chat each,
//    spaced so Telegram's per-chat pacing (1 message/s) never queues them: this is the alert path,
//    not the pacing.
// 2. Storm: as fast as this machine allows (target 5,000 events/s) across 50 issues of one
//    project whose cooldown is short enough to fire several times during the storm; then checks
//    that the chat got at most one message per issue per cooldown, and every issue at least once.
//
//   npm run build && node benchmarks/alerts/run.mjs [--issues 200] [--storm-seconds 20] [--rate 5000] [--concurrency 128]
//   --storm-only skips the latency part; BENCH_NO_ALERTS=1 with it runs the same storm with alerting off (A/B).

import { randomUUID } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { execSync } from 'node:child_process';
import { freePort, seedAlertProjects, startServe } from '../lib/local-server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const SERVER_DIST = join(ROOT, 'packages/server/dist');
const FAKE_DIST = join(ROOT, 'packages/fake-telegram/dist/index.js');
const TARGET_P95_MS = 1000;
const PROJECTS = 20;
const STORM_ISSUES = 50;
const STORM_COOLDOWN_S = 5;

const { values: flags } = parseArgs({
  options: {
    issues: { type: 'string', default: '200' },
    'spacing-ms': { type: 'string', default: '100' },
    'storm-seconds': { type: 'string', default: '20' },
    rate: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '128' },
    'storm-only': { type: 'boolean', default: false },
    out: { type: 'string', default: join(HERE, 'results', 'latest.json') },
  },
});
const log = (s) => process.stdout.write(s + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

for (const f of [join(SERVER_DIST, 'cli/main.js'), FAKE_DIST]) {
  if (!existsSync(f)) {
    console.error(`${f} is missing: run \`npx tsc -b packages/fake-telegram packages/server\` first`);
    process.exit(1);
  }
}
const { FakeTelegram } = await import(pathToFileURL(FAKE_DIST).href);

// ── set-up ──────────────────────────────────────────────────────────────────

const tg = await FakeTelegram.start({ maxCallLog: 1_000_000 });
const { token } = tg.createBot({ username: 'botpulse_bench_bot' });
const dataDir = mkdtempSync(join(os.tmpdir(), 'botpulse-bench-alerts-'));
const projects = await seedAlertProjects({
  dist: SERVER_DIST,
  tg,
  dataDir,
  firstChatId: -1002000000000,
  projects: Array.from({ length: PROJECTS + 1 }, (_, i) =>
    i === PROJECTS ? { name: 'Storm Bot', slug: 'storm', shortIdPrefix: 'S' } : { name: `Bench Bot ${i}`, slug: `bench-${i}`, shortIdPrefix: 'B' },
  ),
});
const port = await freePort();
const baseUrl = `http://127.0.0.1:${port}`;
const server = await startServe({
  dist: SERVER_DIST,
  dataDir,
  port,
  env: {
    BOTPULSE_BACKLOG_LIMIT: '2000000',
    ...(process.env.BENCH_NO_ALERTS ? {} : { BOTPULSE_TELEGRAM_TOKEN: token }),
    BOTPULSE_TELEGRAM_API_ROOT: tg.apiRoot,
    BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0',
    BOTPULSE_ALERT_RULES: JSON.stringify({ storm: { cooldownSeconds: STORM_COOLDOWN_S } }),
  },
});
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(flags.concurrency) });

function post(project, name, level = 'error') {
  const body = JSON.stringify({
    event_id: randomUUID().replace(/-/g, ''),
    timestamp: Date.now() / 1000,
    level,
    platform: 'node',
    fingerprint: [name],
    exception: { values: [{ type: 'Error', value: `${name}: handler failed`, stacktrace: { frames: [{ filename: '/app/bot.js', function: 'onUpdate', lineno: 10, in_app: true }] } }] },
    contexts: { telegram: { chat_id: 1, user_id: 1, update_type: 'message' } },
  });
  return new Promise((res, rej) => {
    const req = http.request(
      `${baseUrl}/api/${project.id}/store/`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${project.publicKey}` } },
      (r) => {
        r.resume();
        r.on('end', () => res({ status: r.statusCode, at: Date.now() }));
      },
    );
    req.on('error', rej);
    req.end(body);
  });
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

// ── 1. latency ──────────────────────────────────────────────────────────────

async function latency() {
  const n = Number(flags.issues);
  const spacing = Number(flags['spacing-ms']);
  const answered = new Map();
  for (let i = 0; i < n; i++) {
    const name = `lat-${String(i).padStart(4, '0')}`;
    const project = projects[i % PROJECTS];
    const started = Date.now();
    const { status, at } = await post(project, name);
    if (status !== 200) throw new Error(`ingest answered ${status}`);
    answered.set(name, at);
    await sleep(Math.max(0, spacing - (Date.now() - started)));
  }
  await tg.waitFor(() => tg.calls({ token, method: 'sendMessage', ok: true }).length >= n, { timeoutMs: 30_000, what: 'every latency alert' });
  const latencies = [];
  for (const call of tg.calls({ token, method: 'sendMessage', ok: true })) {
    const name = /lat-\d{4}/.exec(String(call.params.text))?.[0];
    if (name && answered.has(name)) latencies.push(call.at - answered.get(name));
  }
  latencies.sort((a, b) => a - b);
  return { issues: n, measured: latencies.length, p50Ms: pct(latencies, 50), p95Ms: pct(latencies, 95), p99Ms: pct(latencies, 99), maxMs: latencies.at(-1), minMs: latencies[0] };
}

// ── 2. storm ────────────────────────────────────────────────────────────────

async function storm() {
  const project = projects[PROJECTS];
  const seconds = Number(flags['storm-seconds']);
  const rate = Number(flags.rate);
  const concurrency = Number(flags.concurrency);
  const statuses = new Map();
  let sent = 0;
  const started = Date.now();
  const end = started + seconds * 1000;
  // A paced open loop: each worker posts when the schedule says; behind schedule it posts at once.
  const worker = async () => {
    while (Date.now() < end) {
      const i = sent++;
      const due = started + (i * 1000) / rate;
      if (due > Date.now()) await sleep(due - Date.now());
      const { status } = await post(project, `storm-${String(i % STORM_ISSUES).padStart(2, '0')}`);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (Date.now() - started) / 1000;
  const accepted = statuses.get(200) ?? 0;
  // Let the digest drain and the last cooldowns end, so every follow-up that is due is sent.
  await sleep((STORM_COOLDOWN_S + 3) * 1000);
  const messages = tg.calls({ token, method: 'sendMessage', ok: true }).filter((c) => String(c.params.chat_id) === String(project.chat));
  const perIssue = new Map();
  for (const m of messages) {
    for (const name of new Set(String(m.params.text).match(/storm-\d\d/g) ?? [])) {
      if (!perIssue.has(name)) perIssue.set(name, []);
      perIssue.get(name).push(m.at);
    }
  }
  let minGapMs = Infinity;
  for (const times of perIssue.values()) for (let k = 1; k < times.length; k++) minGapMs = Math.min(minGapMs, times[k] - times[k - 1]);
  const window = (Date.now() - started) / 1000;
  const maxPerIssue = Math.max(...[...perIssue.values()].map((t) => t.length));
  return {
    targetRate: rate,
    seconds: Math.round(elapsed * 10) / 10,
    posted: sent,
    accepted,
    acceptedPerSec: Math.round(accepted / elapsed),
    statuses: Object.fromEntries(statuses),
    issues: STORM_ISSUES,
    issuesAlerted: perIssue.size,
    cooldownS: STORM_COOLDOWN_S,
    observedS: Math.round(window),
    messages: messages.length,
    maxMessagesPerIssue: maxPerIssue,
    allowedPerIssue: Math.ceil(window / STORM_COOLDOWN_S),
    minGapBetweenMessagesOfOneIssueMs: Number.isFinite(minGapMs) ? minGapMs : null,
  };
}

// ── run ─────────────────────────────────────────────────────────────────────

try {
  log(`alerts benchmark: ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}, node ${process.version}`);
  const lat = flags['storm-only'] ? { measured: 0 } : await latency();
  log(`latency done: ${lat.measured} alerts`);
  const st = await storm();
  const ok = {
    latencyP95: lat.p95Ms < TARGET_P95_MS,
    everyStormIssueAlerted: st.issuesAlerted === st.issues,
    atMostOnePerCooldown: st.minGapBetweenMessagesOfOneIssueMs === null || st.minGapBetweenMessagesOfOneIssueMs >= STORM_COOLDOWN_S * 1000,
  };
  const rows = [
    ['alert latency (200 → sendMessage)', `${lat.measured} issues, 20 chats, window 0`, `p50 ${lat.p50Ms} ms · p95 ${lat.p95Ms} ms · p99 ${lat.p99Ms} ms · max ${lat.maxMs} ms`, ok.latencyP95 ? `✔ p95 < ${TARGET_P95_MS} ms` : `✖ p95 ≥ ${TARGET_P95_MS} ms`],
    ['storm rate reached', `target ${st.targetRate}/s for ${st.seconds} s, ${st.issues} issues`, `${st.acceptedPerSec} events/s accepted (${st.accepted} of ${st.posted}; ${JSON.stringify(st.statuses)})`, st.acceptedPerSec >= st.targetRate ? '✔' : 'below target (machine-bound)'],
    ['storm messages', `cooldown ${st.cooldownS} s, ${st.observedS} s observed`, `${st.messages} messages · ${st.issuesAlerted}/${st.issues} issues alerted · max ${st.maxMessagesPerIssue} per issue (allowed ${st.allowedPerIssue}) · min gap ${st.minGapBetweenMessagesOfOneIssueMs ?? '–'} ms`, ok.atMostOnePerCooldown && ok.everyStormIssueAlerted ? '✔ ≤ 1 per issue per cooldown' : '✖'],
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length), ['measure', 'setup', 'result', 'verdict'][c].length));
  const line = (r) => `| ${r.map((v, c) => v.padEnd(widths[c])).join(' | ')} |`;
  log('');
  log(line(['measure', 'setup', 'result', 'verdict']));
  log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) log(line(r));
  let commit = null;
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
  } catch {}
  mkdirSync(dirname(flags.out), { recursive: true });
  writeFileSync(
    flags.out,
    JSON.stringify({ machine: { date: new Date().toISOString(), cpuModel: os.cpus()[0]?.model, cores: os.availableParallelism(), node: process.version, gitCommit: commit }, latency: lat, storm: st, ok }, null, 2) + '\n',
  );
  log(`\nwritten to ${flags.out}`);
  process.exitCode = Object.values(ok).every(Boolean) ? 0 : 1;
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  agent.destroy();
  await tg.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
