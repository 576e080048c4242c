#!/usr/bin/env node
// Makes packages/sdk/dist self-contained: copies the compiled @botpulse/protocol (JS and type
// declarations) into dist/protocol/ and points the SDK's imports of '@botpulse/protocol' there.
// @botpulse/protocol is a workspace package that is not on the npm registry, so a bot project that
// installs the SDK's tarball must not need it; its source of truth stays packages/protocol.
// Runs after `tsc -b` (root `npm run build`, and `prepack` of this package). Idempotent: a file
// is rewritten only when its content changes, through a rename, so a test reading dist at the
// same moment sees the old file or the new one, never half of one.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const sdkDir = fileURLToPath(new URL('..', import.meta.url));
const dist = join(sdkDir, 'dist');
const protocolDist = join(sdkDir, '..', 'protocol', 'dist');
const inlined = join(dist, 'protocol');
const SPECIFIER = /(['"])@botpulse\/protocol\1/g;
const STILL_IMPORTED = /(['"])@botpulse\/protocol\1/;
const isShipped = (name) => (name.endsWith('.js') || name.endsWith('.d.ts')) && !name.includes('.test.');

if (!existsSync(join(protocolDist, 'index.js')) || !existsSync(join(dist, 'index.js'))) {
  console.error('inline-protocol: build first (npx tsc -b packages/sdk)');
  process.exit(1);
}

mkdirSync(inlined, { recursive: true });
for (const name of readdirSync(protocolDist)) {
  if (isShipped(name)) writeIfChanged(join(inlined, name), readFileSync(join(protocolDist, name), 'utf8'));
}

let rewritten = 0;
for (const file of walk(dist)) {
  if (file.startsWith(inlined + sep)) continue;
  const text = readFileSync(file, 'utf8');
  const target = toImportPath(relative(dirname(file), join(inlined, 'index.js')));
  if (writeIfChanged(file, text.replace(SPECIFIER, (_m, quote) => `${quote}${target}${quote}`))) rewritten += 1;
}

const left = walk(dist).filter((file) => STILL_IMPORTED.test(readFileSync(file, 'utf8')));
if (left.length > 0) {
  console.error(`inline-protocol: '@botpulse/protocol' is still imported by ${left.map((f) => relative(sdkDir, f)).join(', ')}`);
  process.exit(1);
}
// stderr, not stdout: this runs as `prepack`, and `npm pack --json` (sdk-pack.test.ts, release
// scripts) must print nothing but its JSON on stdout, also right after a rebuild of the SDK.
if (rewritten > 0) console.error(`inline-protocol: ${rewritten} file(s) of packages/sdk/dist now import ./protocol`);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return walk(full);
    return isShipped(name) ? [full] : [];
  });
}

function toImportPath(path) {
  const posix = path.split(sep).join('/');
  return posix.startsWith('.') ? posix : `./${posix}`;
}

/** Writes through a temporary file and a rename; false when the file already had this content. */
function writeIfChanged(file, content) {
  if (existsSync(file) && readFileSync(file, 'utf8') === content) return false;
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, file);
  return true;
}
