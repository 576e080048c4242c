// The dashboard's Logs pages: a project's lines newest first, filtered (words, field:value, level,
// logger, rule, time range), escaped, each line linked to its issue and rule; live follow's
// endpoint; the rules' states; the rule editor (validated, stored, never a 500); and the issue
// page of a log-born issue listing its matching lines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashPassword } from '../lib/password.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

const PASSWORD = 'correct horse battery staple';

describe('the Logs page', () => {
  let server: TestServer;
  let session: string;
  let csrf: string;
  const sendLines = async (records: Record<string, unknown>[]) => {
    const body = records.map((r) => JSON.stringify(r)).join('\n');
    const sent = await fetch(`${server.url}/api/${server.project.id}/logs/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });
    assert.equal(sent.status, 200);
    const newest = (await server.botpulse.logs.searchLines({ projectId: server.project.id, limit: 1 }))[0]!.id;
    while ((await server.botpulse.logs.ruleCursor()) < newest) await new Promise((r) => setTimeout(r, 20));
    await server.digested();
    return newest;
  };
  before(async () => {
    server = await startTestServer();
    await server.botpulse.store.addUser('ops', await hashPassword(PASSWORD));
    const form = await fetch(`${server.url}/login`);
    const token = form.headers.getSetCookie().find((c) => c.startsWith('bp_login_csrf='))!.split(';')[0]!.split('=')[1]!;
    const login = await fetch(`${server.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `bp_login_csrf=${token}` },
      body: new URLSearchParams({ _csrf: token, login: 'ops', password: PASSWORD }).toString(),
    });
    session = login.headers.getSetCookie().find((c) => c.startsWith('bp_session='))!.split(';')[0]!;
    await sendLines([
      { msg: 'User balance checked <b>ok</b>', level: 'info', logger: 'bot.balance', user_id: 42, time: Date.now() - 2 * 3600_000 },
      { msg: 'Payment provider timeout', level: 'error', logger: 'bot.pay', user_id: 7, time: Date.now() - 1000 },
      { msg: 'Database connection lost', level: 'critical', logger: 'bot.db', time: Date.now() },
    ]);
    csrf = /name="_csrf" value="([^"]+)"/.exec(await get('/logs/rules'))![1]!;
  });
  after(async () => server.close());

  const fetchPage = (path: string) => fetch(`${server.url}${path}`, { headers: { cookie: session }, redirect: 'manual' });
  const get = async (path: string) => {
    const r = await fetchPage(path);
    assert.equal(r.status, 200, path);
    return r.text();
  };
  /** The lines table only (the rule states below it name the patterns too). */
  const lines = async (path: string) => {
    const page = await get(path);
    return /<tbody data-follow-rows>([\s\S]*?)<\/tbody>/.exec(page)?.[1] ?? page;
  };
  const post = (path: string, form: Record<string, string>) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, project: server.project.slug, ...form }).toString(),
    });

  it('lists lines newest first, escaped, with their fields and times for the viewer\'s zone; the nav links it', async () => {
    const page = await get('/logs');
    assert.match(page, /<a href="\/logs" aria-current="page">Logs<\/a>/);
    const lost = page.indexOf('Database connection lost');
    const timeout = page.indexOf('Payment provider timeout');
    const balance = page.indexOf('User balance checked');
    assert.ok(lost > 0 && lost < timeout && timeout < balance, 'newest first');
    assert.match(page, /User balance checked &lt;b&gt;ok&lt;\/b&gt;/);
    assert.match(page, /user_id=42/);
    assert.match(page, /<time datetime="[^"]+" title="[^"]+" data-local="seconds">/, 'the script shows it in the viewer\'s time zone');
    assert.match(page, /data-follow="\/logs\/follow\?project=test-bot" data-after="\d+"/, 'live follow starts after the newest line shown');
    assert.match(page, /<nav class="tabs log-tabs" aria-label="Logs"><a href="\/logs\?project=test-bot" aria-current="true">Lines<\/a><a href="\/logs\/rules\?project=test-bot">Rules<\/a><a href="\/logs\/templates\?project=test-bot">Templates<\/a><\/nav>/);
  });

  it('filters by words, field:value, level, logger and time range; a bad filter is a 400, never a 500', async () => {
    const byField = await lines('/logs?q=user_id%3A7');
    assert.match(byField, /Payment provider timeout/);
    assert.doesNotMatch(byField, /User balance checked/);
    const byLevel = await lines('/logs?min_level=critical');
    assert.match(byLevel, /Database connection lost/);
    assert.doesNotMatch(byLevel, /Payment provider timeout/);
    const byLogger = await lines('/logs?logger=bot.pay');
    assert.match(byLogger, /Payment provider timeout/);
    assert.doesNotMatch(byLogger, /Database connection lost/);
    const lastHour = await lines('/logs?range=1h');
    assert.match(lastHour, /Payment provider timeout/);
    assert.doesNotMatch(lastHour, /User balance checked/, 'two hours ago is outside 1h');
    assert.match(await get('/logs?range=1h'), /href="[^"]*range=1h" aria-current="true">1h<\/a>/);
    const older = new Date(Date.now() - 3600_000).toISOString();
    const until = await lines(`/logs?to=${encodeURIComponent(older)}`);
    assert.match(until, /User balance checked/);
    assert.doesNotMatch(until, /Payment provider timeout/);
    assert.match(await get(`/logs?to=${encodeURIComponent(older)}`), /Live follow is off/, 'a range that ends in the past is not followed');
    const noZone = await lines(`/logs?from=${older.slice(0, 16)}`);
    assert.doesNotMatch(noZone, /User balance checked/, 'a time without a zone (no script) is UTC');
    assert.equal(await lines('/logs?q=nothing+like+this'), '');
    assert.match(await get('/logs?q=nothing+like+this'), /No log line matches yet/);
    for (const bad of ['min_level=loud', 'range=forever', 'from=yesterday', 'before=-1']) {
      assert.equal((await fetchPage(`/logs?${bad}`)).status, 400, bad);
    }
  });

  it('links a forbidden line to its issue and to its rule, whose state shows firing with when it last fired', async () => {
    const page = await get('/logs?min_level=critical');
    assert.match(page, /<a class="badge" href="\/logs\?project=test-bot#rule-[0-9a-f]{12}" title="forbidden:Database connection lost">forbidden<\/a> <a href="\/issues\/\d+">issue<\/a>/);
    const anchor = /#(rule-[0-9a-f]{12})" title="forbidden:Database connection lost"/.exec(page)![1]!;
    const row = new RegExp(`<tr id="${anchor}">[\\s\\S]*?</tr>`).exec(page)![0];
    assert.match(row, /<code>Database connection lost<\/code>/);
    assert.match(row, /data-rule-state="firing"/);
    assert.match(row, /<time datetime="[^"]+"[^>]*data-local>/, 'last fired');
    assert.match(row, /href="\/logs\?project=test-bot&amp;rule=forbidden%3ADatabase\+connection\+lost">lines<\/a>/);
    assert.match(page, /data-rule-state="never">not matched yet/, 'a rule no line matched');
    assert.match(await get('/logs?rule=forbidden%3ADatabase%20connection%20lost'), /Only the lines the rule <code>forbidden:Database connection lost<\/code> matched/);
    const byRule = await lines('/logs?rule=forbidden%3ADatabase%20connection%20lost');
    assert.match(byRule, /Database connection lost/);
    assert.doesNotMatch(byRule, /Payment provider timeout/);
  });

  it('follows: /logs/follow gives the rows after a cursor, with the page\'s filters, escaped', async () => {
    const newest = (await server.botpulse.logs.searchLines({ projectId: server.project.id, limit: 1 }))[0]!.id;
    const follow = async (qs: string) => {
      const r = await fetchPage(`/logs/follow?project=test-bot&${qs}`);
      assert.equal(r.status, 200);
      return (await r.json()) as { html: string; newest: number; count: number; gap: boolean };
    };
    assert.deepEqual(await follow(`after=${newest}`), { html: '', newest, count: 0, gap: false });
    await sendLines([{ msg: 'Fresh <line> one', level: 'warning', logger: 'bot.x' }, { msg: 'Fresh debug', level: 'debug' }]);
    const all = await follow(`after=${newest}`);
    assert.equal(all.count, 2);
    assert.ok(all.html.indexOf('Fresh debug') < all.html.indexOf('Fresh &lt;line&gt; one'), 'newest first');
    assert.ok(all.newest > newest);
    const filtered = await follow(`after=${newest}&min_level=warning`);
    assert.equal(filtered.count, 1);
    assert.match(filtered.html, /<tr data-line="\d+">/);
    assert.equal((await fetchPage('/logs/follow?project=test-bot&after=x')).status, 400);
  });

  it('edits the rules: add, edit, delete, error rate, off/on and back to the configured rules; a bad pattern is refused with the reason', async () => {
    const added = await post('/logs/rules/forbidden', { action: 'add', pattern: '(?i)deadlock', form: 'forbidden-add' });
    assert.equal(added.status, 303);
    assert.equal(added.headers.get('location'), '/logs/rules?project=test-bot&done=added');
    let page = await get('/logs/rules?project=test-bot&done=added');
    assert.match(page, /Rule added/);
    assert.match(page, /value="\(\?i\)deadlock"/);
    assert.match(page, /This project has rules set here/);

    const refused = await post('/logs/rules/forbidden', { action: 'add', pattern: '(a)\\1 <b>', form: 'forbidden-add' });
    assert.equal(refused.status, 400);
    const body = await refused.text();
    assert.match(body, /<div class="flash error" role="alert" data-rule-error>pattern: &quot;\(a\)\\1 &lt;b&gt;&quot; is not a valid RE2 pattern: [^<]*invalid escape sequence/);
    assert.match(body, /name="pattern" value="\(a\)\\1 &lt;b&gt;" placeholder="[^"]*" aria-label="New forbidden pattern"/, 'what was typed stays in the form');
    const exploding = await post('/logs/rules/rate-limited', { action: 'add', pattern: '((a{30}){30}){30}', count: '1', window_seconds: '30' });
    assert.equal(exploding.status, 400);
    assert.match(await exploding.text(), /invalid repeat count/);
    assert.equal((await post('/logs/rules/rate-limited', { action: 'add', pattern: 'x', count: 'many', window_seconds: '30' })).status, 400);
    assert.equal((await post('/logs/rules/forbidden', { action: 'delete', pattern: 'not a rule' })).status, 404);
    assert.equal((await post('/logs/rules/forbidden', { action: 'frobnicate', pattern: 'x' })).status, 400);

    assert.equal((await post('/logs/rules/forbidden', { action: 'edit', from: '(?i)deadlock', pattern: 'Deadlock found' })).status, 303);
    assert.equal((await post('/logs/rules/rate-limited', { action: 'edit', from: 'Model not found', pattern: 'Model not found', count: '5', window_seconds: '60' })).status, 303);
    assert.equal((await post('/logs/rules/forbidden', { action: 'delete', pattern: 'Queue full' })).status, 303);
    assert.equal((await post('/logs/rules/error-rate', { action: 'save', count: '3', window_minutes: '5' })).status, 303);
    const api = async () => (await (await fetch(`${server.url}/api/v1/projects/test-bot/log-rules`, { headers: { authorization: `Bearer ${server.token}` } })).json()) as { effective: { forbidden: string[]; rateLimited: { pattern: string; count: number; windowSeconds: number }[]; errorRate: unknown; enabled: boolean } };
    let effective = (await api()).effective;
    assert.ok(effective.forbidden.includes('Deadlock found') && !effective.forbidden.includes('(?i)deadlock') && !effective.forbidden.includes('Queue full'));
    assert.deepEqual(effective.rateLimited.find((r) => r.pattern === 'Model not found'), { pattern: 'Model not found', count: 5, windowSeconds: 60 });
    assert.deepEqual(effective.errorRate, { count: 3, windowMinutes: 5 });
    assert.equal((await post('/logs/rules/error-rate', { action: 'off' })).status, 303);
    assert.equal((await api()).effective.errorRate, null);
    assert.equal((await post('/logs/rules/enabled', { enabled: '0' })).status, 303);
    page = await get('/logs/rules?project=test-bot');
    assert.match(page, /Log rules are off for this project/);
    assert.equal((await post('/logs/rules/enabled', { enabled: '1' })).status, 303);

    assert.equal((await post('/logs/rules/reset', {})).status, 303);
    effective = (await api()).effective;
    assert.ok(effective.forbidden.includes('Queue full'), 'the configured rules again');
    assert.deepEqual(effective.errorRate, { count: 10, windowMinutes: 10 });
    assert.doesNotMatch(await get('/logs/rules?project=test-bot'), /This project has rules set here/);
  });

  it('shows a log-born issue\'s matching lines, newest first, linked to the Logs page filtered to them', async () => {
    await sendLines([{ msg: 'Database connection lost again <now>', level: 'error', logger: 'bot.db' }]);
    const issue = (await server.botpulse.store.listIssues({ projectId: server.project.id, text: 'Database connection lost' })).issues[0]!;
    const page = await get(`/issues/${issue.id}`);
    const section = /<div class="section" id="log-lines" data-log-lines>[\s\S]*?<\/table><\/div>/.exec(page)?.[0];
    assert.ok(section, 'the section is there');
    assert.match(section, /href="\/logs\?project=test-bot&amp;rule=forbidden%3ADatabase\+connection\+lost">All on the Logs page<\/a>/);
    assert.match(section, /forbidden pattern <code>Database connection lost<\/code>/);
    const again = section.indexOf('Database connection lost again &lt;now&gt;');
    const first = section.indexOf('<code>Database connection lost</code></td>');
    assert.ok(again > 0 && first > again, 'newest first');
    assert.doesNotMatch(section, /Payment provider timeout/, 'only the matching lines');

    const other = (await server.botpulse.store.listIssues({ projectId: server.project.id })).issues.find((i) => i.id !== issue.id);
    if (other) assert.doesNotMatch(await get(`/issues/${other.id}`), /data-log-lines/);
  });
});
