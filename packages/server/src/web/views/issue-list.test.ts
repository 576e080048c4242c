// The issue list's count line and pager when the store stopped counting past the page.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Issue } from '../../store/model.js';
import { readListState } from '../query.js';
import { issueListPage, type IssueListData } from './issue-list.js';

const assets = { css: '/a.css', js: '/a.js', htmx: '/h.js', uplot: '/u.js', uplotCss: '/u.css' };
const ctx = { login: 'admin', csrfToken: 't', assets, now: 0 };
const issue = (id: number) => ({ id, projectId: 1, shortId: `B-${id}`, title: `issue ${id}`, level: 'error', status: 'new', eventCount: 1, userCount: 0, lastSeen: 0, firstSeen: 0 }) as unknown as Issue;

function list(page: number, total: number, totalIsLowerBound: boolean): string {
  const data: IssueListData = {
    state: readListState({ page: String(page) }),
    issues: Array.from({ length: 50 }, (_, n) => issue((page - 1) * 50 + n + 1)),
    total,
    totalIsLowerBound,
    recentCounts: new Map(),
    statusCounts: { new: 0, in_progress: 0, resolved: 0, ignored: 0 },
    hourly: new Map(),
    projects: [],
    releases: [],
  };
  return issueListPage(ctx, data).value;
}

describe('the issue list count', () => {
  it('says "1,050+" and keeps a Next link when the count stopped at its bound', () => {
    const text = list(1, 1050, true);
    assert.match(text, /1–50 of 1,050\+/);
    assert.match(text, /Page 1 of 21\+/);
    assert.match(text, /rel="next"/);
    const last = list(21, 1050, true);
    assert.match(last, /rel="next"/, 'past the counted pages there may be more');
  });

  it('gives the exact total and no Next link on the last page when every match was counted', () => {
    const text = list(2, 100, false);
    assert.match(text, /51–100 of 100</);
    assert.match(text, /Page 2 of 2</);
    assert.doesNotMatch(text, /rel="next"/);
  });
});
