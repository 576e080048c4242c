#!/usr/bin/env node
// Runs every *.test.ts under packages/*/src and tests/ with Node's own test runner (through tsx).
// Node 20's `--test` does not expand globs, so the file list is built here.
// A full run then runs the SDK's own tests (its unit tests and the packed-install test) again on
// the other Node versions bot authors run (scripts/other-nodes.mjs), with the binaries
// scripts/fetch-node.mjs fetched; missing ones are skipped with a notice, and fail the run under CI=true.
// Usage: node scripts/run-tests.mjs [path-filter ...]   (filters are substrings of the file path)
//        node scripts/run-tests.mjs --other-nodes [path-filter ...]   (only the SDK runs on other Nodes)
//        node scripts/run-tests.mjs --node <major> [path-filter ...]   (the server's tests, every file
//          but the SDK's, on that Node: fetched by scripts/fetch-node.mjs, with better-sqlite3 built for
//          it by scripts/native-for-node.mjs and loaded through scripts/node-hooks/native-for-node.mjs)
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nativeFor } from './native-for-node.mjs';
import { nodeBinary, nodeDir, SDK_TEST_NODE_MAJORS } from './other-nodes.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const exitWhenDone = join(root, 'scripts', 'node-hooks', 'exit-when-done.mjs');
const roots = ['packages', 'tests'];
const skipDirs = new Set(['node_modules', 'dist', '.git']);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (skipDirs.has(name)) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}

/** The SDK's own tests: they must pass on every Node a bot may run on (none loads the server in-process). */
const isSdkTest = (file) => file.startsWith(join('packages', 'sdk', 'src')) || /^tests[\\/]e2e[\\/]sdk-pack[^\\/]*\.test\.ts$/.test(file);

function runTests(node, files, env = process.env) {
  const result = spawnSync(
    node,
    [
      '--import',
      'tsx',
      '--test',
      '--test-reporter=spec',
      `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
      // A hung test fails after this long instead of hanging CI.
      '--test-timeout=180000',
      // A file whose tests are done but which something it started holds open fails, naming what
      // (not --test-force-exit: it can drop a file's last results and still pass, nodejs/node#64833).
      `--import=${exitWhenDone}`,
      ...files,
    ],
    { cwd: root, stdio: 'inherit', env },
  );
  return result.status ?? 1;
}

/** The SDK's tests on each other Node; the server children they start keep this (the machine's) Node. */
function runOnOtherNodes(files) {
  const outcomes = [];
  for (const major of SDK_TEST_NODE_MAJORS) {
    const node = nodeBinary(major);
    if (!node) {
      const why = `Node ${major} is not in .cache/node/${major} (run: node scripts/fetch-node.mjs)`;
      if (process.env.CI === 'true') {
        console.error(`\nFAIL: the SDK tests on Node ${major} cannot run: ${why}`);
        outcomes.push({ major, status: 1, note: 'missing (CI=true: a failure)' });
      } else {
        console.error(`\nSKIPPED: the SDK tests on Node ${major}: ${why}`);
        outcomes.push({ major, status: 0, note: 'skipped, binary missing' });
      }
      continue;
    }
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    console.log(`\n== the SDK's tests on Node ${version} (${files.length} files)`);
    const status = runTests(node, files, { ...process.env, BOTPULSE_SERVER_NODE: process.execPath });
    outcomes.push({ major, status, note: status === 0 ? `passed on ${version}` : `FAILED on ${version}` });
  }
  console.log(`\n== the SDK on other Node versions: ${outcomes.map((o) => `Node ${o.major}: ${o.note}`).join('; ')}`);
  return outcomes.some((o) => o.status !== 0) ? 1 : 0;
}

/**
 * The server's tests on another Node. Every process they start (the CLI, servers, the digest
 * worker) runs that Node too: it comes first in PATH, process.execPath is it, and NODE_OPTIONS
 * carries the hook that loads better-sqlite3 built for it.
 */
function runServerOn(major, files) {
  const node = nodeBinary(major);
  if (!node) {
    console.error(`Node ${major} is not in .cache/node/${major}; run: node scripts/fetch-node.mjs ${major}`);
    return 1;
  }
  const hook = join(root, 'scripts', 'node-hooks', 'native-for-node.mjs');
  const env = {
    ...process.env,
    PATH: `${join(nodeDir(major), 'bin')}:${process.env.PATH}`,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${hook}`.trim(),
    NATIVE_SQLITE_DIR: nativeFor(major),
  };
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`\n== the server's tests on Node ${version} (${files.length} files)`);
  const status = runTests(node, files, env);
  console.log(`\n== the server on Node ${version}: ${status === 0 ? 'passed' : 'FAILED'}`);
  return status;
}

const args = process.argv.slice(2);
const otherNodesOnly = args.includes('--other-nodes');
const nodeFlag = args.indexOf('--node');
const serverNode = nodeFlag >= 0 ? args[nodeFlag + 1] : undefined;
if (nodeFlag >= 0 && !/^\d+$/.test(serverNode ?? '')) {
  console.error('usage: node scripts/run-tests.mjs --node <major> [path-filter ...]');
  process.exit(2);
}
const filters = args.filter((a, i) => a !== '--other-nodes' && (nodeFlag < 0 || (i !== nodeFlag && i !== nodeFlag + 1)));
const files = roots
  .flatMap((r) => walk(join(root, r), []))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
const sdkFiles = files.filter(isSdkTest);
if (serverNode) {
  const serverFiles = files.filter((f) => !isSdkTest(f));
  if (serverFiles.length === 0) {
    console.error('no server test files matched');
    process.exit(1);
  }
  process.exit(runServerOn(serverNode, serverFiles));
}
if ((otherNodesOnly ? sdkFiles : files).length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
let status = otherNodesOnly ? 0 : runTests(process.execPath, files);
if (otherNodesOnly || filters.length === 0) status = Math.max(status, runOnOtherNodes(sdkFiles));
process.exit(status);
