// Memory of `botpulse serve` under parallel gzip bombs (issue 11, item 5): each bomb is a 95 KiB
// gzip body that inflates to 95 MiB. Two kinds: without any key (refused at the envelope header
// line since the fix; inflated whole before it), and with the project's key (bounded by
// BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT). For each kind and count, a fresh server: peak RSS (VmHWM)
// and RSS after the burst, with the answers. Run it against another checkout's build (e.g. the
// main branch before the fix) with --root.
//
//   node benchmarks/ingest/bombs.mjs [--root /path/to/checkout] [--counts 8,16] [--label after]
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { freePort } from '../lib/local-server.mjs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const opt = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const root = resolve(opt('root', join(here, '../..')));
const counts = opt('counts', '8,16').split(',').map(Number);
const label = opt('label', root === resolve(join(here, '../..')) ? 'this checkout' : root);
const cli = join(root, 'packages/server/dist/cli/main.js');
const MiB = 1024 * 1024;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const kib = (status, key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
const memory = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssMb: kib(status, 'VmRSS') / 1024, hwmMb: kib(status, 'VmHWM') / 1024 };
};

async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-bombs-'));
  const logFile = join(dataDir, '..', `${dataDir.split('/').pop()}.log`);
  const port = await freePort();
  const guard = fork(join(here, 'lib/guard.mjs'), [logFile, dataDir, process.execPath, cli, 'serve'], {
    env: { ...process.env, BOTPULSE_DATA_DIR: join(dataDir, 'data'), BOTPULSE_PORT: String(port), BOTPULSE_HOST: '127.0.0.1', BOTPULSE_LOG_LEVEL: 'warn' },
  });
  const pid = await new Promise((ok) => guard.on('message', (m) => m.type === 'spawned' && ok(m.pid)));
  for (let i = 0; i < 300; i++) {
    const log = (() => { try { return readFileSync(logFile, 'utf8'); } catch { return ''; } })();
    const dsn = /DSN: http:\/\/([0-9a-f]{32})@[^/]+\/(\d+)/.exec(log);
    if (dsn) return { pid, port, key: dsn[1], project: dsn[2], guard, dataDir, logFile };
    await sleep(100);
  }
  throw new Error(`server did not start; see ${logFile}`);
}

async function stopServer(s) {
  const exited = new Promise((ok) => s.guard.on('message', (m) => m.type === 'exit' && ok()));
  s.guard.send({ cmd: 'stop', graceMs: 10_000 });
  await exited;
  s.guard.disconnect?.();
  rmSync(s.dataDir, { recursive: true, force: true });
  rmSync(s.logFile, { force: true });
}

function bomb(withKey, eventId) {
  const header = withKey ? `{"event_id":"${eventId}"}\n{"type":"attachment","filename":"dump.bin"}\n` : '{}\n';
  return zlib.gzipSync(Buffer.concat([Buffer.from(header), Buffer.alloc(95 * MiB)]), { level: 9 });
}

function post(s, body, withKey) {
  return new Promise((ok) => {
    const headers = { 'content-encoding': 'gzip', 'content-length': String(body.length) };
    if (withKey) headers['x-sentry-auth'] = `Sentry sentry_version=7, sentry_key=${s.key}`;
    const req = http.request({ host: '127.0.0.1', port: s.port, path: `/api/${s.project}/envelope/`, method: 'POST', headers }, (res) => {
      res.resume().on('end', () => ok(res.statusCode));
    });
    req.on('error', () => ok('err'));
    req.setTimeout(120_000, () => req.destroy());
    req.end(body);
  });
}

const rows = [];
for (const withKey of [false, true]) {
  for (const count of counts) {
    const s = await startServer();
    await sleep(500);
    const base = memory(s.pid);
    const bodies = Array.from({ length: count }, (_, i) => bomb(withKey, (i + 1).toString(16).padStart(32, '0')));
    let peakRss = base.rssMb;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, memory(s.pid).rssMb)), 50);
    const t0 = Date.now();
    const statuses = await Promise.all(bodies.map((b) => post(s, b, withKey)));
    const seconds = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    await sleep(1000);
    const after = memory(s.pid);
    const tally = Object.entries(statuses.reduce((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {})).map(([k, v]) => `${v}×${k}`).join(' ');
    rows.push({ kind: withKey ? 'with key' : 'no key', count, answers: tally, seconds, baseRssMb: base.rssMb, peakRssMb: Math.max(peakRss, after.hwmMb), rssAfterMb: after.rssMb });
    await stopServer(s);
  }
}

console.log(`\n${label}: ${counts.join('/')} parallel 95 KiB gzip bodies of 95 MiB each\n`);
console.log('kind      | bombs | answers          | s     | RSS before MB | peak RSS MB | RSS 1 s after MB');
for (const r of rows) {
  console.log(`${r.kind.padEnd(9)} | ${String(r.count).padStart(5)} | ${r.answers.padEnd(16)} | ${r.seconds.toFixed(1).padStart(5)} | ${r.baseRssMb.toFixed(0).padStart(13)} | ${r.peakRssMb.toFixed(0).padStart(11)} | ${r.rssAfterMb.toFixed(0).padStart(16)}`);
}
mkdirSync(join(here, 'results'), { recursive: true });
const out = join(here, 'results', `bombs-${opt('label', 'latest').replace(/[^\w.-]+/g, '_')}.json`);
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), label, root, node: process.version, rows }, null, 2)}\n`);
console.log(`\nwritten: ${out}`);
