// The project page's setup snippets: what a bot author copies must be the SDK as it is.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { projectPage } from './projects.js';

const project = { id: 1, slug: 'pay-bot', name: 'Pay Bot', publicKey: 'k'.repeat(32), shortIdPrefix: 'P', linkTemplates: [], groupingVersion: 1, createdAt: 0 };
const assets = { css: '/a.css', js: '/a.js', htmx: '/h.js', uplot: '/u.js', uplotCss: '/u.css' };

describe('the project page', () => {
  it('shows the released SDK with its real API and how to install it, not a "coming soon"', () => {
    const dsn = 'http://kkk@127.0.0.1:8000/1';
    const text = projectPage({ login: 'admin', csrfToken: 't', assets, now: 0 }, { project, dsn, settings: {}, counts: { unresolved: 0 } }).value;
    assert.doesNotMatch(text, /coming soon|not released yet|planned shape|once alerts ship/i);
    assert.match(text, /import \{ init, instrumentGrammy \} from &#39;@botpulse\/sdk&#39;/);
    assert.match(text, /instrumentGrammy\(bot\)/);
    assert.match(text, /docs\/sdk\.md#install/);
    assert.match(text, /npm pack/);
    assert.ok(text.includes(dsn), 'the DSN is filled in');
    assert.match(text, /instead of <code>ERROR_ALERT_CHAT_ID<\/code>/, 'the alert chat setting is in use, not a promise');
  });
});
