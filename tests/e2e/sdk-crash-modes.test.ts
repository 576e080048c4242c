// The SDK reports an uncaught exception or an unhandled rejection and then does what Node would
// have done without it (docs/sdk.md, "Crashes"): each case runs twice, with and without the SDK
// (built, in a child process), and the exit code, whether the process lived on, and whether the
// application's own handler ran must be the same. The event must be in Botpulse: level fatal
// when the crash ends the process (or is an uncaught exception), error when Node goes on.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { unhandledRejectionMode } from '../../packages/sdk/src/index.js';
import { botNode, eventsFromApi, eventually, newDiskQueueDir } from './sdk-support/bot-process.js';
import { reapOnExit } from './support/children.js';

const CHILD = fileURLToPath(new URL('./sdk-support/crash-modes.mjs', import.meta.url));

interface Case {
  name: string;
  crash: 'exception' | 'rejection';
  ownHandler?: 'uncaught' | 'rejection';
  nodeArgs?: string[];
  nodeOptions?: string;
  /** What Node does (checked against the run without the SDK, too). */
  exitCode: number;
  alive: boolean;
  level: 'fatal' | 'error';
  mechanism: 'onuncaughtexception' | 'onunhandledrejection';
}

const CASES: Case[] = [
  { name: 'rejection-throw', crash: 'rejection', exitCode: 1, alive: false, level: 'fatal', mechanism: 'onunhandledrejection' },
  { name: 'rejection-strict', crash: 'rejection', nodeArgs: ['--unhandled-rejections=strict'], exitCode: 1, alive: false, level: 'fatal', mechanism: 'onuncaughtexception' },
  { name: 'rejection-warn', crash: 'rejection', nodeArgs: ['--unhandled-rejections=warn'], exitCode: 0, alive: true, level: 'error', mechanism: 'onunhandledrejection' },
  { name: 'rejection-none', crash: 'rejection', nodeArgs: ['--unhandled-rejections=none'], exitCode: 0, alive: true, level: 'error', mechanism: 'onunhandledrejection' },
  { name: 'rejection-warn-code', crash: 'rejection', nodeArgs: ['--unhandled-rejections=warn-with-error-code'], exitCode: 1, alive: true, level: 'error', mechanism: 'onunhandledrejection' },
  { name: 'rejection-node-options', crash: 'rejection', nodeOptions: '--unhandled-rejections=warn', exitCode: 0, alive: true, level: 'error', mechanism: 'onunhandledrejection' },
  { name: 'rejection-own-handler', crash: 'rejection', ownHandler: 'rejection', exitCode: 0, alive: true, level: 'error', mechanism: 'onunhandledrejection' },
  { name: 'rejection-own-uncaught', crash: 'rejection', ownHandler: 'uncaught', exitCode: 0, alive: true, level: 'fatal', mechanism: 'onunhandledrejection' },
  { name: 'exception', crash: 'exception', exitCode: 1, alive: false, level: 'fatal', mechanism: 'onuncaughtexception' },
  { name: 'exception-own-handler', crash: 'exception', ownHandler: 'uncaught', exitCode: 0, alive: true, level: 'fatal', mechanism: 'onuncaughtexception' },
];

function runChild(c: Case, server: TestServer, withSdk: boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = reapOnExit(spawn(botNode(), [...(c.nodeArgs ?? []), CHILD], {
      env: {
        PATH: process.env['PATH'] ?? '',
        NODE_OPTIONS: c.nodeOptions ?? '',
        BOTPULSE_DSN: server.dsn,
        BOTPULSE_DISK_QUEUE: newDiskQueueDir(),
        CRASH: c.crash,
        OWN_HANDLER: c.ownHandler ?? 'none',
        CASE: c.name,
        NO_SDK: withSdk ? '0' : '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${c.name} did not exit; stderr: ${stderr}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('crash handling keeps Node\'s own behaviour', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  it('reads --unhandled-rejections from the command line, then NODE_OPTIONS, else throw', () => {
    assert.equal(unhandledRejectionMode([], undefined), 'throw');
    assert.equal(unhandledRejectionMode(['--unhandled-rejections=strict'], '--unhandled-rejections=warn'), 'strict', 'the command line wins');
    assert.equal(unhandledRejectionMode(['--inspect'], '--max-old-space-size=100 --unhandled-rejections=none'), 'none');
    assert.equal(unhandledRejectionMode(['--unhandled-rejections', 'warn'], ''), 'warn');
    assert.equal(unhandledRejectionMode(['--unhandled_rejections=warn-with-error-code'], ''), 'warn-with-error-code');
    assert.equal(unhandledRejectionMode(['--unhandled-rejections=warn', '--unhandled-rejections=strict'], ''), 'strict', 'the last one wins');
    assert.equal(unhandledRejectionMode([], '--require "./a b.js" --unhandled-rejections=warn'), 'warn', 'quoted NODE_OPTIONS values');
    assert.equal(unhandledRejectionMode(['--unhandled-rejections=bogus'], ''), 'throw');
  });

  for (const c of CASES) {
    it(`${c.name}: exit ${c.exitCode}, ${c.alive ? 'lives on' : 'ends'} as without the SDK; reported once, level ${c.level}`, async () => {
      const [bare, withSdk] = await Promise.all([runChild(c, server, false), runChild(c, server, true)]);
      assert.equal(bare.code, c.exitCode, `Node itself (stderr: ${bare.stderr})`);
      assert.equal(bare.stdout.includes('still alive'), c.alive, 'Node itself');
      assert.equal(withSdk.code, bare.code, `same exit code with the SDK (stderr: ${withSdk.stderr})`);
      assert.equal(withSdk.stdout.includes('still alive'), bare.stdout.includes('still alive'), 'lives on exactly when Node does');
      assert.equal(withSdk.stdout.includes('app handler saw'), bare.stdout.includes('app handler saw'), "the application's handler runs exactly when it would");
      if (!c.alive) assert.match(withSdk.stderr, new RegExp(`Error: crash ${c.name}`), 'the error is printed, as Node prints it');

      const events = await eventually(async () => {
        const found = (await eventsFromApi(server)).filter((e) => e.payload.exception?.values?.at(-1)?.value === `crash ${c.name}`);
        return found.length ? found : undefined;
      }, `the ${c.name} event`);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await eventsFromApi(server)).filter((e) => e.payload.exception?.values?.at(-1)?.value === `crash ${c.name}`).length, 1, 'exactly once');
      const [event] = events;
      assert.equal(event.payload.level, c.level);
      assert.equal(event.payload.exception.values.at(-1).mechanism.handled, false);
      assert.equal(event.payload.exception.values.at(-1).mechanism.type, c.mechanism);
    });
  }
});
