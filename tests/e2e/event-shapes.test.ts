/**
 * Issue 11, items 1, 3 and 4: events of any shape, sent by any client, are stored once answered
 * 200, and their pages and API answers never fail, also for rows an older digest stored without
 * normalising shapes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jsonItem, serializeEnvelope, type SentryEventPayload } from '@botpulse/protocol';
import { loadConfig } from '../../packages/server/src/config/load.js';
import { normalizeEvent } from '../../packages/server/src/digest/normalize.js';
import { issueLifecycle } from '../../packages/server/src/digest/lifecycle.js';
import { currentGrouping } from '../../packages/server/src/grouping/index.js';
import { encodePayload } from '../../packages/server/src/store/payload.js';
import { SqliteStore } from '../../packages/server/src/store/sqlite/index.js';
import type { DigestedRow } from '../../packages/server/src/store/store.js';
import { mutatedEvents } from '../../packages/server/src/test-support/event-mutations.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { Sessions } from '../../packages/server/src/web/auth/sessions.js';

const hostile = { toString: 1 };
const newId = () => randomUUID().replace(/-/g, '');

/** The shapes issue 11 found taking issue pages down, each with what its page must still show. */
const POISON: { name: string; event: Record<string, unknown>; shows: RegExp[] }[] = [
  { name: 'frames-number', event: { exception: { values: [{ type: 'FramesNumber', value: 'x', stacktrace: { frames: 5 } }] } }, shows: [/FramesNumber/, /No stack trace was sent/] },
  { name: 'frames-boolean', event: { exception: { values: [{ type: 'FramesBoolean', value: 'x', stacktrace: { frames: true } }] } }, shows: [/FramesBoolean/, /Changed on arrival/] },
  { name: 'frames-object', event: { exception: { values: [{ type: 'FramesObject', value: 'x', stacktrace: { frames: { a: 1 } } }] } }, shows: [/FramesObject/, /No stack trace was sent/] },
  { name: 'frames-nulls', event: { exception: { values: [{ type: 'FramesNulls', value: 'x', stacktrace: { frames: [null, { function: 'on_update', filename: 'bot.py', lineno: 3 }, 7] } }] } }, shows: [/on_update/, /bot\.py:3/] },
  {
    name: 'frame-fields-objects',
    event: { exception: { values: [{ type: 'FrameFields', value: 'x', stacktrace: { frames: [{ function: hostile, filename: hostile, module: { m: 1 }, context_line: hostile, pre_context: hostile, post_context: [hostile], lineno: hostile, in_app: true }] } }] } },
    shows: [/FrameFields/, /&lt;anonymous&gt;/, /&quot;toString&quot;:1/],
  },
  { name: 'type-value-objects', event: { message: 'Payment failed', exception: { values: [{ type: hostile, value: hostile }] } }, shows: [/Payment failed/, /\{&quot;toString&quot;:1\}/] },
  { name: 'headers-non-pairs', event: { message: 'Headers', request: { url: 'https://bot.example/hook', headers: [1, 'a', [1, 2, 3], null, ['User-Agent', 'TelegramBot']] } }, shows: [/TelegramBot/, /https:\/\/bot\.example\/hook/] },
  { name: 'headers-object-values', event: { message: 'Header values', request: { headers: { Accept: hostile, 'X-Count': 3 } } }, shows: [/X-Count/] },
  { name: 'breadcrumb-1e13', event: { message: 'Crumbs', breadcrumbs: [{ timestamp: 1e13, category: hostile, message: hostile, level: hostile, data: 5 }, { timestamp: 'soon', message: 'second' }] }, shows: [/Breadcrumbs \(2\)/, /second/] },
  { name: 'user-tags-contexts', event: { message: 'Odd user', user: { id: hostile, email: ['a'] }, tags: { a: hostile, chat_id: 5 }, contexts: { telegram: { chat_id: hostile }, os: 'linux' } }, shows: [/Odd user/] },
  { name: 'message-object', event: { message: { formatted: hostile }, logentry: 5, level: hostile }, shows: [/toString/] },
  { name: 'fingerprint-object', event: { message: 'Fingerprinted', fingerprint: [{ toString: 1 }] }, shows: [/Fingerprinted/] },
];

