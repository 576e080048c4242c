import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LogsStandIn } from '../test-support/logs-standin.js';

// `botpulse tail` as a real process, against a recording stand-in of the logs endpoint, on real
// files that are rotated and truncated under it. Conditions are polled, never timed.

// Through the bin, as users run it: `botpulse tail` has its own light entry (cli/tail-main.ts).
const CLI = fileURLToPath(new URL('../../bin/botpulse.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/cli/tail-main.js', import.meta.url));

interface Tail {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
}

function startTail(args: string[], env: Record<string, string> = {}): Tail {
  const child = spawn(process.execPath, [CLI, 'tail', ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

async function waitFor(what: string, condition: () => boolean, detail: () => string = () => '', timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The last `read N` a status line reported. */
function linesRead(stderr: string): number {
  const all = [...stderr.matchAll(/read (\d+), sent/g)];
  return all.length ? Number(all[all.length - 1]![1]) : 0;
}

const seedLine = (n: number, level = 'INFO') => `2024-01-01 12:00:${String(n % 60).padStart(2, '0')},123 - bot.handlers - ${level} - line ${n} done user_id=${n}\n`;
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => seedLine(from + i)).join('');
const expected = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i} done user_id=${from + i}`);

describe('botpulse tail (a real process against the logs stand-in)', { skip: !existsSync(BUILT) && 'run `npx tsc -b` first' }, () => {
  let dir: string;
  let standIn: LogsStandIn;
  let running: Tail[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-tail-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const t of running) t.child.kill('SIGKILL');
    running = [];
    await standIn?.stop();
  });

  const tail = (args: string[], env: Record<string, string> = {}) => {
    const t = startTail(args, env);
    running.push(t);
    return t;
  };
  const noSecret = (t: Tail) => assert.ok(!t.stderr().includes(standIn.key), `the DSN key was printed:\n${t.stderr()}`);
  const sortedMessages = () => standIn.messages().sort();

  it('survives rotation (rename + new file), truncation and a 10 s outage: every line arrives exactly once', async () => {
    standIn = new LogsStandIn();
    await standIn.start();
    const log = join(dir, 'rotate.log');
    writeFileSync(log, lines(1, 20));
    const t = tail([log, '--dsn', standIn.dsn, '--state', join(dir, 'rotate.state'), '--status', '0.1', '--retry-max', '2']);
    await waitFor('the first 20 lines', () => standIn.lines.size >= 20, t.stderr);

    await standIn.stop(); // the server goes away for 10 s
    const stoppedAt = Date.now();
    appendFileSync(log, lines(21, 40));
    renameSync(log, `${log}.1`); // logrotate: rename, then the bot opens a new file
    writeFileSync(log, lines(41, 60));
    await waitFor('the tail to read 60 lines while the server is away', () => linesRead(t.stderr()) >= 60, t.stderr);
    truncateSync(log, 0); // copytruncate: same file, from 0 again
    appendFileSync(log, lines(61, 70));
    await waitFor('the tail to read the rewritten file', () => linesRead(t.stderr()) >= 70, t.stderr);
    assert.match(t.stderr(), /truncated/);
    assert.match(t.stderr(), /retrying \(ECONNREFUSED/);
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - stoppedAt))));
    await standIn.start(); // same port

    await waitFor('all 70 lines', () => standIn.lines.size >= 70, () => `${t.stderr()}\n${sortedMessages().join('\n')}`);
    assert.deepEqual(sortedMessages(), expected(1, 70).sort());
    assert.equal(standIn.lines.size, 70, 'one line id per line');
    const first = [...standIn.lines.values()][0]!;
    assert.equal(first.level, 'info');
    assert.equal(first.logger, 'bot.handlers');
    assert.equal(typeof first.time, 'number');
    t.child.kill('SIGTERM');
    assert.equal(await t.exited, 0);
    assert.match(t.stderr(), /done: read 70, sent 70 \(\d+ duplicates\), dropped 0/);
    noSecret(t);
  });

  it('resumes from the saved offset after a restart, also when the file was rotated meanwhile: no line twice', async () => {
    standIn = new LogsStandIn();
    await standIn.start();
    const log = join(dir, 'restart.log');
    const state = join(dir, 'restart.state');
    writeFileSync(log, lines(1, 10));
    const first = tail([log, '--dsn', standIn.dsn, '--state', state]);
    await waitFor('10 lines', () => standIn.lines.size >= 10, first.stderr);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.stderr());
    assert.match(readFileSync(state, 'utf8'), /"offset": \d+/);

    appendFileSync(log, lines(11, 20)); // written while botpulse tail is down
    renameSync(log, `${log}.1`);
    writeFileSync(log, lines(21, 30));
    const second = tail([log, '--state', state], { BOTPULSE_DSN: standIn.dsn });
    await waitFor('30 lines', () => standIn.lines.size >= 30, second.stderr);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.stderr());
    assert.deepEqual(sortedMessages(), expected(1, 30).sort());
    assert.equal(standIn.duplicates, 0, 'nothing was sent twice');
    assert.match(second.stderr(), /done: read 20, sent 20/);
    noSecret(second);
  });

  it('sends a batch again when its answer was lost, with the same line ids, so the server keeps each line once', async () => {
    standIn = new LogsStandIn();
    standIn.mode = { kind: 'lose-answer' };
    await standIn.start();
    const log = join(dir, 'lost.log');
    writeFileSync(log, lines(1, 5));
    const t = tail([log, '--dsn', standIn.dsn, '--state', join(dir, 'lost.state'), '--retry-max', '1']);
    // Every line received while the answers are lost (the five may travel in more than one batch:
    // the last waits for continuation lines longer than a partial batch waits to leave).
    await waitFor('two answers lost, every line received', () => standIn.answersLost >= 2 && standIn.lines.size === 5, t.stderr);
    const before = standIn.duplicates;
    standIn.mode = { kind: 'accept' };
    await waitFor('the resend recognised', () => standIn.duplicates - before >= 5 && /"offset"/.test(readIfExists(join(dir, 'lost.state'))), t.stderr);
    assert.deepEqual(sortedMessages(), expected(1, 5).sort());
    t.child.kill('SIGTERM');
    assert.equal(await t.exited, 0);
    assert.match(t.stderr(), /done: read 5, sent 5 \(5 duplicates\), dropped 0/);
  });

  it('joins a Python traceback into the line above it and names its error type', async () => {
    standIn = new LogsStandIn();
    await standIn.start();
    const log = join(dir, 'traceback.log');
    writeFileSync(
      log,
      '2024-01-01 12:00:00,123 - bot.db - ERROR - Database connection lost\n' +
        'Traceback (most recent call last):\n' +
        '  File "/app/bot/db.py", line 42, in fetch\n' +
        '    rows = await pool.fetch(query)\n' +
        'ConnectionResetError: [Errno 104] Connection reset by peer\n' +
        '2024-01-01 12:00:01,000 - bot.handlers - INFO - after the crash\n',
    );
    const t = tail([log, '--dsn', standIn.dsn, '--state', join(dir, 'traceback.state')]);
    await waitFor('2 records', () => standIn.lines.size >= 2, t.stderr);
    const [crash, after] = [...standIn.lines.values()].sort((a, b) => String(a.message).localeCompare(String(b.message))).reverse();
    assert.equal(standIn.lines.size, 2);
    assert.match(crash!.message, /^Database connection lost\nTraceback \(most recent call last\):\n {2}File "\/app\/bot\/db.py"[\s\S]*ConnectionResetError: \[Errno 104\] Connection reset by peer$/);
    assert.equal(crash!.level, 'error');
    assert.equal(crash!.logger, 'bot.db');
    assert.equal(crash!.error_type, 'ConnectionResetError');
    assert.equal(after!.message, 'after the crash');
  });

  it('reads standard input with docker compose prefixes stripped, text and JSON lines, and exits at its end', async () => {
    standIn = new LogsStandIn();
    await standIn.start();
    const t = tail(['-', '--dsn', standIn.dsn]);
    t.child.stdin!.end(
      'bot-1  | 2024-01-01 12:00:00,123 - bot - WARNING - Duplicate update_id 1001\n' +
        'bot-1  | {"level":50,"time":1704110400000,"msg":"Webhook timeout","name":"pino-bot","update_id":1002,"duration_ms":812}\n' +
        'bot-1  | 2024-01-01 12:00:03,000 - bot - ERROR - Error handling request\n' +
        'bot-1  | Traceback (most recent call last):\n' +
        'worker_2  | {"event":"Model not found","level":"warning","timestamp":"2024-01-01T12:00:02Z","logger":"gen","user_id":5}\n' +
        'bot-1  |   File "/app/bot.py", line 9, in handle\n' +
        "bot-1  | KeyError: 'user'\n" +
        'plain words from a print()\n',
    );
    assert.equal(await t.exited, 0, t.stderr());
    const byMessage = new Map([...standIn.lines.values()].map((l) => [l.message.split('\n')[0]!, l]));
    assert.deepEqual([...byMessage.keys()].sort(), ['Duplicate update_id 1001', 'Error handling request', 'Model not found', 'Webhook timeout', 'plain words from a print()']);
    const crash = byMessage.get('Error handling request')!;
    assert.equal(crash.message, 'Error handling request\nTraceback (most recent call last):\n  File "/app/bot.py", line 9, in handle\nKeyError: \'user\'', 'the worker line in between did not split the traceback');
    assert.equal(crash.error_type, 'KeyError');
    assert.deepEqual(pick(byMessage.get('Duplicate update_id 1001')!, ['level', 'logger', 'service', 'container']), { level: 'warning', logger: 'bot', service: 'bot', container: 'bot-1' });
    assert.deepEqual(pick(byMessage.get('Webhook timeout')!, ['level', 'logger', 'time', 'update_id', 'duration_ms']), {
      level: 'error', logger: 'pino-bot', time: 1704110400000, update_id: 1002, duration_ms: 812,
    });
    assert.deepEqual(pick(byMessage.get('Model not found')!, ['level', 'logger', 'time', 'user_id', 'service']), {
      level: 'warning', logger: 'gen', time: Date.parse('2024-01-01T12:00:02Z'), user_id: 5, service: 'worker',
    });
    assert.equal(byMessage.get('plain words from a print()')!.level, undefined, 'an unparsed line has no level');
    assert.match(t.stderr(), /done: read 5, sent 5/);
    noSecret(t);
  });

  it('standard input with the server away and a full buffer: the oldest lines are dropped and counted, the rest arrive', async () => {
    standIn = new LogsStandIn();
    standIn.mode = { kind: 'status', status: 503, retryAfter: 0 };
    await standIn.start();
    const t = tail(['-', '--dsn', standIn.dsn, '--buffer-lines', '10', '--retry-max', '1']);
    t.child.stdin!.end(lines(1, 50));
    await waitFor('the server to be tried', () => (standIn.refused.get(503) ?? 0) >= 1, t.stderr);
    standIn.mode = { kind: 'accept' };
    assert.equal(await t.exited, 0, t.stderr());
    const received = standIn.messages().map((m) => Number(/^line (\d+) /.exec(m)![1])).sort((a, b) => a - b);
    const dropped = Number(/dropped (\d+)/.exec(t.stderr().split('done:')[1]!)![1]);
    assert.ok(dropped > 0, t.stderr());
    assert.equal(received.length + dropped, 50, t.stderr());
    // What was kept is the newest: after the first batch taken, a contiguous run up to the last line.
    assert.equal(received[received.length - 1], 50);
    noSecret(t);
  });

  it('SIGTERM with standard input still open and the server away: exits after the flush timeout and counts the unsent lines as lost', async () => {
    standIn = new LogsStandIn();
    standIn.mode = { kind: 'status', status: 503, retryAfter: 0 };
    await standIn.start();
    const t = tail(['-', '--dsn', standIn.dsn, '--flush-timeout', '1', '--retry-max', '1']);
    t.child.stdin!.write(lines(1, 3)); // the pipe stays open, as with `docker compose logs -f`
    await waitFor('the server to be tried', () => (standIn.refused.get(503) ?? 0) >= 1, t.stderr);
    t.child.kill('SIGTERM');
    assert.equal(await t.exited, 0, t.stderr());
    assert.match(t.stderr(), /done: read 3, sent 0 \(0 duplicates\), dropped 3, 3 unsent \(lost\)/);
  });

  it('reports a permanent 400 once and drops that batch, retries a 503 until it passes', async () => {
    standIn = new LogsStandIn();
    standIn.mode = { kind: 'status', status: 400, body: 'bad batch' };
    await standIn.start();
    const log = join(dir, 'refused.log');
    writeFileSync(log, lines(1, 5));
    const t = tail([log, '--dsn', standIn.dsn, '--state', join(dir, 'refused.state'), '--status', '0.1', '--retry-max', '1']);
    // The five lines may leave as one batch or several (a partial batch leaves after 250 ms): each
    // refused batch is reported once and dropped.
    await waitFor('the refusal to be reported', () => /refused a batch of \d+ line\(s\) with 400: .*bad batch/.test(t.stderr()), t.stderr);
    await waitFor('the dropped count', () => /dropped 5/.test(t.stderr()), t.stderr);
    const refusedBatches = standIn.refused.get(400) ?? 0;

    standIn.mode = { kind: 'status', status: 503, retryAfter: 0 };
    appendFileSync(log, lines(6, 8));
    await waitFor('503 answered twice (so it was retried)', () => (standIn.refused.get(503) ?? 0) >= 2, t.stderr);
    standIn.mode = { kind: 'accept' };
    await waitFor('lines 6-8', () => standIn.lines.size >= 3, t.stderr);
    assert.deepEqual(sortedMessages(), expected(6, 8).sort());
    assert.ok(refusedBatches >= 1);
    assert.equal(standIn.refused.get(400), refusedBatches, 'no refused batch was sent again');
    t.child.kill('SIGINT');
    assert.equal(await t.exited, 0);
    assert.match(t.stderr(), /done: read 8, sent 3 \(0 duplicates\), dropped 5/);
    noSecret(t);
  });
});

function readIfExists(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

function pick(object: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, object[k]]));
}
