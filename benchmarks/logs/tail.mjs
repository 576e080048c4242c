#!/usr/bin/env node
// `botpulse tail` throughput: lines per second from a log file to the logs endpoint's answer.
// A real `botpulse tail` child process reads a file already holding N lines (a backlog, the
// fastest case: no polling) and ships it to a minimal stand-in of `POST /api/<project>/logs/` in
// this process (gunzip + count lines + answer, so the figure is the client's, not a server's).
// Shapes: seed 002's plain-text format (with a traceback every 50 lines) and pino JSON lines.
// Reports lines/s from spawn to the last line acknowledged (process start included), batches,
// and the tail process's peak RSS (VmHWM). Prints a table and writes JSON.
//
//   npx tsc -b && node benchmarks/logs/tail.mjs [--lines 200000] [--out benchmarks/logs/results/tail-latest.json]

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(HERE, '../../packages/server/bin/botpulse.mjs');
const BUILT = resolve(HERE, '../../packages/server/dist/cli/tail-main.js');
const { values: flags } = parseArgs({
  options: {
    lines: { type: 'string', default: '200000' },
    out: { type: 'string', default: join(HERE, 'results', 'tail-latest.json') },
  },
});
if (!existsSync(BUILT)) {
  console.error(`${BUILT} is missing: run \`npx tsc -b\` first`);
  process.exit(1);
}
const LINES = Number(flags.lines);
const KEY = 'b'.repeat(32);

/** The stand-in: counts lines per request, answers like the real endpoint (no dedupe: ids are unique here). */
function startStandIn() {
  const state = { lines: 0, requests: 0, bytes: 0, lastAt: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      state.bytes += body.length;
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      let n = 0;
      for (let i = body.indexOf(10); i >= 0; i = body.indexOf(10, i + 1)) n++;
      state.lines += n;
      state.requests++;
      state.lastAt = performance.now();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ accepted: n, duplicates: 0, rejected: [] }));
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, state, port: server.address().port })));
}

const traceback = 'Traceback (most recent call last):\n  File "/app/bot/handlers.py", line 88, in on_update\n    await generate(update)\nTimeoutError: generation took too long\n';
function textLine(i) {
  const s = String(i % 60).padStart(2, '0');
  if (i % 50 === 49) return `2024-01-01 12:00:${s},123 - bot.handlers - ERROR - Error handling request ${i}\n${traceback}`;
  return `2024-01-01 12:00:${s},123 - bot.handlers - INFO - Webhook processed update_id=${100000 + i} in ${i % 900}ms\n`;
}
function jsonLine(i) {
  return JSON.stringify({ level: 30, time: 1704110400000 + i, pid: 1, hostname: 'bot', name: 'bot', msg: 'Webhook processed', update_id: 100000 + i, user_id: i % 5000, operation: 'webhook', duration_ms: i % 900 }) + '\n';
}

async function writeFile(path, make) {
  const out = createWriteStream(path);
  for (let i = 0; i < LINES; i++) if (!out.write(make(i))) await new Promise((r) => out.once('drain', r));
  await new Promise((r) => out.end(r));
}

function peakRss(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function runShape(name, make, records) {
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-tail-'));
  const file = join(dir, 'bot.log');
  await writeFile(file, make);
  const { server, state, port } = await startStandIn();
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'tail', file, '--state', join(dir, 'state.json'), '--dsn', `http://${KEY}@127.0.0.1:${port}/1`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let rss;
  while (state.lines < records) {
    rss = peakRss(child.pid) ?? rss;
    if (child.exitCode !== null) throw new Error(`botpulse tail exited: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  rss = peakRss(child.pid) ?? rss;
  const seconds = (state.lastAt - started) / 1000;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  server.close();
  rmSync(dir, { recursive: true, force: true });
  return { shape: name, records, seconds: +seconds.toFixed(2), linesPerSecond: Math.round(records / seconds), requests: state.requests, wireBytes: state.bytes, peakRssBytes: rss };
}

const textRecords = LINES; // a traceback joins into its line: one record per generated line
const results = [await runShape('seed 002 text (+ tracebacks)', textLine, textRecords), await runShape('pino JSON', jsonLine, LINES)];

const row = (cells) => cells.map((c, i) => String(c).padEnd([30, 9, 9, 11, 10, 12][i])).join(' ');
console.log(`botpulse tail, ${LINES} lines per shape, ${os.cpus().length} cores, Node ${process.version}, load average ${os.loadavg()[0].toFixed(1)} (other work on the machine counts)`);
console.log(row(['shape', 'records', 'seconds', 'lines/s', 'requests', 'peak RSS MiB']));
for (const r of results) console.log(row([r.shape, r.records, r.seconds, r.linesPerSecond, r.requests, r.peakRssBytes ? (r.peakRssBytes / 2 ** 20).toFixed(0) : '?']));
mkdirSync(dirname(flags.out), { recursive: true });
writeFileSync(flags.out, JSON.stringify({ at: new Date().toISOString(), node: process.version, cores: os.cpus().length, loadAverage: os.loadavg()[0], lines: LINES, results }, null, 2) + '\n');
console.log(`written to ${flags.out}`);
