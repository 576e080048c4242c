// The message mix the template benchmarks share (templates.mjs, templater-ab.mjs).

/** The run.mjs mix plus a few more shapes (about 10 templates). */
export function message(i) {
  const kind = i % 1000;
  if (kind === 0) return `Duplicate update_id 9${i}`;
  if (kind === 1) return `provider ${i % 50} timeout after ${i % 900} ms`;
  if (kind < 20) return `Payment provider answered 502 for user ${i % 5000}`;
  if (kind < 100) return `Handler ${['start', 'balance', 'pay', 'help'][i % 4]} finished for update ${100000 + i}`;
  if (kind < 150) return `Cache ${i % 2 ? 'hit' : 'miss'} for key user:${i % 5000}:balance`;
  return `User balance checked for ${i % 5000} in ${i % 90} ms`;
}
