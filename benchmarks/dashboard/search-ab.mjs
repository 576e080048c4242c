#!/usr/bin/env node
// The issue searches alone, store.searchIssues on two builds side by side (calls alternate), on
// the dataset run.mjs seeded (the base build on the seed, this build on its migrated copy):
//
//   node benchmarks/dashboard/search-ab.mjs --compare <other build's packages/server/dist> [--runs N]
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import os from 'node:os';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    compare: { type: 'string' },
    runs: { type: 'string', default: '30' },
    data: { type: 'string', default: join(HERE, 'data', '100000-1000000') },
  },
});
const open = async (dist, dir) => (await import(pathToFileURL(join(resolve(dist), 'store/sqlite/index.js')).href)).SqliteStore.open(join(dir, 'botpulse.db'));
const stores = [await open(join(HERE, '../../packages/server/dist'), `${flags.data}-this-build`)];
if (flags.compare) stores.push(await open(flags.compare, flags.data));
const week = Date.now() - 7 * 86_400_000;
const unresolved = ['new', 'in_progress'];
const searches = [
  ['free text, common ("payments", 1 in 8 issues)', { status: unresolved, text: 'payments' }],
  ['free text, rare ("#4242)", 1 issue)', { status: unresolved, text: '#4242)' }],
  ['free text, short id (B3-100)', { status: unresolved, text: 'B3-100' }],
  ['tag + level + 7 days', { status: unresolved, level: 'error', since: week, tags: { chat_type: 'group' } }],
  ['environment + release', { status: unresolved, environment: 'staging', release: 'bot@1.10.0' }],
  ['open critical', { status: unresolved, level: 'fatal' }],
];
const pct = (s, p) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ms per searchIssues call, ${flags.runs} calls alternating`);
console.log(`${'search'.padEnd(48)} ${'p50'.padStart(7)} ${'p95'.padStart(7)}${flags.compare ? ` ${'base p50'.padStart(9)} ${'base p95'.padStart(9)}` : ''}  matches`);
for (const [name, search] of searches) {
  const samples = stores.map(() => []);
  const totals = [];
  for (let i = 0; i < Number(flags.runs) + 3; i++) {
    for (const [n, store] of stores.entries()) {
      const t0 = performance.now();
      const r = await store.searchIssues(search);
      if (i >= 3) samples[n].push(performance.now() - t0);
      totals[n] = r.total;
    }
  }
  if (totals.length === 2 && totals[0] !== totals[1]) throw new Error(`${name}: ${totals[0]} matches here, ${totals[1]} on the base`);
  const cols = samples.map((s) => s.sort((a, b) => a - b)).flatMap((s, n) => [pct(s, 50).toFixed(1).padStart(n ? 9 : 7), pct(s, 95).toFixed(1).padStart(n ? 9 : 7)]);
  console.log(`${name.padEnd(48)} ${cols.join(' ')}  ${totals[0]}`);
}
for (const s of stores) await s.close();
