import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpdateDeduper } from './dedupe.js';

describe('UpdateDeduper', () => {
  it('flags repeats and forgets the oldest ids beyond its capacity', () => {
    const seen = new UpdateDeduper(3);
    assert.equal(seen.check(1), false);
    assert.equal(seen.check(1), true);
    for (const id of [2, 3, 4]) assert.equal(seen.check(id), false);
    assert.equal(seen.size, 3);
    assert.equal(seen.check(1), false, 'id 1 was evicted');
    assert.equal(seen.check(4), true);
  });

  it('keeps memory bounded under a long stream', () => {
    const seen = new UpdateDeduper(1000);
    for (let id = 0; id < 100_000; id++) seen.check(id);
    assert.equal(seen.size, 1000);
    assert.equal(seen.check(99_999), true);
    assert.equal(seen.check(5), false);
  });
});
