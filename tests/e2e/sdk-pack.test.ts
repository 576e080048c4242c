// The SDK as a bot project gets it: `npm pack` of packages/sdk, installed into a fresh directory
// OUTSIDE the workspace from nothing but the tarball and the npm registry (grammY from the
// registry too), type-checked there, then a grammY bot written like the docs' quick start runs
// with it against the fake Telegram and reports to a real Botpulse server (`botpulse serve` in a
// child process), where the event is checked through the JSON API.
//
// Runs on every Node the SDK is tested on (scripts/run-tests.mjs): the server child always runs
// on BOTPULSE_SERVER_NODE (the machine's Node 20, for which better-sqlite3 is built), so this file
// never loads server code itself.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeTelegram } from '../../packages/fake-telegram/src/index.js';
import { reapOnExit } from './support/children.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const sdkDir = join(root, 'packages', 'sdk');
const versionOf = (pkg: string): string => (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

/** The environment of a child that must not see this workspace: no npm_* of the `npm test` that runs us. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'INIT_CWD' && key !== 'NODE_PATH' && key !== 'NODE_OPTIONS') env[key] = value;
  }
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...extra };
}

function run(command: string, args: string[], cwd: string, timeoutMs = 150_000): string {
  const result = spawnSync(command, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: timeoutMs });
  assert.equal(result.status, 0, `${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Lines of a child's stdout, and a wait for one matching a pattern. */
function lines(child: ChildProcess): { all: string[]; waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray> } {
  const all: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => all.push(line));
  return {
    all,
    async waitFor(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const line of all) {
          const match = pattern.exec(line);
          if (match) return match;
        }
        if (child.exitCode !== null) throw new Error(`the child exited (${child.exitCode}) before printing ${pattern}:\n${all.join('\n')}`);
        if (Date.now() > deadline) throw new Error(`no line ${pattern} in:\n${all.join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/**
 * packages/sdk as `npm pack` needs it (package.json, README, scripts, the built dist) and the
 * built protocol beside it, copied into `dir`; the protocol is inlined there. Packing runs on
 * the copy with --ignore-scripts: the package's own `prepack` (tsc -b, then inline-protocol)
 * would rewrite packages/sdk/dist in place while other test files load it. `npm test` builds first.
 */
function copyForPacking(dir: string): string {
  const sdkCopy = join(dir, 'packages', 'sdk');
  for (const entry of ['package.json', 'README.md', 'scripts', 'dist']) cpSync(join(sdkDir, entry), join(sdkCopy, entry), { recursive: true });
  cpSync(join(root, 'packages', 'protocol', 'dist'), join(dir, 'packages', 'protocol', 'dist'), { recursive: true });
  run(process.execPath, [join(sdkCopy, 'scripts', 'inline-protocol.mjs')], sdkCopy);
  return sdkCopy;
}

/** Every file under `dir` with its size and modification time. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      const { size, mtimeMs } = statSync(path);
      return `${relative(dir, path)} ${size} ${mtimeMs}`;
    })
    .sort();
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

// What a bot author writes, following docs/sdk.md's quick start (BOTPULSE_DSN in the environment).
const BOT = `
import { Bot } from 'grammy';
import { close, init, instrumentGrammy } from '@botpulse/sdk';

const [apiRoot, token] = process.argv.slice(2);
init({ flushOnExit: true, environment: 'packed', release: 'packed-bot@1.0.0' });
const bot = new Bot(token, { client: { apiRoot } });
instrumentGrammy(bot);
bot.catch(() => console.log('caught'));
bot.on('message:text', async (ctx) => {
  await ctx.reply('on it');
  throw new Error('the packed SDK reports: ' + ctx.message.text);
});
process.once('SIGTERM', () => void bot.stop().then(() => close(2000)).then(() => process.exit(0)));
await bot.start({ timeout: 1, onStart: () => console.log('polling') });
`;

// The SDK's public types as a TypeScript project sees them, every declaration file of the package
// checked (skipLibCheck off: an import the declarations cannot resolve is an error, not an any).
// grammY's own declarations are left out of it (they import node-fetch, which has no types);
// the workspace's type-tests check the SDK against real grammY and Telegraf objects.
const TYPES = `
import { BotpulseClient, captureException, heartbeatMonitorConfig, init, type BotpulseOptions, type CheckIn, type NoiseKind } from '@botpulse/sdk';

const options: BotpulseOptions = {
  beforeSend: (event, hint) => (hint.originalException instanceof RangeError && event.level !== 'fatal' ? null : event),
  noise: { kinds: ['bot_blocked', 'rate_limited'] satisfies NoiseKind[] },
};
const client: BotpulseClient = init(options);
const id: string | undefined = captureException(new Error('x'), { tags: { operation: 'payment' } });
const beat: CheckIn['status'] = 'ok';
const config: Record<string, unknown> = heartbeatMonitorConfig(20_000, 5);
// @ts-expect-error an unknown option is a compile error
init({ noSuchOption: true });
void [client, id, beat, config];
`;

describe('the packed SDK, installed outside the workspace', () => {
  const work = realpathSync(mkdtempSync(join(tmpdir(), 'botpulse-sdk-pack-')));
  const project = join(work, 'bot');
  let tarball = '';
  let tg: FakeTelegram;
  let server: ChildProcess | undefined;
  let bot: ChildProcess | undefined;
  before(async () => {
    tg = await FakeTelegram.start();
  });
  after(async () => {
    await stop(bot);
    await stop(server);
    await tg.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('npm pack ships the built SDK with the protocol inlined, and no test code', () => {
    assert.ok(relative(root, work).startsWith('..'), `${work} is outside the workspace`);
    const distBefore = snapshot(join(sdkDir, 'dist'));
    const [packed] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], copyForPacking(join(work, 'pack-src')))) as { filename: string; files: { path: string }[] }[];
    assert.deepEqual(snapshot(join(sdkDir, 'dist')), distBefore, 'the workspace dist other test files load was not touched');
    tarball = join(work, packed!.filename);
    const listed = packed!.files.map((f) => f.path);
    const inTarball = run('tar', ['-tzf', tarball], work).trim().split('\n').map((p) => p.replace(/^package\//, ''));
    assert.deepEqual([...inTarball].sort(), [...listed].sort(), 'npm lists what the tarball holds');
    for (const path of inTarball) {
      assert.ok(path === 'package.json' || path === 'README.md' || /^dist\/.+\.(js|d\.ts)$/.test(path), `unexpected file ${path}`);
      assert.ok(!/test-support|\.test\./.test(path), `test code in the package: ${path}`);
    }
    for (const needed of ['dist/index.js', 'dist/index.d.ts', 'dist/protocol/index.js', 'dist/protocol/envelope.d.ts', 'dist/grammy/index.js', 'README.md']) {
      assert.ok(inTarball.includes(needed), `${needed} is shipped`);
    }
    const unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    run('tar', ['-xzf', tarball, '-C', unpacked], work);
    const manifest = JSON.parse(readFileSync(join(unpacked, 'package', 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    assert.deepEqual(manifest['dependencies'] ?? {}, {}, 'no runtime dependency (the protocol is inlined)');
    for (const field of ['peerDependencies', 'optionalDependencies'] as const) {
      assert.ok(!Object.keys(manifest[field] ?? {}).some((name) => name.startsWith('@botpulse/')), `${field} names no workspace package`);
    }
    for (const path of inTarball.filter((p) => /\.(js|d\.ts)$/.test(p))) {
      assert.doesNotMatch(readFileSync(join(unpacked, 'package', path), 'utf8'), /@botpulse\/protocol/, `${path} imports no workspace package`);
    }
  });

  it('installs into an empty project with only the npm registry', () => {
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'packed-bot', version: '1.0.0', private: true, type: 'module' }));
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, `grammy@${versionOf('grammy')}`, `@types/node@${versionOf('@types/node')}`], project, 170_000);
    const installed = JSON.parse(readFileSync(join(project, 'node_modules', '@botpulse', 'sdk', 'package.json'), 'utf8')) as { version: string };
    assert.equal(installed.version, '0.1.0');
  });

  it('type-checks a TypeScript bot against the published declarations', () => {
    writeFileSync(join(project, 'check.ts'), TYPES);
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] }, files: ['check.ts'] }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    run(process.execPath, [tsc, '-p', join(project, 'tsconfig.json')], project);
  });

  it('a grammY bot with the installed SDK reports to a real Botpulse server', async () => {
    const dataDir = join(work, 'botpulse-data');
    const port = await freePort();
    const serverNode = process.env['BOTPULSE_SERVER_NODE'] ?? process.execPath;
    server = reapOnExit(spawn(serverNode, [join(root, 'packages', 'server', 'dist', 'cli', 'main.js'), 'serve'], {
      cwd: work,
      env: cleanEnv({ BOTPULSE_DATA_DIR: dataDir, BOTPULSE_PORT: String(port), BOTPULSE_HOST: '127.0.0.1', BOTPULSE_LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'pipe', 'inherit'],
    }));
    const [, dsn] = await lines(server).waitFor(/DSN: (\S+)/);
    const apiToken = readFileSync(join(dataDir, 'initial-api-token'), 'utf8').trim();
    const url = `http://127.0.0.1:${port}`;

    writeFileSync(join(project, 'bot.mjs'), BOT);
    const { token } = tg.createBot();
    // Plain `node`, in the project directory: modules resolve from its node_modules only.
    // Its own disk queue, inside `work` (removed after), not the shared <tmpdir>/botpulse-sdk/<hash>.
    bot = reapOnExit(spawn(process.execPath, ['bot.mjs', tg.apiRoot, token], { cwd: project, env: cleanEnv({ BOTPULSE_DSN: dsn!, BOTPULSE_DISK_QUEUE: join(work, 'disk-queue') }), stdio: ['ignore', 'pipe', 'inherit'] }));
    const botOut = lines(bot);
    await botOut.waitFor(/^polling$/);
    const { update } = tg.sendMessage(token, 'hello from outside');
    await botOut.waitFor(/^caught$/);

    const issue = await waitForIssue(url, apiToken, /the packed SDK reports: hello from outside/);
    const detail = (await api(url, apiToken, `/issues/${issue.id}`)) as { latestEvent: { payload: any } };
    const event = detail.latestEvent.payload;
    assert.equal(event.sdk.name, 'botpulse.javascript.node');
    assert.equal(event.environment, 'packed');
    assert.equal(event.release, 'packed-bot@1.0.0');
    assert.equal(event.contexts.telegram.update_id, update.update_id);
    assert.equal(event.contexts.runtime.version, process.version, 'the bot ran on this Node');
    assert.equal(event.exception.values.at(-1).mechanism.type, 'grammy.middleware');
  });
});

async function api(url: string, token: string, path: string): Promise<unknown> {
  const response = await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, `GET ${path}`);
  return response.json();
}

async function waitForIssue(url: string, token: string, title: RegExp): Promise<{ id: number; title: string }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { issues } = (await api(url, token, '/projects/my-bot/issues')) as { issues: { id: number; title: string }[] };
    const hit = issues.find((i) => title.test(i.title));
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no issue ${title}; have: ${issues.map((i) => i.title).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
