// The API's one-rule-at-a-time log rule edits (docs/api.md "Log rules"): add, edit, delete
// forbidden and rate-limited patterns and set the error-rate rule; a bad pattern is a 400 that
// says why (never a 500); the edit is stored as the project's override and wins over
// BOTPULSE_LOG_RULES; DELETE …/log-rules gives the configured rules back.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../test-support/server.js';

describe('log rules through the API, one rule at a time', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ BOTPULSE_LOG_RULES: JSON.stringify({ '*': { forbidden: ['Configured pattern'] } }) });
  });
  after(async () => {
    const { dataDir } = server;
    await server.close();
    rmSync(dataDir, { recursive: true, force: true }); // a restarted server was given its directory: not removed by close()
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api/v1/projects/${server.project.slug}/log-rules${path}`, {
      method,
      headers: { authorization: `Bearer ${server.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };

  it('adds, edits and deletes a forbidden pattern, starting from the configured list', async () => {
    const added = await call('POST', '/forbidden', { pattern: '(?i)deadlock' });
    assert.equal(added.status, 201);
    assert.deepEqual(added.json.effective.forbidden, ['Configured pattern', '(?i)deadlock']);
    assert.equal((await call('POST', '/forbidden', { pattern: '(?i)deadlock' })).status, 409, 'twice is a conflict');
    const edited = await call('PATCH', `/forbidden?pattern=${encodeURIComponent('(?i)deadlock')}`, { pattern: 'Deadlock found' });
    assert.equal(edited.status, 200);
    assert.deepEqual(edited.json.effective.forbidden, ['Configured pattern', 'Deadlock found']);
    const removed = await call('DELETE', `/forbidden?pattern=${encodeURIComponent('Configured pattern')}`);
    assert.deepEqual(removed.json.effective.forbidden, ['Deadlock found'], 'the person-set list wins over the configured one');
    assert.equal((await call('DELETE', '/forbidden?pattern=nope')).status, 404);
    assert.equal((await call('DELETE', '/forbidden')).status, 400, 'which rule must be named');
    const shown = await call('GET', '');
    assert.deepEqual(shown.json.override.forbidden, ['Deadlock found'], 'stored as the project\'s override');
    assert.deepEqual(shown.json.effective.forbidden, ['Deadlock found']);
  });

  it('refuses RE2-incompatible and exploding patterns with the reason, never a 500', async () => {
    for (const [pattern, reason] of [
      ['(a)\\1', /invalid escape sequence/],
      ['(?=x)y', /unsupported Perl syntax/],
      ['((a{30}){30}){30}', /invalid repeat count/],
      ['', /cannot be empty/],
      ['x'.repeat(501), /at most 500 characters/],
    ] as const) {
      const res = await call('POST', '/forbidden', { pattern });
      assert.equal(res.status, 400, pattern.slice(0, 30));
      assert.match(res.json.error, reason);
    }
    const rate = await call('POST', '/rate-limited', { pattern: '(?<=a)b' });
    assert.equal(rate.status, 400);
    assert.match(rate.json.error, /RE2/);
    assert.equal((await call('POST', '/forbidden', { pattern: 1 })).status, 400, 'a wrong type');
    assert.equal((await call('POST', '/forbidden', 'not an object')).status, 400);
  });

  it('adds and edits a rate-limited pattern keeping what the edit does not name, and sets or turns off the error rate', async () => {
    const added = await call('POST', '/rate-limited', { pattern: 'Flood wait', count: 5, windowSeconds: 60 });
    assert.equal(added.status, 201);
    assert.deepEqual(added.json.effective.rateLimited.at(-1), { pattern: 'Flood wait', count: 5, windowSeconds: 60 });
    const edited = await call('PATCH', '/rate-limited?pattern=Flood%20wait', { count: 7 });
    assert.deepEqual(edited.json.effective.rateLimited.at(-1), { pattern: 'Flood wait', count: 7, windowSeconds: 60 });
    assert.equal((await call('PATCH', '/rate-limited?pattern=Flood%20wait', { count: 0 })).status, 400);
    const gone = await call('DELETE', '/rate-limited?pattern=Duplicate%20update_id');
    assert.ok(!gone.json.effective.rateLimited.some((r: { pattern: string }) => r.pattern === 'Duplicate update_id'));
    assert.deepEqual((await call('PUT', '/error-rate', { count: 3, windowMinutes: 5 })).json.effective.errorRate, { count: 3, windowMinutes: 5 });
    assert.equal((await call('PUT', '/error-rate', { count: 3 })).status, 400);
    assert.equal((await call('DELETE', '/error-rate')).json.effective.errorRate, null);
  });

  it('keeps a person\'s rules over a restart, still winning over the configuration', async () => {
    await call('POST', '/forbidden', { pattern: 'Survives restarts' });
    const { dataDir } = server;
    await server.close({ keepData: true });
    server = await startTestServer({ BOTPULSE_LOG_RULES: JSON.stringify({ '*': { forbidden: ['Configured pattern'] } }) }, { dataDir });
    const shown = await call('GET', '');
    assert.ok(shown.json.effective.forbidden.includes('Survives restarts'));
    assert.ok(!shown.json.effective.forbidden.includes('Configured pattern'), 'deleted before the restart, still deleted');
  });

  it('searches by the rule a line matched and after a cursor (GET …/logs?rule=&after=)', async () => {
    const body = ['Survives restarts: yes', 'an ordinary line'].map((msg) => JSON.stringify({ msg, level: 'error' })).join('\n');
    assert.equal((await fetch(`${server.url}/api/${server.project.id}/logs/?sentry_key=${server.project.publicKey}`, { method: 'POST', body })).status, 200);
    const stored = await server.botpulse.logs.searchLines({ projectId: server.project.id, limit: 2 });
    while ((await server.botpulse.logs.ruleCursor()) < stored[0]!.id) await new Promise((r) => setTimeout(r, 20));
    const search = async (qs: string) => {
      const res = await fetch(`${server.url}/api/v1/projects/${server.project.slug}/logs?${qs}`, { headers: { authorization: `Bearer ${server.token}` } });
      return { status: res.status, json: (await res.json()) as { lines: { message: string }[] } };
    };
    assert.deepEqual((await search('rule=forbidden%3ASurvives%20restarts')).json.lines.map((l) => l.message), ['Survives restarts: yes']);
    assert.deepEqual((await search(`after=${stored[1]!.id}`)).json.lines.map((l) => l.message), ['an ordinary line']);
    assert.equal((await search('after=soon')).status, 400);
  });

  it('DELETE …/log-rules drops the override: the configured rules apply again', async () => {
    const reset = await call('DELETE', '');
    assert.equal(reset.status, 200);
    assert.deepEqual(reset.json.effective.forbidden, ['Configured pattern']);
    assert.deepEqual((await call('GET', '')).json.override, {});
  });
});
