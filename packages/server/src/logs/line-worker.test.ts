// The log-line thread's boundary (docs/logs.md "Threads"): what comes back is what parseNdjson and
// the templater give on one thread; a failure in the thread is an error answer (counted, logged),
// never a batch dropped; a full queue is a 503 with Retry-After; a dead thread is started again.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { createScrubber } from '../digest/scrub.js';
import { parseNdjson } from '../ingest/log-lines.js';
import { ClientError } from '../lib/errors.js';
import { compileUserRegex } from '../lib/user-regex.js';
import type { LogTemplate, NewLogLine } from '../store/logs.js';
import { LogLineWorker, type LineWorkerOptions } from './line-worker.js';
import { LogTemplater } from './templater.js';

const ENTRY = new URL('../log-line-thread.ts', import.meta.url);
const EXIT_ENTRY = new URL('./line-thread-exit.fixture.ts', import.meta.url);
const TOKEN = '7012345678:AAHk3vQ9xZp2LmN8rT5sW1yU4bC6dE0fG7h';
const SCRUB = { extraKeys: ['session'], extraPatterns: ['card-\\d{4}'] };

function capture() {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      records.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { records, logger: pino({ level: 'info' }, stream) };
}

const started: LogLineWorker[] = [];
after(async () => {
  for (const w of started) await w.close();
});

async function start(options: Partial<LineWorkerOptions> = {}) {
  const log = capture();
  const loads: number[] = [];
  const worker = await LogLineWorker.start({
    entry: ENTRY,
    data: { scrub: SCRUB, logLevel: 'silent' },
    load: async (projectId) => {
      loads.push(projectId);
      return [];
    },
    now: () => 1_000_000,
    logger: log.logger,
    ...options,
  });
  started.push(worker);
  return { worker, loads, log };
}

