// The count a forbidden-pattern alert shows beside its issue's events: the rule state's matched
// lines (every line, also past the 60 events a minute a pattern may make).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from '../store/sqlite/index.js';
import { SqliteLogStore } from '../store/sqlite/logs.js';
import type { LineWorkerHealth } from './line-worker.js';
import { forbiddenMatches, logThreadStatusLines } from './status.js';

describe('forbiddenMatches', () => {
  let dir: string;
  let store: SqliteStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-log-status-'));
    store = await SqliteStore.open(join(dir, 'botpulse.db'));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the matched lines of a forbidden pattern\'s state; null without one', async () => {
    const logs = new SqliteLogStore(store.db);
    const project = await store.createProject({ name: 'Status', shortIdPrefix: 'S' });
    const state = { kind: 'forbidden', matched: 5000, firstAt: 1, lastAt: 2, minute: 0, evented: 60 };
    assert.equal(await logs.commitRuleBatch({ from: 0, to: 0, states: [{ projectId: project.id, ruleKey: 'forbidden:Queue full', state: JSON.stringify(state), firing: true, updatedAt: 2 }], notifications: [], matches: [] }), true);
    assert.equal(await forbiddenMatches(logs, project.id, 'Queue full'), 5000);
    assert.equal(await forbiddenMatches(logs, project.id, 'Webhook timeout'), null);
    assert.equal(await forbiddenMatches(logs, project.id + 1, 'Queue full'), null, 'per project');
  });
});

describe('logThreadStatusLines (the log-line thread in /status)', () => {
  const healthy: LineWorkerHealth = { threadRestarts: 0, failures: 0, refusedFull: 0, lostInThread: 0, untemplatedLines: 0, threadDown: false, queued: 0, lastError: null };

  it('says nothing while the thread has had no fault since start', () => {
    assert.deepEqual(logThreadStatusLines(healthy), []);
  });

  it('says when it is down, restarted, failed batches or left Sentry lines without a template (escaped)', () => {
    const down = logThreadStatusLines({ ...healthy, threadDown: true, threadRestarts: 1, lastError: 'RangeError: <heap> exhausted' });
    assert.equal(down.length, 1);
    assert.match(down[0]!, /^🔴 Log-line thread down: RangeError: &lt;heap&gt; exhausted; restarting it/);
    assert.deepEqual(logThreadStatusLines({ ...healthy, threadRestarts: 2, failures: 1, untemplatedLines: 40, lastError: 'boom' }), [
      '⚠️ Log-line thread restarted 2 times since start: boom',
      '⚠️ 1 log batch failed in the log-line thread since start (answered 500)',
      '⚠️ 40 Sentry log lines stored without a template since start (the log-line thread could not give them one)',
    ]);
    assert.deepEqual(logThreadStatusLines({ ...healthy, failures: 3, lastError: 'seed unreadable' }), ['⚠️ 3 log batches failed in the log-line thread since start (answered 500): seed unreadable']);
  });
});