describe('events of any shape', () => {
  let server: TestServer;
  let cookie: string;
  const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-shapes-'));
  /** Old rows written straight into the store, as an older digest left them. */
  const oldRows: { name: string; eventId: string; shows: RegExp[] }[] = [];

  before(async () => {
    const store = await SqliteStore.open(loadConfig({ BOTPULSE_DATA_DIR: dataDir }).databaseFile);
    const project = await store.createProject({ name: 'Test Bot', slug: 'test-bot', shortIdPrefix: 'B' });
    for (const poison of POISON) oldRows.push({ name: poison.name, eventId: await writeAsOldDigest(store, project.id, poison.event), shows: poison.shows });
    await store.close();
    server = await startTestServer({}, { dataDir });
    // A session is only good while its user exists (roles are read per request): add the user first.
    await server.botpulse.store.addUser('ann', 'not-a-real-hash');
    cookie = `bp_session=${(await new Sessions(server.botpulse.store).create('ann')).id}`;
  });
  after(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const page = (path: string) => fetch(`${server.url}${path}`, { headers: { cookie }, redirect: 'manual' });
  const api = (path: string) => fetch(`${server.url}/api/v1${path}`, { headers: { authorization: `Bearer ${server.token}` } });
  const post = (body: Buffer | string, endpoint = 'envelope') =>
    fetch(`${server.url}/api/${server.project.id}/${endpoint}/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });

  /** The issue page showing this event and the API's event: 200. Returns the page's HTML and the issue. */
  async function renderEvent(eventId: string, what: string): Promise<{ html: string; issueId: number }> {
    const event = await server.botpulse.store.getEvent(server.project.id, eventId);
    assert.ok(event, `${what}: event ${eventId} is not stored`);
    const issuePage = await page(`/issues/${event.issueId}?event=${eventId}`);
    const html = await issuePage.text();
    assert.equal(issuePage.status, 200, `${what}: /issues/${event.issueId}?event=… answered ${issuePage.status}`);
    assert.ok(html.includes(eventId.slice(0, 12)), `${what}: the page does not show the event`);
    const res = await api(`/projects/test-bot/events/${eventId}`);
    assert.equal(res.status, 200, `${what}: API event answered ${res.status}`);
    await res.json();
    return { html, issueId: event.issueId };
  }

  /** Every other page and API answer about the issue (its latest event, its list, a search for it): 200. */
  async function renderIssue(issueId: number, what: string): Promise<void> {
    const issue = (await server.botpulse.store.getIssue(issueId))!;
    for (const path of [`/issues/${issue.id}`, `/issues?q=${encodeURIComponent(issue.title.slice(0, 20))}&status=all`]) {
      const res = await page(path);
      await res.arrayBuffer(); // an unread body keeps its connection busy, and the server's close waits for it
      assert.equal(res.status, 200, `${what}: ${path}`);
    }
    for (const path of [`/issues/${issue.id}`, `/issues/${issue.id}/events?limit=5`, `/projects/test-bot/issues/${issue.shortId}`]) {
      const res = await api(path);
      assert.equal(res.status, 200, `${what}: API ${path} answered ${res.status}`);
      await res.json();
    }
  }

  async function renderEverywhere(eventId: string, what: string): Promise<string> {
    const { html, issueId } = await renderEvent(eventId, what);
    await renderIssue(issueId, what);
    return html;
  }

  it('shows rows an older digest stored with the client shapes as sent, never answering 500', async () => {
    for (const row of oldRows) {
      const html = await renderEverywhere(row.eventId, `old row ${row.name}`);
      for (const shown of row.shows) assert.match(html, shown, `old row ${row.name}`);
    }
    const res = await api(`/projects/test-bot/events/${oldRows.find((r) => r.name === 'frames-number')!.eventId}`);
    const body = (await res.json()) as { payload: { exception: { values: { stacktrace: unknown }[] }; _meta: unknown } };
    assert.deepEqual(body.payload.exception.values[0]!.stacktrace, {}, 'the API answers the documented shape');
    assert.ok(body.payload._meta, 'and says what it changed');
  });

  it('stores the same events sent today, in documented shapes, and shows them', async () => {
    for (const poison of POISON) {
      const eventId = newId();
      const res = await post(serializeEnvelope({ headers: { event_id: eventId }, items: [jsonItem('event', poison.event)] }));
      assert.equal(res.status, 200, poison.name);
      await server.digested();
      const html = await renderEverywhere(eventId, `ingested ${poison.name}`);
      for (const shown of poison.shows) assert.match(html, shown, `ingested ${poison.name}`);
    }
    const counts = await server.botpulse.store.itemCounts(server.project.id);
    assert.deepEqual(Object.keys(counts).filter((k) => k.startsWith('rejected')), []);
  });

  it('takes a null event_id as a missing one (a new id), in the payload and in the envelope header', async () => {
    const answers = [
      await post(JSON.stringify({ event_id: null, message: 'null id, store' }), 'store'),
      await post(serializeEnvelope({ headers: { event_id: null } as never, items: [jsonItem('event', { event_id: null, message: 'null id, envelope' })] })),
    ];
    const ids: string[] = [];
    for (const res of answers) {
      assert.equal(res.status, 200, await res.clone().text());
      ids.push(((await res.json()) as { id: string }).id);
    }
    await server.digested();
    for (const id of ids) assert.ok(await server.botpulse.store.getEvent(server.project.id, id), id);
    const refused = await post(JSON.stringify({ event_id: 'nope', message: 'bad id' }), 'store');
    assert.equal(refused.status, 400, 'an id that is no id is refused before the 200');
    assert.match(await refused.text(), /invalid event_id/);
  });

  it('refuses, before answering, an envelope whose second event repeats the first one\'s id (the digest would drop it)', async () => {
    const id = newId();
    const twice = serializeEnvelope({ headers: { event_id: id }, items: [jsonItem('event', { event_id: id, message: 'one' }), jsonItem('event', { event_id: id, message: 'two' })] });
    const res = await post(twice);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /event id .* of an earlier event item/);
    const distinct = serializeEnvelope({ headers: { event_id: id }, items: [jsonItem('event', { message: 'one' }), jsonItem('event', { message: 'two' })] });
    const accepted = await post(distinct);
    assert.equal(accepted.status, 200, 'two events without ids of their own get distinct ids');
    await accepted.arrayBuffer();
    await server.digested();
    assert.ok(await server.botpulse.store.getEvent(server.project.id, id));
  });

  it('answers every one of 250 seeded mutations of real events with 200 or a 4xx, stores every 200, and renders each', async () => {
    const before = await storedEventCount(server);
    const countsBefore = await server.botpulse.store.itemCounts(server.project.id);
    const answered = new Map<string, string>();
    const refused: string[] = [];
    const mutations = mutatedEvents({ seed: 2024, count: 250 });
    for (const [i, { event, description }] of mutations.entries()) {
      // Fresh ids, so no two mutations of one fixture are one event; a mutated id is kept (a bad one must be refused).
      const id = newId();
      if (event.event_id === undefined || /^[0-9a-f]{32}$/.test(String(event.event_id))) event.event_id = id;
      const res =
        i % 3 === 0
          ? await post(JSON.stringify(event), 'store')
          : await post(serializeEnvelope({ headers: i % 3 === 1 ? { event_id: id } : {}, items: [jsonItem('event', event)] }));
      const body = await res.text();
      assert.ok(res.status < 500, `${res.status} ${body} for ${description}`);
      if (res.status === 200) answered.set((JSON.parse(body) as { id: string }).id, description);
      else refused.push(`${res.status} ${description}`);
    }
    await server.digested();
    for (const [eventId, description] of answered) {
      assert.ok(await server.botpulse.store.getEvent(server.project.id, eventId), `answered 200, not stored: ${description}`);
    }
    assert.equal((await storedEventCount(server)) - before, answered.size, 'every 200 is one stored event');
    const counts = await server.botpulse.store.itemCounts(server.project.id);
    const dropped = Object.keys(counts).filter((k) => (k.startsWith('rejected') || k === 'duplicate_event') && counts[k] !== countsBefore[k]);
    assert.deepEqual(dropped, [], 'the digest dropped events it had answered 200 for');
    assert.ok(answered.size >= 225, `only ${answered.size} of 250 answered 200; refused: ${refused.join('\n')}`);

    const issues = new Map<number, string>();
    await inParallel([...answered], 4, async ([eventId, description]) => {
      issues.set((await renderEvent(eventId, description)).issueId, description);
    });
    await inParallel([...issues], 4, ([issueId, description]) => renderIssue(issueId, description));
  });
});

/**
 * Writes an event the way the digest did before shapes were normalised: its fields read from the
 * event, its payload stored as the client sent it (exception and breadcrumbs lists as `{values}`).
 */
async function writeAsOldDigest(store: SqliteStore, projectId: number, sent: Record<string, unknown>): Promise<string> {
  const eventId = newId();
  const receivedAt = Date.now();
  await store.appendToSpool([{ projectId, kind: 'event', eventId, receivedAt, payload: Buffer.from('{}') }]);
  const event = normalizeEvent(sent as SentryEventPayload, { eventId, receivedAt });
  const payload: Record<string, unknown> = { ...sent, event_id: eventId };
  for (const key of ['exception', 'breadcrumbs']) {
    if (Array.isArray(sent[key])) payload[key] = { values: sent[key] };
  }
  event.payload = payload as SentryEventPayload;
  const write: DigestedRow = {
    kind: 'event',
    spoolId: 0,
    projectId,
    receivedAt,
    event,
    fingerprint: newId(),
    groupingVersion: currentGrouping.version,
    compressedPayload: encodePayload(payload),
  };
  await store.digestBatch(10, (rows) => rows.map((row) => ({ ...write, spoolId: row.id })), issueLifecycle);
  return eventId;
}

/** Runs `work` over `items`, at most `width` at a time (the pages render while others are fetched). */
async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: width }, lane));
}

async function storedEventCount(server: TestServer): Promise<number> {
  const { issues } = await server.botpulse.store.listIssues({ projectId: server.project.id, limit: 500 });
  return issues.reduce((sum, issue) => sum + issue.eventCount, 0);
}
