// Log rules end to end (docs/logs.md "Rules"), on a real server with the fake Telegram; the log
// rules' clock and the alerting clock are injected (recoveries and critical repeats without
// sleeping); windows run on the lines' own times, which the tests set.
//   - a forbidden line → one critical alert with the pattern, the line and the buttons; Acknowledge stops the repeats
//   - `Duplicate update_id` twice in 10 s → one rate alert; once per minute → none; a recovery when it calms
//   - 12 ERROR lines in 10 minutes → one error-rate alert
//   - real @sentry/node `enableLogs` lines: stored, searchable and matched
//   - user patterns: RE2 refuses what it cannot run, with the reason; `(a+)+$` runs in linear time on a long line
//   - rule states survive a restart
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Project } from '../../packages/server/src/store/model.js';
import { startTestServer } from '../../packages/server/src/test-support/server.js';
import { ADMIN, ALERT_CHAT, alertEnv, harnessFor, startFakeTelegram, type AlertHarness } from './alerts-support/harness.js';

type Keyboard = { inline_keyboard: { text: string; callback_data: string }[][] };
const buttonsOf = (markup: unknown) => (markup as Keyboard | undefined)?.inline_keyboard.flat() ?? [];
const MINUTE = 60_000;

/** Polls `check` (which may be async) until it gives a value; the timeout only keeps a broken run from hanging. */
async function until<T>(what: string, check: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('log rules', () => {
  let h: AlertHarness;
  let logNow = Date.now();
  let alertOffset = 0;
  let dataDir: string;

  before(async () => {
    const { tg, token } = await startFakeTelegram();
    const server = await startTestServer(alertEnv(tg, token), { create: { logs: { clock: { now: () => logNow } }, alerting: { now: () => Date.now() + alertOffset } } });
    dataDir = server.dataDir;
    h = harnessFor(tg, token, server);
    await h.tg.waitFor(() => h.tg.isPolling(h.token), { what: 'the alert bot polling' });
  });
  after(async () => h.close());

  const newProject = async (name: string): Promise<Project> => h.server.botpulse.store.createProject({ name, shortIdPrefix: name.slice(0, 2).toUpperCase() });
  const send = async (project: Project, records: Record<string, unknown>[]) => {
    const response = await fetch(`${h.server.url}/api/${project.id}/logs/?sentry_key=${project.publicKey}`, { method: 'POST', body: records.map((r) => JSON.stringify(r)).join('\n') });
    const json = (await response.json()) as { accepted: number };
    assert.equal(response.status, 200, JSON.stringify(json));
    assert.equal(json.accepted, records.length);
  };
  /** Waits until the evaluator has decided on every line stored so far. */
  const evaluated = async () => {
    const { logs } = h.server.botpulse;
    const newest = (await logs.linesAfter(0, 1_000_000)).at(-1)?.id ?? 0;
    await until('the log rules evaluated', async () => (await logs.ruleCursor()) >= newest);
  };
  const notices = async (project: Project, kind: string) => (await h.server.botpulse.monitoring.store.notifications({ projectId: project.id })).filter((n) => n.kind === kind);
  const chatTexts = () => h.messages().map((m) => m.text ?? '');

  it('alerts a forbidden line at once at critical, as an issue grouped by pattern with its buttons; Acknowledge stops the repeats', async () => {
    const project = h.server.project;
    const before = h.messages().length;
    await send(project, [{ level: 'error', msg: 'Database connection lost: <pool> exhausted & retried', logger: 'bot.db', time: Date.now() }]);
    const alert = ((await h.waitForMessages(before + 1)) as ReturnType<AlertHarness['messages']>)[before]!;
    assert.match(alert.text ?? '', /CRITICAL/);
    assert.match(alert.text ?? '', /Database connection lost: <pool> exhausted & retried/, 'the line, escaped by the formatter (the fake Telegram parses the HTML back)');
    assert.match(alert.text ?? '', /forbidden log pattern: Database connection lost/, 'the pattern');
    assert.match(alert.text ?? '', /\b1 matching line\b/, 'how many lines matched');
    assert.doesNotMatch(alert.text ?? '', /\busers?\b/, 'no user count for log lines');
    assert.deepEqual(buttonsOf(alert.replyMarkup).map((b) => b.text), ['👀 Acknowledge', '✅ Resolve', '🔕 Mute 1 h', '🔕 Mute 24 h']);

    // A second matching line is one more event of the same issue: the count says how many lines matched.
    await send(project, [{ level: 'error', msg: 'Database connection lost again', time: Date.now() }]);
    await evaluated();
    await h.server.digested();
    const { issues } = await h.server.botpulse.store.listIssues({ projectId: project.id });
    const issue = issues.find((i) => i.culprit === 'forbidden log pattern: Database connection lost')!;
    assert.equal(issue.eventCount, 2);
    assert.equal(issue.level, 'fatal');
    const [line] = await h.server.botpulse.logs.searchLines({ projectId: project.id, text: 'exhausted' });
    assert.equal(line!.rule, 'forbidden:Database connection lost');
    assert.equal((await h.server.botpulse.store.getEvent(project.id, line!.eventId!))?.issueId, issue.id, 'the line links to its issue');

    // The second line's change is decided before the clock moves, and what it sent (or held for the
    // cooldown's end) goes out first: the repeat is timed from the newest message.
    const pendingFor = async () => (await h.server.botpulse.alerting.alerts.outbox({ status: 'pending' })).filter((r) => r.issueId === issue.id);
    await h.server.botpulse.alerting.engine.idle();
    for (let moves = 0; !chatTexts().slice(before + 1).some((t) => /Still unacknowledged/.test(t)); moves++) {
      assert.ok(moves < 3, `no repeat after ${moves} moves of the clock: ${JSON.stringify(chatTexts().slice(before))}`);
      // Unacknowledged: it repeats (the alerting clock moved past the 30 min repeat).
      const sent = h.messages().length;
      alertOffset += 31 * MINUTE;
      await h.server.botpulse.alerting.engine.followUps();
      await h.waitForMessages(sent + 1);
      await until('the messages sent', async () => (await pendingFor()).length === 0);
    }
    // Every message decided before the press has gone out; the press is on the newest.
    await until('the repeats sent', async () => (await pendingFor()).length === 0);
    const latest = h.messages().at(-1)!;
    const pressed = h.tg.pressButton(h.token, { chatId: ALERT_CHAT, messageId: latest.messageId, data: `bp:ack:${issue.id}`, from: ADMIN });
    await h.tg.waitForCallbackAnswer(h.token, pressed.queryId);
    await until('the acknowledgement', async () => (await h.server.botpulse.alerting.alerts.getState(`issue:${issue.id}`))?.ackedAt);
    const count = h.messages().length;
    alertOffset += 61 * MINUTE;
    await h.server.botpulse.alerting.engine.followUps();
    assert.equal((await h.server.botpulse.alerting.alerts.getState(`issue:${issue.id}`))!.repeatAt, null, 'no repeat is scheduled after Acknowledge');
    assert.deepEqual(await pendingFor(), []);
    assert.equal(h.messages().length, count);
  });

  it('`Duplicate update_id` twice in 10 s: one rate alert saying the rate seen and allowed; once a minute: none; a recovery when it calms', async () => {
    const burst = await newProject('Rate Burst');
    const calm = await newProject('Rate Calm');
    const t = Date.now();
    const before = h.messages().length;
    await send(burst, [{ level: 'warning', msg: 'Duplicate update_id 1001', time: t }, { level: 'warning', msg: 'Duplicate update_id 1002', time: t + 10_000 }]);
    await send(calm, [0, 1, 2, 3].map((i) => ({ level: 'warning', msg: `Duplicate update_id ${2000 + i}`, time: t + i * MINUTE })));
    await evaluated();
    assert.equal((await notices(burst, 'log_rate')).length, 1);
    assert.equal((await notices(calm, 'log_rate')).length, 0, 'once a minute is within 1 per 30 s');
    const text = await h.tg.waitFor(() => chatTexts().find((m) => m.includes('rate-burst')) ?? null, { what: 'the rate alert in the chat' });
    assert.match(text, /Log pattern too frequent/);
    assert.match(text, /“Duplicate update_id”: 2 in 30 s \(allowed 1 per 30 s\)/);
    assert.match(text, /Duplicate update_id 1002/);
    // A third line inside the window: still one alert.
    await send(burst, [{ level: 'warning', msg: 'Duplicate update_id 1003', time: t + 15_000 }]);
    await evaluated();
    assert.equal((await notices(burst, 'log_rate')).length, 1, 'a third line in the window: still one alert');

    // /status lists it while it fires.
    const statusAt = h.messages().length;
    h.tg.sendCommand(h.token, 'status', { from: ADMIN.id, chatId: ALERT_CHAT });
    await h.waitForMessages(statusAt + 1);
    assert.match(chatTexts()[statusAt]!, /Log rules\n(.|\n)*rate-burst: log “Duplicate update_id” firing/);

    // Calm for a full window after the last excess (the rules' clock moved on): one recovery.
    logNow = t + 15_000 + 31_000;
    h.server.botpulse.logRules.kick();
    await until('the recovery', async () => (await notices(burst, 'log_rate_ok')).length > 0);
    h.server.botpulse.logRules.kick();
    await evaluated();
    assert.equal((await notices(burst, 'log_rate_ok')).length, 1, 'one recovery');
    assert.equal((await h.server.botpulse.logs.ruleStates({ projectId: burst.id, firing: true })).length, 0, 'no rule firing');
  });

  it('12 ERROR lines in 10 minutes: one error-rate alert', async () => {
    const project = await newProject('Error Rate');
    const t = Date.now();
    await send(project, Array.from({ length: 12 }, (_, i) => ({ level: i % 2 ? 'ERROR' : 'CRITICAL', msg: `payment provider answered 502 (${i})`, time: t + i * 50_000 })));
    await evaluated();
    const fired = await notices(project, 'log_error_rate');
    assert.equal(fired.length, 1);
    assert.match(fired[0]!.text, /ERROR\/CRITICAL log lines: 11 in 10 min \(allowed 10 per 10 min\)/);
    // 10 in 10 minutes is no alert.
    const quiet = await newProject('Error Quiet');
    await send(quiet, Array.from({ length: 10 }, (_, i) => ({ level: 'error', msg: `timeout ${i}`, time: t + i * 50_000 })));
    await evaluated();
    assert.equal((await notices(quiet, 'log_error_rate')).length, 0);
  });

  it('stores, searches and matches the log lines of a real @sentry/node with enableLogs', async () => {
    const project = await newProject('Sentry Logs');
    const dsn = h.server.dsn.replace(/\/\d+$/, `/${project.id}`).replace(h.server.project.publicKey, project.publicKey);
    const client = fileURLToPath(new URL('./clients/sentry-node-logs.mjs', import.meta.url));
    await promisify(execFile)(process.execPath, [client, dsn], { encoding: 'utf8', timeout: 60_000 });
    const { logs } = h.server.botpulse;
    const all = await logs.searchLines({ projectId: project.id });
    assert.deepEqual(all.map((l) => [l.level, l.message]), [
      ['error', 'Database connection lost'],
      ['warning', 'Duplicate update_id 991'],
      ['info', 'User 42 balance checked'],
    ]);
    const info = all[2]!;
    assert.equal(info.source, 'sentry');
    assert.equal(info.environment, 'production');
    assert.equal(info.release, 'pay-bot@3.1.0');
    assert.equal(info.fields.operation, 'check_balance');
    assert.equal(info.fields.duration_ms, '45');
    assert.equal(info.fields.template, 'User %s balance checked');
    assert.deepEqual((await logs.searchLines({ projectId: project.id, fields: { update_id: '991' } })).map((l) => l.message), ['Duplicate update_id 991']);
    await evaluated();
    const [lost] = await logs.searchLines({ projectId: project.id, text: 'connection lost' });
    assert.equal(lost!.rule, 'forbidden:Database connection lost');
    await h.server.digested();
    const event = await h.server.botpulse.store.getEvent(project.id, lost!.eventId!);
    assert.ok(event, 'the forbidden line became an event');
    assert.equal((await h.server.botpulse.store.getIssue(event.issueId))!.culprit, 'forbidden log pattern: Database connection lost');
  });

  it('refuses a pattern RE2 cannot run, with the reason, and runs `(a+)+$` in linear time on a long line', async () => {
    const project = await newProject('Regex Abuse');
    const put = async (body: unknown) => {
      const r = await fetch(`${h.server.url}/api/v1/projects/${project.slug}/log-rules`, { method: 'PUT', headers: { authorization: `Bearer ${h.server.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    };
    const refused = await put({ forbidden: ['(a)\\1'] });
    assert.equal(refused.status, 400);
    assert.match(String(refused.json.message ?? refused.json.error), /forbidden\.0: "\(a\)\\1" is not a valid RE2 pattern/);
    const lookahead = await put({ rateLimited: [{ pattern: 'foo(?=bar)', count: 2, windowSeconds: 60 }] });
    assert.equal(lookahead.status, 400);
    assert.match(String(lookahead.json.message ?? lookahead.json.error), /rateLimited\.0\.pattern: .*lookahead/);

    const accepted = await put({ forbidden: ['(a+)+$'], rateLimited: ['Model not found'], errorRate: null });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.json));
    const shown = await fetch(`${h.server.url}/api/v1/projects/${project.slug}/log-rules`, { headers: { authorization: `Bearer ${h.server.token}` } });
    const view = (await shown.json()) as { effective: { forbidden: string[]; rateLimited: unknown[]; errorRate: unknown } };
    assert.deepEqual(view.effective.forbidden, ['(a+)+$']);
    assert.deepEqual(view.effective.rateLimited, [{ pattern: 'Model not found', count: 1, windowSeconds: 30 }]);
    assert.equal(view.effective.errorRate, null);

    // V8's backtracking engine would not finish this in our lifetime; RE2 is linear. The server stays responsive.
    await send(project, [{ msg: `${'a'.repeat(16_000)}!`, time: Date.now() }, { msg: 'a'.repeat(16_000), time: Date.now() }]);
    await evaluated();
    assert.equal((await fetch(`${h.server.url}/health`)).status, 200);
    const lines = await h.server.botpulse.logs.searchLines({ projectId: project.id });
    assert.deepEqual(lines.map((l) => l.rule), ['forbidden:(a+)+$', null], 'only the line ending in a matches');
  });

  it('keeps rule states across a restart: a firing rate rule does not alert again for the same burst', async () => {
    const project = await newProject('Restart Rate');
    const t = Date.now();
    logNow = t; // the rules' clock inside the burst: no recovery is due
    await send(project, [{ msg: 'Insufficient balance for 1', time: t }, { msg: 'Insufficient balance for 2', time: t + 1000 }]);
    await evaluated();
    assert.equal((await notices(project, 'log_rate')).length, 1);
    const { tg, token } = { tg: h.tg, token: h.token };
    await h.server.close({ keepData: true });
    const server = await startTestServer(alertEnv(tg, token), { dataDir, create: { logs: { clock: { now: () => logNow } } } });
    h = { ...harnessFor(tg, token, server), close: async () => { await server.close(); await tg.stop(); } };
    await send(project, [{ msg: 'Insufficient balance for 3', time: t + 2000 }]);
    await evaluated();
    assert.equal((await notices(project, 'log_rate')).length, 1, 'the restarted server read the firing state');
    const [state] = await h.server.botpulse.logs.ruleStates({ projectId: project.id, firing: true });
    assert.equal(state!.ruleKey, 'rate:Insufficient balance');
  });
});
