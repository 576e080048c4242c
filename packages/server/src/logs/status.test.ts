// The count a forbidden-pattern alert shows beside its issue's events: the rule state's matched
// lines (every line, also past the 60 events a minute a pattern may make).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from '../store/sqlite/index.js';
import { SqliteLogStore } from '../store/sqlite/logs.js';
import { forbiddenMatches } from './status.js';

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
