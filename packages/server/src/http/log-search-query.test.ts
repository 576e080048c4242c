import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientError } from '../lib/errors.js';
import { searchQuery } from './log-routes.js';

describe('the log search query: templates', () => {
  it('takes template:<id> inside q and the template parameter as the template filter', () => {
    assert.equal(searchQuery(1, { q: 'template:0123456789ABCDEF lost' }).templateId, '0123456789abcdef');
    assert.equal(searchQuery(1, { q: 'template:0123456789ABCDEF lost' }).text, 'lost');
    assert.equal(searchQuery(1, { template: 'fedcba9876543210' }).templateId, 'fedcba9876543210');
  });

  it('keeps template:<anything else> a field filter (Sentry lines carry their message template as the field `template`)', () => {
    const q = searchQuery(1, { q: 'template:User_{id}_paid' });
    assert.equal(q.templateId, undefined);
    assert.deepEqual(q.fields, { template: 'User_{id}_paid' });
  });

  it('answers 400 for a template parameter that is no template id', () => {
    assert.throws(() => searchQuery(1, { template: 'nope' }), (err: unknown) => err instanceof ClientError && err.status === 400);
  });
});
