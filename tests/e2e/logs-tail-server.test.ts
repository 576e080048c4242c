// `botpulse tail` against the real server (issue 13): a file rotated mid-stream (rename + new
// file) and then truncated, the server stopped meanwhile and started again on the same port and
// data → every line stored exactly once. Conditions are polled, never timed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { reapOnExit } from './support/children.js';

const CLI = fileURLToPath(new URL('../../packages/server/bin/botpulse.mjs', import.meta.url));
const line = (n: number) => `2026-12-05 12:00:${String(n % 60).padStart(2, '0')},123 - bot.handlers - INFO - update handled n=${n} user_id=${n}\n`;
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i)).join('');

describe('botpulse tail into the real server', () => {
  let server: TestServer;
  let dir: string;
  let tail: ChildProcess;
  let stderr = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-tail-e2e-'));
    server = await startTestServer();
  });
  after(async () => {
    tail?.kill('SIGKILL');
    const dataDir = server?.dataDir;
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true }); // a restarted server keeps the directory it was given
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every stored message of the project (the API pages newest first). */
  async function stored(): Promise<string[]> {
    const messages: string[] = [];
    let before: number | null = null;
    for (;;) {
      const res = await fetch(`${server.url}/api/v1/projects/${server.project.slug}/logs?limit=1000${before ? `&before=${before}` : ''}`, {
        headers: { authorization: `Bearer ${server.token}` },
      });
      assert.equal(res.status, 200);
      const page = (await res.json()) as { lines: { message: string }[]; next: number | null };
      messages.push(...page.lines.map((l) => l.message));
      if (page.next === null) return messages;
      before = page.next;
    }
  }

  async function waitForCount(n: number): Promise<string[]> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const messages = await stored().catch(() => [] as string[]);
      if (messages.length >= n) return messages;
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${n} lines (have ${messages.length})\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('stores every line exactly once through a rotation, a truncation and a server restart', async () => {
    const file = join(dir, 'bot.log');
    writeFileSync(file, lines(1, 20));
    tail = reapOnExit(spawn(process.execPath, [CLI, 'tail', file, '--dsn', server.dsn, '--state', join(dir, 'tail.state')], { stdio: ['ignore', 'ignore', 'pipe'] }));
    tail.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitForCount(20);

    // Rotation: the bot writes a little more to the old file, then to a new one.
    appendFileSync(file, lines(21, 30));
    renameSync(file, `${file}.1`);
    writeFileSync(file, lines(31, 40));
    await waitForCount(40);

    // The server goes away; the bot keeps logging; the server comes back on the same port and data.
    const port = new URL(server.url).port;
    const dataDir = server.dataDir;
    await server.close({ keepData: true });
    appendFileSync(file, lines(41, 60));
    await new Promise((r) => setTimeout(r, 10_000));
    server = await startTestServer({ BOTPULSE_PORT: port }, { dataDir });
    await waitForCount(60);

    // Truncation (copytruncate-style): the file starts again from the top.
    truncateSync(file, 0);
    appendFileSync(file, lines(61, 70));
    const messages = await waitForCount(70);
    await new Promise((r) => setTimeout(r, 1000)); // anything sent twice would have arrived by now
    const final = await stored();
    const counts = new Map<string, number>();
    for (const m of final) counts.set(m, (counts.get(m) ?? 0) + 1);
    assert.equal(final.length, 70, `70 lines stored once each (first look: ${messages.length})`);
    for (let n = 1; n <= 70; n++) assert.equal(counts.get(`update handled n=${n} user_id=${n}`), 1, `line ${n} stored once`);
  });
});
