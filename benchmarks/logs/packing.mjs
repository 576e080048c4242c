// What the log-line thread's answer costs to cross threads (docs/performance.md "Log lines", round 5):
// structured clone (v8.serialize / deserialize, what postMessage does) of a batch's line objects
// against the packed form (logs/packed-lines.ts), and the packing and unpacking themselves, as CPU
// µs per line over 100 batches of 1,000 run.mjs-like lines, five rounds.
//
//   npx tsc -b && node benchmarks/logs/packing.mjs
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serialize, deserialize } from 'node:v8';
const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const m = (p) => import(pathToFileURL(join(REPO, 'packages/server/dist', p)).href);
const { parseNdjson } = await m('ingest/log-lines.js');
const { createScrubber } = await m('digest/scrub.js');
const { LogTemplater } = await m('logs/templater.js');
const { packLines, unpackLines } = await m('logs/packed-lines.js');
function line(i) {
  const kind = i % 1000;
  const msg = kind === 0 ? 'Duplicate update_id 9' + i : kind === 1 ? `provider ${i % 50} timeout after ${i % 900} ms` : kind < 20 ? `Payment provider answered 502 for user ${i % 5000}` : `User balance checked for ${i % 5000} in ${i % 90} ms`;
  return JSON.stringify({ level: kind < 20 ? 50 : 30, time: Date.now(), msg, user_id: i % 5000, update_id: 100000 + i, operation: 'check_balance', duration_ms: i % 90, 'botpulse.line_id': `b-${i}` });
}
const scrubber = createScrubber({});
const t = new LogTemplater({ load: async () => [], now: () => Date.now() });
const batches = [];
for (let s = 0; s < 100000; s += 1000) {
  const p = parseNdjson(Buffer.from(Array.from({ length: 1000 }, (_, j) => line(s + j)).join('\n')), { projectId: 1, receivedAt: Date.now(), source: 'ndjson', scrubber });
  await t.prepare(p.lines); t.assign(p.lines); batches.push(p);
}
const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
for (let r = 0; r < 5; r++) {
  let a = cpu(); const objs = batches.map((b) => serialize(b.lines)); const so = cpu() - a;
  a = cpu(); for (const s of objs) deserialize(s); const dob = cpu() - a;
  a = cpu(); const packs = batches.map((b) => packLines(b.lines, { projectId: 1, receivedAt: 1, source: 'ndjson' }, b.rejected)); const pk = cpu() - a;
  a = cpu(); const sers = packs.map((p) => serialize(p)); const sp = cpu() - a;
  a = cpu(); const des = sers.map((s) => deserialize(s)); const dp = cpu() - a;
  a = cpu(); for (const d of des) unpackLines(d); const up = cpu() - a;
  const f = (x) => (x / 1e5).toFixed(2);
  console.log(`objects: serialize ${f(so)} deserialize ${f(dob)} (${objs[0].length / 1000} B/line) | packed: pack ${f(pk)} serialize ${f(sp)} deserialize ${f(dp)} unpack ${f(up)} (${sers[0].length / 1000} B/line) µs/line`);
}
{
  const packs = batches.map((b) => packLines(b.lines, { projectId: 1, receivedAt: 1, source: 'ndjson' }, b.rejected));
  for (const key of ['chunks', 'ends', 'time', 'templates']) {
    const sers = packs.map((p) => serialize({ [key]: p[key] }));
    const a = cpu(); for (const s of sers) deserialize(s); console.log(key, ((cpu() - a) / 1e5).toFixed(3));
  }
  const { MessageChannel, receiveMessageOnPort } = await import('node:worker_threads');
  const { port1, port2 } = new MessageChannel();
  let a = cpu(); for (const p of packs) port1.postMessage(p); const post = cpu() - a;
  a = cpu(); let got = 0; while (receiveMessageOnPort(port2)) got++; const recv = cpu() - a;
  console.log('postMessage', (post / 1e5).toFixed(2), 'receive', (recv / 1e5).toFixed(2), got);
  const { port1: q1, port2: q2 } = new MessageChannel();
  a = cpu(); for (const b of batches) q1.postMessage(b.lines); const post2 = cpu() - a;
  a = cpu(); while (receiveMessageOnPort(q2)) got++; const recv2 = cpu() - a;
  console.log('objects postMessage', (post2 / 1e5).toFixed(2), 'receive', (recv2 / 1e5).toFixed(2));
  port1.close(); q1.close();
}
