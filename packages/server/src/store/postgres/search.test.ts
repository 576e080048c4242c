import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issueSearchSql } from './search.js';

describe('the issue search SQL on PostgreSQL', () => {
  const ilikes = (text: string) => issueSearchSql({ text }).where.join(' ').match(/ILIKE/g)?.length ?? 0;

  it('matches a text without a newline against issue_text alone: one ILIKE per issue, not three', () => {
    assert.equal(ilikes('payments'), 1);
    assert.equal(ilikes('B-12'), 1, 'a short id too (its id lookup is apart)');
  });

  it('checks title and culprit apart for a text with a newline, which could span the two in issue_text', () => {
    assert.equal(ilikes('payments\nworkers'), 3);
  });
});
