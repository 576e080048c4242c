import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketOf } from '../lib/histogram.js';
import { OTHER_OPERATION, operationLatencies, operationPercentiles } from './latency.js';

const at = (projectId: number, receivedAt: number, fields: Record<string, string>) => ({ projectId, receivedAt, operation: fields['operation'] ?? null, durationMs: fields['duration_ms'] ?? null });

describe('operation latencies from log lines', () => {
  it('makes one histogram per project, operation and arrival minute from operation + duration_ms', () => {
    const rows = operationLatencies([
      at(1, 60_000, { operation: 'payment', duration_ms: '45' }),
      at(1, 119_999, { operation: 'payment', duration_ms: '55.5' }),
      at(1, 120_000, { operation: 'payment', duration_ms: '10' }),
      at(2, 60_000, { operation: 'payment', duration_ms: '1' }),
      at(1, 60_000, { operation: 'check_balance', duration_ms: '3' }),
      at(1, 60_000, { operation: 'check_balance' }),
      at(1, 60_000, { duration_ms: '3' }),
      at(1, 60_000, { operation: 'x', duration_ms: 'slow' }),
      at(1, 60_000, { operation: 'x', duration_ms: '-1' }),
      at(1, 60_000, { operation: '  ', duration_ms: '5' }),
    ]);
    assert.deepEqual(
      rows.map((r) => [r.projectId, r.operation, r.minute, r.count, r.sumMs]),
      [[1, 'payment', 60_000, 2, 100.5], [1, 'payment', 120_000, 1, 10], [2, 'payment', 60_000, 1, 1], [1, 'check_balance', 60_000, 1, 3]],
    );
    assert.equal(rows[0]!.buckets[bucketOf(45)], 1);
    assert.equal(rows[0]!.buckets.reduce((a, b) => a + b, 0), 2);
  });

  it('puts operations past the per-batch cap under (other), so a sender cannot make rows without end', () => {
    const lines = Array.from({ length: 150 }, (_, i) => at(1, 0, { operation: `op-${i}`, duration_ms: '1' }));
    const ops = new Set(operationLatencies(lines).map((r) => r.operation));
    assert.equal(ops.size, 101);
    assert.ok(ops.has(OTHER_OPERATION));
  });

  it('adds the minutes of an operation and reads its percentiles, busiest first', () => {
    const minutes = operationLatencies([
      ...Array.from({ length: 100 }, (_, i) => at(1, (i % 3) * 60_000, { operation: 'payment', duration_ms: String(i + 1) })),
      at(1, 0, { operation: 'start', duration_ms: '200' }),
    ]);
    const [payment, start] = operationPercentiles(minutes);
    assert.equal(payment!.operation, 'payment');
    assert.equal(payment!.count, 100);
    assert.equal(payment!.avgMs, 51);
    assert.ok(Math.abs(payment!.p50! - 50) <= 5, String(payment!.p50));
    assert.ok(Math.abs(payment!.p99! - 99) <= 9, String(payment!.p99));
    assert.equal(start!.count, 1);
    assert.deepEqual(operationPercentiles([]), []);
  });
});
