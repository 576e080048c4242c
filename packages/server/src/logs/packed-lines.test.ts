import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NewLogLine } from '../store/logs.js';
import { packLines, unpackLines } from './packed-lines.js';

const line = (i: number): NewLogLine => ({
  projectId: 5,
  time: 1_700_000_000_000 + i,
  receivedAt: 9,
  level: (['trace', 'debug', 'info', 'warning', 'error', 'critical'] as const)[i % 6],
  logger: i % 3 ? `bot.${i}` : null,
  message: i % 7 ? `line ${i} ${'é✓'.repeat(i % 50)}` : '',
  fields: i % 4 ? { operation: `op${i % 5}`, duration_ms: String(i), note: 'x'.repeat(i % 300) } : {},
  environment: i % 2 ? 'production' : null,
  release: i % 5 ? null : 'bot@1',
  source: 'ndjson',
  lineId: i % 2 ? null : `l-${i}`,
  template: i % 9 ? { id: `t${i % 4}`.padEnd(16, '0'), text: `T${i % 4}`, ...(i % 4 === 1 ? { previousIds: ['p'.padEnd(16, '0')] } : {}), seenAt: 77 } : null,
});

describe('packed lines (the log-line thread\'s answer)', () => {
  it('come back as the lines they were, nulls, empty strings, non-Latin text and generalised templates included, across chunks', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => line(i));
    const packed = packLines(lines, { projectId: 5, receivedAt: 9, source: 'ndjson' }, [{ line: 3, reason: 'not JSON' }]);
    assert.ok(packed.chunks.length > 3, 'more than one chunk');
    assert.ok(packed.chunks.every((c) => c.length < 40 * 1024), 'every chunk under the large-object size');
    const back = unpackLines(structuredClone(packed));
    assert.equal(back.length, lines.length);
    back.forEach((got, i) => {
      const want = lines[i]!;
      const { template, ...members } = want;
      const gotMembers = { projectId: got.projectId, time: got.time, receivedAt: got.receivedAt, level: got.level, logger: got.logger, message: got.message, fields: got.fields, environment: got.environment, release: got.release, source: got.source, lineId: got.lineId };
      assert.deepEqual(gotMembers, members, `line ${i}`);
      assert.deepEqual(got.template, template ?? null, `line ${i}'s template`);
      assert.equal(got.fieldsJson, JSON.stringify(want.fields));
      assert.equal(got.operation, want.fields['operation'] ?? null);
      assert.equal(got.durationMs, want.fields['duration_ms'] ?? null);
    });
  });
});
