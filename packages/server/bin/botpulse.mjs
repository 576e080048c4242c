#!/usr/bin/env node
// The `botpulse` command. A committed file, so that `npm install` links it before the first build;
// it runs the compiled CLI (`npm run build` at the repository root, which `npm start` does).
// `--version` answers even before the build: it needs only package.json.
import { existsSync, readFileSync } from 'node:fs';

// `botpulse tail` runs beside a bot: its own entry loads none of the server (a third of the memory).
const entry = process.argv[2] === 'tail' ? 'tail-main.js' : 'main.js';
const cli = new URL(`../dist/cli/${entry}`, import.meta.url);
if (!existsSync(cli)) {
  const args = process.argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
    process.exit(0);
  }
  process.stderr.write('botpulse: the CLI is not built yet; run `npm run build` (or `npm start`) at the repository root first\n');
  process.exit(1);
}
await import(cli.href);
