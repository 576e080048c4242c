// Match speed of the linear-time regex engines Botpulse could run user patterns with
// (BOTPULSE_SCRUB_EXTRA_PATTERNS, later log rules), on realistic scrub input: every string of
// generated 5 KB and 50 KB events (benchmarks/ingest/lib/events.mjs), each pattern probed on every
// string and replaced where it matches, as digest/scrub.ts does. V8's own backtracking RegExp is
// the baseline. Candidates that are not installed are reported as such (only the chosen one is a
// dependency; `npm install --no-save re2 re2-wasm` in a scratch copy to measure the others).
//
//   node benchmarks/user-regex/run.mjs [--events 300] [--rounds 5]
import { createRequire } from 'node:module';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPool } from '../ingest/lib/events.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../packages/server/package.json'));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const EVENTS = arg('events', 300);
const ROUNDS = arg('rounds', 5);

/** Patterns an operator would plausibly add: card numbers, an internal key format, e-mails, a phone. */
const PATTERNS = ['\\b(?:\\d[ -]?){13,16}\\b', 'acme_live_[A-Za-z0-9]{24}', '[\\w.+-]+@[\\w-]+\\.[\\w.]+', '\\+7\\d{10}'];

function strings(value, out) {
  if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) strings(v, out);
  return out;
}

function corpus(sizeKey) {
  const { pool } = buildPool({ sizeKey, count: EVENTS });
  const all = [];
  for (const { buf } of pool) {
    const lines = buf.toString('utf8').split('\n');
    const event = JSON.parse(lines[2]);
    all.push(strings(event, []));
  }
  return all;
}

const engines = {
  'V8 RegExp (backtracking, baseline)': () => (source) => {
    const probe = new RegExp(source);
    const global = new RegExp(source, 'g');
    return { test: (s) => probe.test(s), replace: (s) => s.replace(global, '[Filtered]') };
  },
  're2 (native addon)': () => {
    const RE2 = require('re2');
    return (source) => {
      const probe = new RE2(source, 'u');
      const global = new RE2(source, 'gu');
      return { test: (s) => probe.test(s), replace: (s) => s.replace(global, '[Filtered]') };
    };
  },
  're2-wasm': () => {
    const { RE2 } = require('re2-wasm');
    return (source) => {
      const probe = new RE2(source, 'u');
      const global = new RE2(source, 'gu');
      return { test: (s) => probe.test(s), replace: (s) => s.replace(global, '[Filtered]') };
    };
  },
  're2js (pure JS)': () => {
    const { RE2JS } = require('re2js');
    return (source) => {
      const re = RE2JS.compile(source);
      return { test: (s) => re.test(s), replace: (s) => re.matcher(s).replaceAll('[Filtered]') };
    };
  },
};

function measure(make, events) {
  const compiled = PATTERNS.map(make);
  let strs = 0;
  let matched = 0;
  const times = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = process.hrtime.bigint();
    for (const list of events) {
      for (const s of list) {
        let out = s;
        for (const re of compiled) if (re.test(out)) {
          out = re.replace(out);
          if (round === 0) matched++;
        }
        if (round === 0) strs++;
      }
    }
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return { strings: strs, matched, msPerEvent: median / events.length, nsPerStringPattern: (median * 1e6) / (strs * PATTERNS.length) };
}

/** `(a+)+$` on 35 `a`s and a `!`: V8 backtracks for minutes; a linear engine answers at once. */
function catastrophic(make) {
  const re = make('(a+)+$');
  const t0 = process.hrtime.bigint();
  re.replace(`${'a'.repeat(35)}!`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Longest a 1 MiB text may take before the run gives up on it (re2-wasm did not finish in 120 s). */
const BIG_TEXT_LIMIT_MS = 30_000;

/** bigText() in a worker thread, stopped after BIG_TEXT_LIMIT_MS: null when it did not finish. */
function bigTextGuarded(name) {
  return new Promise((resolve) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { engine: name }, argv: process.argv.slice(2) });
    const timer = setTimeout(() => void worker.terminate().then(() => resolve(null)), BIG_TEXT_LIMIT_MS);
    worker.once('message', (ms) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(ms);
    });
    worker.once('error', () => {
      clearTimeout(timer);
      resolve(null);
    });
  });
}

/** A 1 MiB text attachment (a log file): scrubString runs the patterns over it whole. */
function bigText(make) {
  const line = '2026-12-05T10:00:00Z INFO update 812345 from chat -1001234567890 handled in 12 ms by worker-3\n';
  const text = line.repeat(Math.ceil((1024 * 1024) / line.length)) + 'card 4111 1111 1111 1111 end';
  const compiled = PATTERNS.map(make);
  const t0 = process.hrtime.bigint();
  let out = text;
  for (const re of compiled) if (re.test(out)) out = re.replace(out);
  if (out === text) throw new Error('the card number was not found');
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

if (!isMainThread) {
  parentPort.postMessage(bigText(engines[workerData.engine]()));
  await new Promise(() => {}); // the main thread terminates this worker
}

const results = { date: new Date().toISOString(), node: process.version, events: EVENTS, rounds: ROUNDS, patterns: PATTERNS, rows: [] };
const sets = { '5k': corpus('5k'), '50k': corpus('50k') };
console.log(`${EVENTS} events per size, ${PATTERNS.length} patterns, median of ${ROUNDS} rounds\n`);
console.log('engine                               | size | strings/event | matches | µs/event | ns/(string·pattern) | 1 MiB text | (a+)+$ on 36 chars');
for (const [name, load] of Object.entries(engines)) {
  let make;
  try {
    make = load();
    make('a');
  } catch (err) {
    console.log(`${name.padEnd(36)} | not installed (${String(err.message).split('\n')[0]})`);
    results.rows.push({ engine: name, installed: false });
    continue;
  }
  const bomb = name.startsWith('V8') ? null : catastrophic(make);
  const textMs = await bigTextGuarded(name);
  for (const [size, events] of Object.entries(sets)) {
    const r = measure(make, events);
    const row = { engine: name, size, ...r, oneMiBTextMs: textMs, catastrophicMs: bomb };
    results.rows.push(row);
    console.log(
      `${name.padEnd(36)} | ${size.padEnd(4)} | ${String(Math.round(r.strings / events.length)).padStart(13)} | ${String(r.matched).padStart(7)} | ${(r.msPerEvent * 1000).toFixed(1).padStart(8)} | ${r.nsPerStringPattern.toFixed(0).padStart(19)} | ${(textMs === null ? `> ${BIG_TEXT_LIMIT_MS / 1000} s` : `${textMs.toFixed(1)} ms`).padStart(10)} | ${bomb === null ? 'hangs (not run)' : `${bomb.toFixed(2)} ms`}`,
    );
  }
}
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
