import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { hashPassword } from '../../packages/server/src/lib/password.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';

const CHROMIUM = '/usr/bin/chromium';
const chromiumMissing = !existsSync(CHROMIUM);
if (chromiumMissing && process.env.CI) throw new Error(`${CHROMIUM} is missing: the dashboard must be tested in a real browser in CI (apt-get install chromium)`);
if (chromiumMissing) console.warn(`\n!!! SKIPPING the dashboard browser tests: ${CHROMIUM} is not installed (apt-get install chromium). CI fails here instead. !!!\n`);

const PASSWORD = 'correct horse battery';
const XSS = '<script>alert(1)</script>';

/** A handler error with an in-app stack, Telegram context, breadcrumbs and a request, as @sentry/node sends it. */
function crashEvent(): Record<string, unknown> {
  return {
    level: 'error',
    platform: 'node',
    release: 'pay-bot@1.4.2',
    environment: 'production',
    tags: { origin: 'handler', chat_type: 'private', gen_request_id: 'gen-77' },
    user: { id: '4242' },
    contexts: { telegram: { update_id: 9001, update_type: 'message', chat_id: 4242, chat_type: 'private', user_id: 4242 } },
    breadcrumbs: { values: [{ timestamp: Date.now() / 1000 - 2, category: 'telegram', message: 'update 9001: /pay 100' }] },
    request: { method: 'POST', url: 'https://bot.example.com/webhook' },
    exception: {
      values: [
        {
          type: 'TypeError',
          value: "Cannot read properties of undefined (reading 'balance')",
          mechanism: { type: 'onunhandledrejection', handled: false },
          stacktrace: {
            frames: [
              { filename: 'node_modules/grammy/out/composer.js', function: 'Composer.handle', lineno: 51, in_app: false },
              { filename: '/app/src/payments.js', function: 'chargeUser', lineno: 41, in_app: true, pre_context: ['async function chargeUser(ctx, amount) {', '  const account = await loadAccount(ctx.from.id);'], context_line: '  if (account.wallet.balance < amount) {', post_context: ['    return ctx.reply("Not enough funds");', '  }'] },
            ],
          },
        },
      ],
    },
  };
}

