import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Project } from '../store/model.js';
import { applyQueryText, readListState, startOfUtcDay, stateParams, toSearch } from './query.js';
import type { IssueSearch } from '../store/store.js';

const NOW = Date.parse('2026-03-10T15:30:00Z');
const project: Project = { id: 7, slug: 'pay-bot', name: 'Pay Bot', publicKey: 'k', shortIdPrefix: 'PAY', linkTemplates: [], groupingVersion: 1, createdAt: 0 };

describe('issue list query', () => {
  it('defaults to unresolved issues, latest first, page 1', () => {
    const search = toSearch(readListState({}), NOW, [project]);
    assert.deepEqual(search, { status: ['new', 'in_progress'], limit: 50, offset: 0, countUpTo: 1050 });
  });

  it('maps the saved views to seed 004 queries', () => {
    const view = (name: string) => toSearch(readListState({ view: name }), NOW, []);
    assert.deepEqual(view('today'), { eventsSince: Date.parse('2026-03-10T00:00:00Z'), limit: 50, offset: 0, countUpTo: 1050 });
    assert.deepEqual(view('untracked'), { status: ['new', 'in_progress'], minEvents: 5, untracked: true, sort: 'count', limit: 50, offset: 0, countUpTo: 1050 });
    assert.deepEqual(view('critical'), { status: ['new', 'in_progress'], level: 'fatal', limit: 50, offset: 0, countUpTo: 1050 });
    assert.deepEqual(view('http5xx'), { httpStatus: { from: 500, to: 599 }, since: NOW - 3600_000, limit: 50, offset: 0, countUpTo: 1050 });
    assert.equal(startOfUtcDay(NOW), Date.parse('2026-03-10T00:00:00Z'));
  });

  it('applies the form filters on top of a view, and ignores unknown values', () => {
    const state = readListState({ view: 'critical', status: 'resolved', project: 'pay-bot', period: '24h', sort: 'users', page: '3', level: 'error', bogus: 'x' });
    const search = toSearch(state, NOW, [project]);
    assert.deepEqual(search, { status: ['resolved'], level: 'error', projectId: 7, since: NOW - 86_400_000, sort: 'users', limit: 50, offset: 100, countUpTo: 1150 });
    assert.deepEqual(readListState({ view: 'nope', sort: 'evil', period: '5y', page: '-4' }), readListState({}));
  });

  it('reads key:value tokens from the search box, quoted values included', () => {
    const search: IssueSearch = {};
    applyQueryText(search, 'timeout level:critical is:resolved env:staging release:1.2 chat_type:group gen:"a b" payments');
    assert.deepEqual(search, { level: 'fatal', status: ['resolved'], environment: 'staging', release: '1.2', tags: { chat_type: 'group', gen: 'a b' }, text: 'timeout payments' });
  });

  it('takes level:constructor as the text it is, not as an inherited member of the alias table', () => {
    const search: IssueSearch = {};
    applyQueryText(search, 'level:constructor');
    assert.deepEqual(search, { level: 'constructor' });
  });

  it('keeps state in links without the defaults', () => {
    const state = readListState({ q: 'x', page: '2' });
    assert.deepEqual(stateParams(state), { view: undefined, status: undefined, q: 'x', project: undefined, level: undefined, origin: undefined, environment: undefined, release: undefined, period: undefined, sort: undefined, page: 2 });
  });
});
