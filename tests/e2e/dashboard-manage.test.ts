// Management in a real browser (issue 16): an admin creates a project, copies its DSN, sends an
// event with it and sees the issue; creates and edits a monitor; a viewer sees no mutating button
// and their POSTs are refused.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { jsonItem, parseDsn, serializeEnvelope } from '@botpulse/protocol';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { hashPassword } from '../../packages/server/src/lib/password.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';

const CHROMIUM = '/usr/bin/chromium';
const chromiumMissing = !existsSync(CHROMIUM);
if (chromiumMissing && process.env.CI) throw new Error(`${CHROMIUM} is missing: the dashboard must be tested in a real browser in CI (apt-get install chromium)`);

const PASSWORD = 'correct horse battery';

describe('managing Botpulse from the dashboard in a real browser', { skip: chromiumMissing && `${CHROMIUM} is not installed` }, () => {
  let server: TestServer;
  let browser: Browser;
  let adminContext: BrowserContext;
  let admin: Page;
  let dsn: string;

  async function logIn(p: Page, login: string): Promise<void> {
    await p.goto(`${server.url}/login`);
    await p.fill('#login', login);
    await p.fill('#password', PASSWORD);
    await p.click('button[type=submit]');
    await p.waitForLoadState('domcontentloaded');
  }

  before(async () => {
    server = await startTestServer();
    await server.botpulse.store.addUser('ann', await hashPassword(PASSWORD), 'admin');
    await server.botpulse.store.addUser('vic', await hashPassword(PASSWORD), 'viewer');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await adminContext.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    admin = await adminContext.newPage();
    admin.on('dialog', (d) => void d.accept());
    await logIn(admin, 'ann');
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('creates a project, copies its DSN, sends an event with it and sees the issue', async () => {
    await admin.goto(`${server.url}/projects`);
    await admin.fill('input[name=name]', 'Pay Bot');
    await admin.fill('input[name=shortIdPrefix]', '1234567');
    // The browser's own check (pattern) stops a bad prefix before it is sent; the server names it too (route tests).
    await admin.click('#new-project button[type=submit]');
    assert.equal(new URL(admin.url()).pathname, '/projects');
    await admin.fill('input[name=shortIdPrefix]', 'PAY');
    await admin.click('#new-project button[type=submit]');
    await admin.waitForURL(/\/projects\/pay-bot/);
    assert.match((await admin.textContent('[role=status]')) ?? '', /Created the project/);

    await admin.click('#dsn button[data-copy]');
    dsn = await admin.evaluate(() => navigator.clipboard.readText());
    assert.match(dsn, /^http:\/\/[0-9a-f]{32}@127\.0\.0\.1:\d+\/\d+$/);
    assert.equal(dsn, (await admin.textContent('#dsn code.dsn'))?.trim());
    assert.ok(((await admin.textContent('.snippets')) ?? '').includes(dsn), 'the SDK snippets carry the real DSN');

    // An SDK's envelope, authenticated by the DSN in its header (as @sentry/node sends it).
    const parsed = parseDsn(dsn);
    const body = serializeEnvelope({ headers: { event_id: crypto.randomUUID().replace(/-/g, ''), dsn }, items: [jsonItem('event', { level: 'error', message: 'Payment provider timed out', platform: 'node' })] });
    const res = await fetch(`${server.url}/api/${parsed.projectId}/envelope/`, { method: 'POST', body, headers: { 'content-type': 'application/x-sentry-envelope' } });
    assert.equal(res.status, 200);
    await server.digested();
    await admin.goto(`${server.url}/issues?project=pay-bot`);
    assert.deepEqual(await admin.locator('.issue-title a').allTextContents().then((t) => t.map((s) => s.trim())), ['Payment provider timed out']);
    assert.match((await admin.locator('.issue-row').first().textContent()) ?? '', /PAY-001/);
  });

  it('creates a monitor and edits its period', async () => {
    await admin.goto(`${server.url}/monitors`);
    const section = admin.locator('section.bot', { hasText: 'Pay Bot' });
    await section.locator('details.new-monitor summary').click();
    await section.locator('input[name=slug]').fill('nightly-report');
    await section.locator('input[name=periodSeconds]').fill('3600');
    await section.locator('details.new-monitor button[type=submit]').click();
    await admin.waitForLoadState('domcontentloaded');
    const card = admin.locator('article[data-monitor="nightly-report"]');
    assert.match((await card.textContent()) ?? '', /every 1 h/);

    await card.locator('details.edit-monitor summary').click();
    await card.locator('input[name=periodSeconds]').fill('1800');
    await card.locator('details.edit-monitor button[type=submit]').first().click();
    await admin.waitForLoadState('domcontentloaded');
    const edited = admin.locator('article[data-monitor="nightly-report"]');
    assert.match((await edited.textContent()) ?? '', /every 30 min/);
    assert.match((await edited.textContent()) ?? '', /Set by hand\s*period/);

    await edited.locator('.monitor-actions button', { hasText: 'Pause' }).click();
    await admin.waitForLoadState('domcontentloaded');
    assert.equal(await admin.locator('article[data-monitor="nightly-report"] [data-status]').first().getAttribute('data-status'), 'paused');
  });

  it('a viewer sees no mutating button, and their POSTs are refused', async () => {
    const context = await browser.newContext();
    const viewer = await context.newPage();
    await logIn(viewer, 'vic');
    const issue = (await server.botpulse.store.listIssues({ text: 'Payment provider timed out' })).issues[0]!;
    for (const path of ['/issues', `/issues/${issue.id}`, '/releases', '/projects', '/projects/pay-bot', '/projects/pay-bot/alerts', '/monitors']) {
      await viewer.goto(`${server.url}${path}`);
      const actions = await viewer.locator('form[method=post]').evaluateAll((forms) => forms.map((f) => f.getAttribute('action')));
      assert.deepEqual(actions, ['/logout'], `${path}: only the logout form`);
      for (const label of ['Save', 'Rotate key', 'Create project', 'Delete project and all its data', 'Pause', 'Resolve', 'New monitor', 'Assign', 'Add note']) {
        assert.equal(await viewer.getByRole('button', { name: label, exact: true }).count(), 0, `${path}: no "${label}" button`);
      }
    }
    assert.equal(await viewer.locator('nav a[href="/users"]').count(), 0, 'no Users & tokens link');
    // Posting anyway, with the session's valid security token: refused.
    await viewer.goto(`${server.url}/projects`);
    const csrf = await viewer.locator('input[name=_csrf]').first().inputValue();
    for (const [url, form] of [['/projects', { name: 'Sneaky' }], ['/projects/pay-bot/rotate-key', {}], ['/users', { login: 'eve', password: PASSWORD, role: 'admin' }]] as const) {
      const res = await viewer.request.post(`${server.url}${url}`, { form: { _csrf: csrf, ...form }, maxRedirects: 0 });
      assert.equal(res.status(), 403, url);
      assert.match(await res.text(), /Your role \(viewer\) cannot make this change/);
    }
    assert.equal(await server.botpulse.store.getProject('sneaky'), null);
    assert.equal(await server.botpulse.store.getUser('eve'), null);
    await context.close();
  });
});