const body = (...records: unknown[]) => Buffer.from(records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n'));

/** A line as the stores see it: every NewLogLine member, fields parsed. */
const plain = (l: NewLogLine) => ({
  projectId: l.projectId,
  time: l.time,
  receivedAt: l.receivedAt,
  level: l.level,
  logger: l.logger,
  message: l.message,
  fields: { ...l.fields },
  environment: l.environment,
  release: l.release,
  source: l.source,
  lineId: l.lineId,
  template: l.template ?? null,
  operation: l.fields['operation'] ?? null,
  durationMs: l.fields['duration_ms'] ?? null,
});

describe('LogLineWorker (the log-line thread)', () => {
  it('gives the lines, rejections and templates that parseNdjson and the templater give on one thread', async () => {
    const { worker } = await start();
    const t = Date.UTC(2026, 11, 6, 7, 0, 0);
    const input = body(
      { level: 50, time: t, msg: `token ${TOKEN} leaked`, name: 'pay-bot', user_id: 42, session: 'abc', note: 'card-1234 used' },
      { event: 'Payment for alice failed', level: 'warning', timestamp: '2026-12-06T07:00:01Z', operation: 'pay', duration_ms: 45, environment: 'production', release: 'bot@1', 'botpulse.line_id': 'l-1' },
      { event: 'Payment for bob failed', level: 'warning', operation: 'pay', duration_ms: 'slow' },
      'not json',
      { level: 'error' },
      { message: 'Payment for carol failed', level: 'INFO', extra: { a: [1, 2] } },
    );
    const receivedAt = t + 5;
    const got = await worker.parse(input, { projectId: 7, receivedAt });

    const here = parseNdjson(Buffer.from(input), { projectId: 7, receivedAt, source: 'ndjson', scrubber: createScrubber({ extraKeys: SCRUB.extraKeys, extraPatterns: SCRUB.extraPatterns.map(compileUserRegex) }) });
    const templater = new LogTemplater({ load: async () => [], now: () => 1_000_000 });
    await templater.prepare(here.lines);
    templater.assign(here.lines);

    assert.deepEqual(got.rejected, here.rejected);
    assert.deepEqual(got.lines.map(plain), here.lines.map(plain));
    assert.equal(got.lines.length, 4);
    assert.ok(!got.lines[0]!.message.includes(TOKEN), 'scrubbed in the thread');
    assert.equal(got.lines[0]!.fields['session'], '[Filtered]');
    assert.equal(got.lines[3]!.template!.text, 'Payment for <*> failed');
    assert.ok(got.lines.some((l) => l.template?.previousIds?.length), 'a generalised template names the one it replaced');
    assert.equal(got.lines[1]!.operation, 'pay');
    assert.equal(got.lines[1]!.fieldsJson, JSON.stringify(here.lines[1]!.fields), 'the fields as the stores write them');
  });

  it('refuses a body that is not NDJSON with parseNdjson\'s 400', async () => {
    const { worker } = await start();
    await assert.rejects(worker.parse(Buffer.from('a\nb'), { projectId: 1, receivedAt: 1 }), (err: unknown) => err instanceof ClientError && err.status === 400 && /not NDJSON/.test(err.message));
    await assert.rejects(worker.parse(Buffer.from([0xff, 0xfe]), { projectId: 1, receivedAt: 1 }), (err: unknown) => err instanceof ClientError && err.status === 400 && /UTF-8/.test(err.message));
    assert.equal(worker.health().failures, 0, 'the sender\'s fault is not the thread\'s');
  });

  it('seeds each project\'s miner once from the stored templates, and templates Sentry lines with the same miner', async () => {
    const seeded: Pick<LogTemplate, 'template' | 'count'>[] = [{ template: 'Order for <*> shipped', count: 5 }];
    const loads: number[] = [];
    const { worker } = await start({ load: async (projectId) => (loads.push(projectId), projectId === 3 ? seeded : []) });
    const a = await worker.parse(body({ msg: 'Order for alice shipped' }), { projectId: 3, receivedAt: 1 });
    await worker.parse(body({ msg: 'Order for bob shipped' }), { projectId: 3, receivedAt: 1 });
    await worker.parse(body({ msg: 'Order for bob shipped' }), { projectId: 4, receivedAt: 1 });
    assert.deepEqual(loads, [3, 4]);
    assert.equal(a.lines[0]!.template!.text, 'Order for <*> shipped', 'the seeded template');
    const sentry: NewLogLine[] = [{ projectId: 3, time: 1, receivedAt: 1, level: 'info', logger: null, message: 'Order for carol shipped', fields: {}, environment: null, release: null, source: 'sentry', lineId: null }];
    await worker.assign(sentry);
    assert.equal(sentry[0]!.template!.id, a.lines[0]!.template!.id);
    assert.equal(sentry[0]!.template!.seenAt, 1_000_000);
  });

  it('a batch the thread cannot finish is an error (counted and logged), not an answer', async () => {
    const { worker, log } = await start({ load: async () => Promise.reject(new Error('database is locked')) });
    await assert.rejects(worker.parse(body({ msg: 'x' }), { projectId: 1, receivedAt: 1 }), (err: unknown) => !(err instanceof ClientError) && /database is locked/.test((err as Error).message));
    assert.equal(worker.health().failures, 1);
    assert.ok(log.records.some((r) => r['level'] === 50 && /failed a batch/.test(String(r['msg']))), 'logged at error');
  });

  it('refuses a batch with 503 and Retry-After while its queue is full, and takes batches again once it drains', async () => {
    const { worker } = await start({ maxQueued: 2 });
    const first = worker.parse(body({ msg: 'one' }), { projectId: 1, receivedAt: 1 });
    const second = worker.parse(body({ msg: 'two' }), { projectId: 1, receivedAt: 1 });
    await assert.rejects(worker.parse(body({ msg: 'three' }), { projectId: 1, receivedAt: 1 }), (err: unknown) => err instanceof ClientError && err.status === 503 && err.headers['Retry-After'] === '1');
    assert.equal(worker.health().refusedFull, 1);
    assert.equal((await first).lines.length, 1);
    assert.equal((await second).lines.length, 1);
    assert.equal((await worker.parse(body({ msg: 'four' }), { projectId: 1, receivedAt: 1 })).lines.length, 1);
  });

  it('a thread that dies: its batches are answered 503 (counted, logged) and it is started again', async () => {
    const { worker, log } = await start({ entry: EXIT_ENTRY });
    await assert.rejects(worker.parse(Buffer.from('exit'), { projectId: 1, receivedAt: 1 }), (err: unknown) => err instanceof ClientError && err.status === 503 && err.headers['Retry-After'] === '1');
    assert.equal(worker.health().lostInThread, 1);
    assert.ok(log.records.some((r) => r['level'] === 50 && /log-line thread exited/.test(String(r['msg']))));
    while (worker.health().threadDown || worker.health().threadRestarts === 0) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await worker.parse(body({ msg: 'after the restart' }), { projectId: 1, receivedAt: 1 })).lines[0]!.message, 'after the restart');
  });
});