describe('the dashboard in a real browser', { skip: chromiumMissing && `${CHROMIUM} is not installed` }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let crashIssueId: number;
  const dialogs: string[] = [];

  async function send(event: Record<string, unknown>): Promise<string> {
    const eventId = crypto.randomUUID().replace(/-/g, '');
    const body = serializeEnvelope({ headers: { event_id: eventId }, items: [jsonItem('event', event)] });
    const res = await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });
    assert.equal(res.status, 200);
    return eventId;
  }

  async function logIn(p: Page, login: string, password: string): Promise<void> {
    await p.goto(`${server.url}/login`);
    await p.fill('#login', login);
    await p.fill('#password', password);
    await p.click('button[type=submit]');
    await p.waitForLoadState('domcontentloaded');
  }

  before(async () => {
    server = await startTestServer();
    await server.botpulse.store.addUser('ann', await hashPassword(PASSWORD));
    await server.botpulse.store.addUser('bob', await hashPassword(PASSWORD));
    const crashId = await send(crashEvent());
    await send(crashEvent());
    await send({ level: 'warning', message: "Call to 'sendMessage' failed! (429: Too Many Requests: retry after 17)", tags: { origin: 'worker' } });
    await send({ level: 'error', message: XSS });
    await server.digested();
    crashIssueId = (await server.botpulse.store.getEvent(server.project.id, crashId))!.issueId;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('sends a page without a session to the login page', async () => {
    await page.goto(`${server.url}/issues?view=critical`);
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(new URL(page.url()).searchParams.get('next'), '/issues?view=critical');
  });

  it('refuses a wrong password', async () => {
    await logIn(page, 'ann', 'not the password');
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.match(await page.textContent('[role=alert]') ?? '', /Wrong login or password/);
  });

  it('logs in and shows the seeded issues', async () => {
    await logIn(page, 'ann', PASSWORD);
    assert.equal(new URL(page.url()).pathname, '/issues');
    const titles = await page.locator('.issue-title a').allTextContents();
    assert.ok(titles.some((t) => t.includes("Cannot read properties of undefined (reading 'balance')")), titles.join(' | '));
    assert.ok(titles.some((t) => t.includes('Too Many Requests')));
  });

  it('filters the list by text and by tag', async () => {
    await page.fill('#q', 'balance');
    await page.press('#q', 'Enter');
    // htmx swaps the results in place, then pushes the URL once the swap has settled.
    // Polled from here, not with page.waitForFunction: the page's CSP (script-src 'self', no
    // unsafe-eval) refuses the predicate whenever Playwright has to poll it inside the page.
    for (let i = 0; (await page.locator('.issue-title a').count()) !== 1; i++) {
      if (i > 100) throw new Error('the filtered list never showed exactly one issue');
      await new Promise((r) => setTimeout(r, 50));
    }
    await page.waitForURL(/q=balance/);
    assert.match((await page.locator('.issue-title a').textContent()) ?? '', /balance/);

    await page.goto(`${server.url}/issues?q=${encodeURIComponent('origin:worker')}`);
    assert.deepEqual((await page.locator('.issue-title a').allTextContents()).map((t) => /Too Many Requests/.test(t)), [true]);
  });

  it('opens an issue and shows its stack with the in-app frame and context line first', async () => {
    await page.goto(`${server.url}/issues?q=balance`);
    await page.click('.issue-title a');
    assert.equal(new URL(page.url()).pathname, `/issues/${crashIssueId}`);
    const firstFrame = page.locator('.frames > .frame').first();
    assert.match((await firstFrame.textContent()) ?? '', /chargeUser.*payments\.js:41/);
    assert.ok(await page.locator('.context .ln.cur', { hasText: 'account.wallet.balance < amount' }).first().isVisible());
    assert.match((await page.textContent('#telegram')) ?? '', /update_id\s*9001/);
    assert.match((await page.textContent('#breadcrumbs')) ?? '', /\/pay 100/);
    assert.match((await page.textContent('.stats')) ?? '', /Events\s*2/);
  });

  it('resolves the issue, which then leaves the unresolved list', async () => {
    await page.goto(`${server.url}/issues/${crashIssueId}`);
    await page.click('form:has(input[name=status][value=resolved]) button.primary');
    await page.waitForSelector('[role=status]');
    assert.match((await page.textContent('[role=status]')) ?? '', /Resolved 1 issue/);
    assert.match((await page.textContent('.issue-header')) ?? '', /Resolved/);
    await page.goto(`${server.url}/issues`);
    const unresolved = await page.locator('.issue-title a').allTextContents();
    assert.ok(!unresolved.some((t) => t.includes('balance')), unresolved.join(' | '));
    await page.goto(`${server.url}/issues?status=resolved`);
    assert.ok((await page.locator('.issue-title a').allTextContents()).some((t) => t.includes('balance')));
  });

  it("assigns the issue, keeps a note, and shows the issue's history with who did what", async () => {
    await page.goto(`${server.url}/issues/${crashIssueId}`);
    await page.click('#assignee form:has(input[name=assignee][value=me]) button');
    await page.waitForSelector('[role=status]');
    assert.match((await page.textContent('[role=status]')) ?? '', /Assigned 1 issue/);
    assert.match((await page.textContent('.issue-header')) ?? '', /@ann/);
    await page.fill('#history textarea[name=text]', 'Balance is undefined for users without a wallet <b>yet</b>');
    await page.click('#history button[type=submit]');
    await page.waitForSelector('#history .history-note');
    const lines = (await page.locator('#history .history li').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
    assert.deepEqual(
      lines.map((l) => l.replace(/^.*? ago /, '').replace(/^just now /, '')),
      ['ann resolved it', 'ann assigned it to ann', 'ann wrote: Balance is undefined for users without a wallet <b>yet</b>'],
    );
    await page.goto(`${server.url}/issues?view=mine&status=all`);
    assert.ok((await page.locator('.issue-title a').allTextContents()).some((t) => t.includes('balance')), 'the Assigned to me view lists it');
    await page.goto(`${server.url}/issues?q=${encodeURIComponent('assigned:bob')}&status=all`);
    assert.ok(!(await page.locator('.issue-title a').allTextContents()).some((t) => t.includes('balance')));
  });

  it('lists releases with their issues, and resolves a release\'s open issues in the next release', async () => {
    await page.goto(`${server.url}/issues/${crashIssueId}`);
    await page.click('form:has(input[name=status][value=new]) button.primary'); // reopen
    await page.goto(`${server.url}/releases`);
    const row = page.locator('tr', { hasText: 'pay-bot@1.4.2' });
    assert.match((await row.textContent()) ?? '', /pay-bot@1\.4\.2/);
    await row.locator('button', { hasText: 'in the next release' }).click();
    await page.waitForSelector('[role=status]');
    assert.match((await page.textContent('[role=status]')) ?? '', /Resolved 1 issue in the next release/);
    const issue = (await server.botpulse.store.getIssue(crashIssueId))!;
    assert.equal(issue.status, 'resolved');
    assert.equal(issue.resolvedInNextRelease, true);
    await page.goto(`${server.url}/issues/${crashIssueId}`);
    assert.match((await page.textContent('.issue-header')) ?? '', /fixed in the next release/);
  });

  it("shows times in the viewer's time zone, with the UTC value on hover", async () => {
    const moscow = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'Europe/Moscow', locale: 'en-GB' });
    try {
      const p = await moscow.newPage();
      await logIn(p, 'bob', PASSWORD);
      await p.goto(`${server.url}/issues/${crashIssueId}`);
      const firstSeen = p.locator('table.kv tr:has(th:text-is("First seen")) time[data-local]');
      const shown = (await firstSeen.textContent()) ?? '';
      const hover = (await firstSeen.getAttribute('title')) ?? '';
      const utc = /^(\d{4}-\d\d-\d\d) (\d\d):(\d\d) UTC$/.exec(hover);
      assert.ok(utc, `the UTC value on hover: ${hover}`);
      const local = /^(\d{4}-\d\d-\d\d) (\d\d):(\d\d) (GMT\+3|MSK)$/.exec(shown);
      assert.ok(local, `shown in Moscow time: ${shown}`);
      const minutes = (m: RegExpExecArray) => Date.parse(`${m[1]}T${m[2]}:${m[3]}:00Z`) / 60_000;
      assert.equal(minutes(local) - minutes(utc), 180, 'three hours ahead of UTC');
      const crumb = p.locator('table.crumbs-table time[data-local=clock]').first();
      assert.match((await crumb.getAttribute('title')) ?? '', / UTC$/);
      const crumbUtc = Number(((await crumb.getAttribute('datetime')) ?? '').slice(11, 13));
      assert.equal(Number(((await crumb.textContent()) ?? '').slice(0, 2)), (crumbUtc + 3) % 24, 'breadcrumb times too');
    } finally {
      await moscow.close();
    }
  });

  it("downloads an event's attachment as a file, never rendered as a page", async () => {
    const eventId = crypto.randomUUID().replace(/-/g, '');
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>';
    const body = serializeEnvelope({
      headers: { event_id: eventId },
      items: [
        jsonItem('event', { level: 'error', message: 'crash with a screenshot', tags: { origin: 'handler' } }),
        { headers: { type: 'attachment', filename: 'экран "1".svg', content_type: 'image/svg+xml' }, payload: Buffer.from(svg) },
      ],
    });
    const res = await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });
    assert.equal(res.status, 200);
    await server.digested();
    const issueId = (await server.botpulse.store.getEvent(server.project.id, eventId))!.issueId;
    await page.goto(`${server.url}/issues/${issueId}?event=${eventId}`);
    const link = page.locator('#attachments a[download]');
    assert.equal(await link.count(), 1);
    const download = await page.request.get(new URL((await link.getAttribute('href'))!, server.url).href);
    assert.equal(download.status(), 200);
    assert.equal(await download.text(), svg);
    const headers = download.headers();
    assert.equal(headers['content-type'], 'application/octet-stream');
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.match(headers['content-disposition'] ?? '', /^attachment; filename="_____ _1_\.svg"; filename\*=UTF-8''%D1%8D%D0%BA%D1%80%D0%B0%D0%BD%20%221%22\.svg$/);
    assert.equal((await page.request.get(`${server.url}/issues/${issueId}/events/${eventId}/attachments/1`)).status(), 404);
    assert.equal((await page.request.get(`${server.url}/issues/${crashIssueId}/events/${eventId}/attachments/0`)).status(), 404, 'only through its own issue');
    assert.equal((await fetch(`${server.url}/issues/${issueId}/events/${eventId}/attachments/0`, { redirect: 'manual' })).status, 302, 'not without a session: to the login page');
  });

  it('renders a <script> message as text', async () => {
    await page.goto(`${server.url}/issues?q=${encodeURIComponent('alert(1)')}`);
    const link = page.locator('.issue-title a', { hasText: XSS });
    assert.ok(await link.isVisible());
    await link.click();
    await page.waitForSelector('h1');
    assert.equal(await page.textContent('h1'), XSS);
    assert.ok(await page.locator('#message pre', { hasText: XSS }).isVisible());
    assert.deepEqual(dialogs, []);
  });

  it('refuses a form POST without the CSRF token (403), and with a wrong one', async () => {
    const missing = await page.request.post(`${server.url}/issues/${crashIssueId}/status`, { form: { status: 'new' }, maxRedirects: 0 });
    assert.equal(missing.status(), 403);
    const wrong = await page.request.post(`${server.url}/issues/${crashIssueId}/status`, { form: { status: 'new', _csrf: 'x'.repeat(43) }, maxRedirects: 0 });
    assert.equal(wrong.status(), 403);
    assert.equal((await server.botpulse.store.getIssue(crashIssueId))!.status, 'resolved');
  });

  it('logs out', async () => {
    await page.goto(`${server.url}/issues`);
    await page.click('text=Log out');
    await page.waitForURL(/\/login/);
    await page.goto(`${server.url}/issues`);
    assert.equal(new URL(page.url()).pathname, '/login');
  });

  it('locks a login out after 5 failures from one address (429), even with the right password', async () => {
    const other = await browser.newContext();
    const p = await other.newPage();
    for (let i = 0; i < 4; i++) {
      await logIn(p, 'bob', `wrong ${i}`);
      assert.match((await p.textContent('[role=alert]')) ?? '', /Wrong login or password/);
    }
    const fifth = p.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST');
    await logIn(p, 'bob', 'wrong 5');
    assert.equal((await fifth).status(), 429);
    const right = p.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST');
    await logIn(p, 'bob', PASSWORD);
    assert.equal((await right).status(), 429);
    assert.match((await p.textContent('[role=alert]')) ?? '', /Too many failed attempts/);
    await other.close();
  });
});
