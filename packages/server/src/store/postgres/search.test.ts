import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issueSearchSql, tagFilterCount } from './search.js';

describe('the issue search SQL on PostgreSQL', () => {
  const ilikes = (text: string) => issueSearchSql({ text }).where.join(' ').match(/ILIKE/g)?.length ?? 0;

  it('matches a text without a newline against issue_text alone: one ILIKE per issue, not three', () => {
    assert.equal(ilikes('payments'), 1);
    assert.equal(ilikes('B-12'), 1, 'a short id too (its id lookup is apart)');
  });

  it('checks title and culprit apart for a text with a newline, which could span the two in issue_text', () => {
    assert.equal(ilikes('payments\nworkers'), 3);
  });

  it('writes tag filters as subplans (IS TRUE) when the page is to walk the sort index, as joins otherwise', () => {
    const search = { environment: 'staging', release: '1.2', tags: { chat_type: 'group' } };
    assert.equal(tagFilterCount(search), 3);
    assert.equal(tagFilterCount({ tags: {} }), 0);
    const walked = issueSearchSql(search, { walkSortIndex: true });
    assert.equal(walked.where.filter((w) => w.endsWith(') IS TRUE')).length, 3);
    assert.equal(issueSearchSql(search).where.filter((w) => w.includes('IS TRUE')).length, 0);
    assert.deepEqual(walked.args, issueSearchSql(search).args);
  });
});
