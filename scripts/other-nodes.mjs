// The Node versions the tests also run on besides the machine's Node 20: the SDK's own tests on
// SDK_TEST_NODE_MAJORS, the server's on SERVER_TEST_NODE_MAJOR in CI (and on any of
// SERVER_NODE_MAJORS with `run-tests.mjs --node <major>`; better-sqlite3 in node_modules is built
// for the machine's Node, so scripts/native-for-node.mjs builds a copy for the other one). Node 20 reached its end of
// life in April 2026; bot authors run the LTS lines. In December 2026 that is Node 26 (Active LTS
// since October 2026) and Node 24 (Maintenance LTS, what most bots run). Change the list when a
// new line becomes LTS; `node scripts/fetch-node.mjs` fetches what it names.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SDK_TEST_NODE_MAJORS = ['24', '26'];

/**
 * The Node versions the server supports besides the machine's Node 20 (README, "Supported Node
 * versions"); CI runs the server's tests on SERVER_TEST_NODE_MAJOR, the current LTS.
 */
export const SERVER_NODE_MAJORS = ['22', '24'];
export const SERVER_TEST_NODE_MAJOR = '24';

/** Every version scripts/fetch-node.mjs fetches by default. */
export const OTHER_NODE_MAJORS = [...new Set([...SDK_TEST_NODE_MAJORS, ...SERVER_NODE_MAJORS])].sort();

const root = fileURLToPath(new URL('..', import.meta.url));

/** Where fetch-node.mjs puts the official binary of one major version (git-ignored). */
export function nodeDir(major) {
  return join(root, '.cache', 'node', major);
}

/** Does the fetched Node carry its C headers (node-gyp --nodedir needs include/node/node.h)? */
export function hasHeaders(major) {
  return existsSync(join(nodeDir(major), 'include', 'node', 'node.h'));
}

/** The binary of `major` if it is there and really is that version, else undefined. */
export function nodeBinary(major) {
  const bin = join(nodeDir(major), 'bin', 'node');
  if (!existsSync(bin)) return undefined;
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  return version.startsWith(`v${major}.`) ? bin : undefined;
}
