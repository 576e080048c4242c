// The Logs page in a real browser (issue 13): times in the viewer's time zone (a range typed in it
// is sent as UTC), quick ranges, live follow (new lines appear without a reload; paused while the
// tab is hidden, and by the person), and the rule editor (a bad pattern refused with the reason,
// a new pattern stored and matching the next line, which links to its issue and rule).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { hashPassword } from '../../packages/server/src/lib/password.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';

const CHROMIUM = '/usr/bin/chromium';
const chromiumMissing = !existsSync(CHROMIUM);
if (chromiumMissing && process.env.CI) throw new Error(`${CHROMIUM} is missing: the dashboard must be tested in a real browser in CI (apt-get install chromium)`);

const PASSWORD = 'correct horse battery';
/** UTC+9 all year (no daylight saving), so the expected local text is plain arithmetic. */
const ZONE = 'Asia/Tokyo';
const ZONE_MS = 9 * 3600_000;

describe('the Logs page in a real browser', { skip: chromiumMissing && `${CHROMIUM} is not installed` }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const twoHoursAgo = Date.now() - 2 * 3600_000;

  /** Sends NDJSON lines and waits until they are stored, judged by the rules and their events digested. */
  async function send(records: Record<string, unknown>[]): Promise<void> {
    const res = await fetch(`${server.url}/api/${server.project.id}/logs/?sentry_key=${server.project.publicKey}`, { method: 'POST', body: records.map((r) => JSON.stringify(r)).join('\n') });
    assert.equal(res.status, 200);
    const newest = (await server.botpulse.logs.searchLines({ projectId: server.project.id, limit: 1 }))[0]!.id;
    while ((await server.botpulse.logs.ruleCursor()) < newest) await new Promise((r) => setTimeout(r, 20));
    await server.digested();
  }

  before(async () => {
    server = await startTestServer();
    await server.botpulse.store.addUser('meg', await hashPassword(PASSWORD), 'member');
    await send([
      { msg: 'Old balance check', level: 'info', logger: 'bot.balance', time: twoHoursAgo },
      { msg: 'Payment provider timeout', level: 'error', logger: 'bot.pay', time: Date.now() },
    ]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: ZONE });
    page = await context.newPage();
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${server.url}/login`);
    await page.fill('#login', 'meg');
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForLoadState('domcontentloaded');
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const rowTexts = () => page.locator('[data-follow-rows] tr').allTextContents();

  it('shows line times in the viewer\'s zone, narrows to a quick range, and sends a typed range as UTC', async () => {
    await page.goto(`${server.url}/logs`);
    const local = new Date(twoHoursAgo + ZONE_MS).toISOString().slice(0, 19).replace('T', ' ');
    const oldRow = page.locator('[data-follow-rows] tr', { hasText: 'Old balance check' });
    assert.equal((await oldRow.locator('time').textContent())?.trim(), local, 'Tokyo time, to the second');

    await page.click('.quick-ranges a:text-is("1h")');
    await page.waitForURL(/range=1h/);
    const inHour = await rowTexts();
    assert.ok(inHour.some((t) => t.includes('Payment provider timeout')));
    assert.ok(!inHour.some((t) => t.includes('Old balance check')), 'two hours ago is outside the last hour');

    // "From" typed in Tokyo time, 3 h ago: the URL carries the same instant in UTC.
    await page.goto(`${server.url}/logs`);
    const from = Date.now() - 3 * 3600_000;
    const fromLocal = new Date(from + ZONE_MS).toISOString().slice(0, 16);
    await page.fill('input[name=from]', fromLocal);
    await page.click('form[data-log-filters] button[type=submit]');
    await page.waitForURL(/from=/);
    const sent = new URL(page.url()).searchParams.get('from')!;
    assert.equal(sent, new Date(`${fromLocal}:00.000+09:00`).toISOString());
    assert.ok(!new URL(page.url()).searchParams.has('q'), 'empty fields stay out of the URL');
    assert.equal(await page.inputValue('input[name=from]'), fromLocal, 'shown back in the viewer\'s zone');
    assert.ok((await rowTexts()).some((t) => t.includes('Old balance check')));
  });

  it('follows: a new line appears without a reload; paused by the person or a hidden tab, it says so and catches up when resumed', async () => {
    await page.goto(`${server.url}/logs`);
    const loaded = await page.evaluate(() => performance.timeOrigin);
    await send([{ msg: 'Fresh line <b>one</b>', level: 'warning', logger: 'bot.live' }]);
    await page.locator('[data-follow-rows] tr.fresh', { hasText: 'Fresh line <b>one</b>' }).waitFor();
    assert.equal((await rowTexts())[0]!.includes('Fresh line <b>one</b>'), true, 'on top, as text (escaped)');
    assert.equal(await page.evaluate(() => performance.timeOrigin), loaded, 'no reload');

    await page.click('[data-follow-toggle]');
    assert.equal(await page.getAttribute('[data-follow-toggle]', 'aria-pressed'), 'false');
    assert.equal((await page.textContent('[data-follow-status]'))?.trim(), 'Paused.');
    await send([{ msg: 'Arrived while paused', level: 'info' }]);
    await page.click('[data-follow-toggle]');
    await page.locator('[data-follow-rows] tr', { hasText: 'Arrived while paused' }).waitFor();

    // A hidden tab stops polling (a string: the test's compiler would wrap a function's getter in a helper the page lacks); shown again, it catches up at once.
    await page.evaluate(`Object.defineProperty(document, 'hidden', { configurable: true, get: function () { return true; } }); document.dispatchEvent(new Event('visibilitychange'));`);
    assert.equal((await page.textContent('[data-follow-status]'))?.trim(), 'Paused while the tab is hidden.');
    await send([{ msg: 'Arrived while hidden', level: 'info' }]);
    await page.evaluate(`Object.defineProperty(document, 'hidden', { configurable: true, get: function () { return false; } }); document.dispatchEvent(new Event('visibilitychange'));`);
    await page.locator('[data-follow-rows] tr', { hasText: 'Arrived while hidden' }).waitFor();
    const texts = await rowTexts();
    assert.ok(texts.findIndex((t) => t.includes('Arrived while hidden')) < texts.findIndex((t) => t.includes('Arrived while paused')), 'newest first');
  });

  it('keeps at most the page\'s bound of lines while following', async () => {
    await page.goto(`${server.url}/logs`);
    const max = Number(await page.getAttribute('[data-follow]', 'data-max'));
    assert.equal(max, 500);
    // A lower bound for this test only: the page's follower is paused and a fresh bar (which the
    // script sets up anew) carries the bound.
    await page.evaluate(() => {
      const bar = document.querySelector('[data-follow]')!;
      (bar.querySelector('[data-follow-toggle]') as HTMLButtonElement).click();
      const copy = bar.cloneNode(true) as HTMLElement;
      copy.setAttribute('data-max', '3');
      bar.replaceWith(copy);
      document.dispatchEvent(new Event('htmx:load'));
    });
    await send([1, 2, 3, 4].map((n) => ({ msg: `Bounded line ${n}`, level: 'info' })));
    await page.locator('[data-follow-rows] tr', { hasText: 'Bounded line 4' }).waitFor();
    assert.equal(await page.locator('[data-follow-rows] tr').count(), 3);
  });

  it('edits the rules: a bad pattern is refused with the reason; a new one matches the next line, which links to its issue and rule', async () => {
    await page.goto(`${server.url}/logs`);
    await page.click('a:text-is("Edit rules")');
    await page.waitForURL(/\/logs\/rules/);
    await page.fill('input[aria-label="New forbidden pattern"]', '(?=refund)');
    await page.click('button:text-is("Add forbidden pattern")');
    assert.match((await page.textContent('[data-rule-error]')) ?? '', /not a valid RE2 pattern.*unsupported Perl syntax/);
    assert.equal(await page.inputValue('input[aria-label="New forbidden pattern"]'), '(?=refund)', 'what was typed is kept');

    await page.fill('input[aria-label="New forbidden pattern"]', '(?i)refund failed');
    await page.click('button:text-is("Add forbidden pattern")');
    await page.waitForURL(/done=added/);
    assert.match((await page.textContent('[role=status]')) ?? '', /Rule added/);
    assert.equal(await page.inputValue('input[aria-label="Forbidden pattern 8"]'), '(?i)refund failed');

    await page.fill('input[aria-label="Error rate count"]', '25');
    await page.click('[data-rules="error-rate"] button:text-is("Save")');
    await page.waitForURL(/done=saved/);
    assert.match((await page.textContent('[data-rules="error-rate"]')) ?? '', /more than 25 ERROR\/CRITICAL lines in 10 minutes/);

    await send([{ msg: 'REFUND FAILED for order 77', level: 'error', logger: 'bot.pay' }]);
    await page.goto(`${server.url}/logs`);
    const row = page.locator('[data-follow-rows] tr', { hasText: 'REFUND FAILED for order 77' });
    await row.locator('a.badge:text-is("forbidden")').click();
    const ruleRow = page.locator('tr:target');
    assert.match((await ruleRow.textContent()) ?? '', /\(\?i\)refund failed/);
    assert.equal(await ruleRow.locator('[data-rule-state]').getAttribute('data-rule-state'), 'firing');

    await page.locator('[data-follow-rows] tr', { hasText: 'REFUND FAILED for order 77' }).locator('a:text-is("issue")').click();
    await page.waitForURL(/\/issues\/\d+/);
    assert.match((await page.textContent('[data-log-lines]')) ?? '', /REFUND FAILED for order 77/, 'the issue lists its matching lines');
    await page.click('[data-log-lines] a:text-is("All on the Logs page")');
    await page.waitForURL(/rule=forbidden/);
    assert.deepEqual((await rowTexts()).filter((t) => t.includes('REFUND')).length, 1);
  });

  it('stops following and says so when the session has ended (last: it logs the page out)', async () => {
    await page.goto(`${server.url}/logs`);
    await page.context().clearCookies();
    await page.locator('[data-follow-status]', { hasText: 'Live follow stopped: the session ended' }).waitFor();
    assert.equal(await page.getAttribute('[data-follow-toggle]', 'aria-pressed'), 'true', 'not a pause by the person');
  });
});
