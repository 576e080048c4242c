import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileFollower } from './follow.js';
import type { RawLine } from './records.js';

const dir = mkdtempSync(join(tmpdir(), 'botpulse-follow-'));

function follow(path: string, maxLineBytes = 1024, fromEnd = false, rotateGraceMs = 0) {
  const lines: RawLine[] = [];
  const warnings: string[] = [];
  let boundaries = 0;
  let idles = 0;
  const options = {
    maxLineBytes,
    fromEnd,
    rotateGraceMs,
    pollMs: 20,
    onLine: (l: RawLine) => lines.push(l),
    onBoundary: () => boundaries++,
    onIdle: () => idles++,
    waitForRoom: () => Promise.resolve(),
    warn: (m: string) => warnings.push(m),
  };
  const follower = new FileFollower(path, options);
  const running = follower.run();
  return { follower, options, lines, warnings, running, boundaries: () => boundaries, idles: () => idles };
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('FileFollower', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('cuts an over-long line at its bound, marks it, and keeps the byte offsets exact', async () => {
    const path = join(dir, 'long.log');
    const long = 'x'.repeat(200_000);
    writeFileSync(path, `${long}\nshort\n`);
    const f = follow(path, 1000);
    await until('2 lines', () => f.lines.length >= 2);
    f.follower.stop();
    await f.running;
    assert.equal(f.lines[0]!.text.length, 1000);
    assert.equal(f.lines[0]!.truncated, true);
    assert.deepEqual([f.lines[0]!.start, f.lines[0]!.end], [0, 200_001]);
    assert.deepEqual({ text: f.lines[1]!.text, start: f.lines[1]!.start, truncated: f.lines[1]!.truncated }, { text: 'short', start: 200_001, truncated: undefined });
  });

  it('waits for a line to be finished, reads a rotated file to its end, then the new one with another source id', async () => {
    const path = join(dir, 'rot.log');
    writeFileSync(path, 'one\ntw');
    const f = follow(path);
    await until('line one', () => f.lines.length >= 1);
    appendFileSync(path, 'o\n');
    await until('line two', () => f.lines.length >= 2);
    appendFileSync(path, 'three\nunfinished');
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'four\n');
    await until('line four', () => f.lines.some((l) => l.text === 'four'));
    f.follower.stop();
    await f.running;
    assert.deepEqual(f.lines.map((l) => l.text), ['one', 'two', 'three', 'unfinished', 'four']);
    assert.equal(f.lines[3]!.sourceId, f.lines[0]!.sourceId);
    assert.notEqual(f.lines[4]!.sourceId, f.lines[0]!.sourceId);
    assert.equal(f.lines[4]!.start, 0);
    assert.ok(f.boundaries() >= 1);
    assert.deepEqual(f.follower.positionOf(f.lines[4]!.sourceId, 5)!.offset, 5);
  });

  it('after a rotation, keeps reading the old file while the writer still appends to it (before its reopen)', async () => {
    const path = join(dir, 'grace.log');
    writeFileSync(path, 'a\n');
    const f = follow(path, 1024, false, 3_600_000);
    await until('line a', () => f.lines.length >= 1);
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'b\n');
    await until('a poll that sees the new file', () => f.idles() > 3);
    appendFileSync(`${path}.1`, 'late\n'); // the bot has not reopened its log yet
    await until('the late line', () => f.lines.some((l) => l.text === 'late'));
    assert.ok(!f.lines.some((l) => l.text === 'b'), 'the new file waits');
    f.options.rotateGraceMs = 0; // the old file has been quiet long enough
    await until('line b', () => f.lines.some((l) => l.text === 'b'));
    f.follower.stop();
    await f.running;
    assert.deepEqual(f.lines.map((l) => l.text), ['a', 'late', 'b']);
  });

  it('--from-end: without a saved offset, only what is appended is read', async () => {
    const path = join(dir, 'end.log');
    writeFileSync(path, 'old\n');
    const f = follow(path, 1024, true);
    await until('the follower at the end of the file', () => f.idles() > 0);
    appendFileSync(path, 'new\n');
    await until('the new line', () => f.lines.length >= 1);
    f.follower.stop();
    await f.running;
    assert.deepEqual(f.lines.map((l) => [l.text, l.start]), [['new', 4]]);
  });

  it('waits for a file that does not exist yet', async () => {
    const path = join(dir, 'later.log');
    const f = follow(path);
    await until('the warning', () => f.warnings.some((w) => /does not exist yet/.test(w)));
    writeFileSync(path, 'hello\n');
    await until('the line', () => f.lines.length >= 1);
    f.follower.stop();
    await f.running;
    assert.equal(f.lines[0]!.text, 'hello');
  });
});
