#!/usr/bin/env node
// Builds better-sqlite3 (the server's one native module) for another Node version, beside the
// node_modules copy built for the machine's Node, so the server's tests can run on that version
// without touching node_modules: .cache/node/<major>/better-sqlite3 is a copy of the package's
// sources compiled by node-gyp against the headers scripts/fetch-node.mjs fetched (--nodedir:
// offline; prebuild-install would download from GitHub). scripts/node-hooks/native-for-node.mjs
// points `import 'better-sqlite3'` at that copy when NATIVE_SQLITE_DIR names it.
// Usage: node scripts/native-for-node.mjs <major ...>   (prints the directory; rebuilt only when missing)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { hasHeaders, nodeBinary, nodeDir } from './other-nodes.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The directory holding better-sqlite3 built for `major`, building it first if needed. */
export function nativeFor(major) {
  const node = nodeBinary(major);
  if (!node || !hasHeaders(major)) throw new Error(`native-for-node: Node ${major} or its headers are missing; run: node scripts/fetch-node.mjs ${major}`);
  const target = join(nodeDir(major), 'better-sqlite3');
  const addon = join(target, 'build', 'Release', 'better_sqlite3.node');
  if (existsSync(addon) && loads(node, target)) return target;
  const source = dirname(createRequire(join(root, 'package.json')).resolve('better-sqlite3/package.json'));
  rmSync(target, { recursive: true, force: true });
  cpSync(source, target, { recursive: true, filter: (path) => !path.startsWith(join(source, 'build')) });
  console.error(`native-for-node: building better-sqlite3 for Node ${major} (a minute or two)`);
  const built = spawnSync(node, [nodeGyp(), 'rebuild', '--release', `--nodedir=${nodeDir(major)}`, `--jobs=${process.env.JOBS ?? 2}`], {
    cwd: target,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}` },
  });
  if (built.status !== 0 || !loads(node, target)) throw new Error(`native-for-node: building better-sqlite3 for Node ${major} failed`);
  return target;
}

/** node-gyp as npm ships it (what `npm install` would use). */
function nodeGyp() {
  const npmDir = join(dirname(realpathSync(spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim())), '..');
  const gyp = join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(gyp)) throw new Error(`native-for-node: node-gyp not found beside npm (${gyp})`);
  return gyp;
}

/** Does that Node open an in-memory database with this copy? */
function loads(node, dir) {
  const probe = `const D = require(${JSON.stringify(dir)}); new D(':memory:').prepare('select 1').get();`;
  return spawnSync(node, ['-e', probe], { stdio: 'ignore' }).status === 0;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const majors = process.argv.slice(2);
  if (majors.length === 0) {
    console.error('usage: node scripts/native-for-node.mjs <major ...>');
    process.exit(2);
  }
  for (const major of majors) console.log(nativeFor(major));
}
