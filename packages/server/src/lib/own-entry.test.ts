import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownEntry } from './own-entry.js';

describe('ownEntry', () => {
  it("reads a table's own entries and nothing every object inherits", () => {
    const table = { warn: 'warning' };
    assert.equal(ownEntry(table, 'warn'), 'warning');
    for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) assert.equal(ownEntry(table, key), undefined, key);
  });
});
