import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./reap-fixture.ts', import.meta.url));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts the fixture, ends it as the test runner ends a file past its timeout, and returns its child's pid. */
async function endedBySigterm(mode: 'reap' | 'leave'): Promise<{ pid: number; code: number | null }> {
  const parent = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
  const pid = Number(line.toString().trim());
  assert.ok(alive(pid), 'the child runs');
  parent.kill('SIGTERM');
  const [code] = (await once(parent, 'exit')) as [number | null];
  // SIGKILL is delivered before kill() returns; the kernel reaps the orphan at once (init adopts it).
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 10));
  return { pid, code };
}

describe('test children do not outlive their test file', () => {
  it('a child registered with reapOnExit dies with the file that started it (SIGTERM)', async () => {
    const { pid, code } = await endedBySigterm('reap');
    assert.equal(alive(pid), false, 'the registered child was killed');
    assert.equal(code, 143, 'the file still ends as SIGTERM would end it');
  });

  it('an unregistered child would have outlived it (what the helper is for)', async () => {
    const { pid } = await endedBySigterm('leave');
    try {
      assert.equal(alive(pid), true);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });
});
