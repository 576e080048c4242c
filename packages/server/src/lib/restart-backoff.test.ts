import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { RestartBackoff } from './restart-backoff.js';

describe('RestartBackoff', () => {
  it('waits longer after each death up to its bound, again from the start once the thread worked, one restart at a time', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const backoff = new RestartBackoff(200, 1_000);
      let restarts = 0;
      const delays = [1, 2, 3, 4].map(() => backoff.schedule(() => void (restarts += 1)));
      assert.deepEqual(delays, [200, 400, 800, 1_000]);
      assert.ok(backoff.pending);
      mock.timers.tick(1_000);
      assert.equal(restarts, 1, 'a new schedule replaces the restart that waited');
      assert.ok(!backoff.pending);
      backoff.reset();
      assert.equal(backoff.schedule(() => void (restarts += 1)), 200);
      backoff.cancel();
      mock.timers.tick(1_000);
      assert.equal(restarts, 1, 'cancelled');
      assert.ok(!backoff.pending);
    } finally {
      mock.timers.reset();
    }
  });
});
