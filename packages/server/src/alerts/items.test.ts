// Alert formatting never throws on a stored event, whatever its shape: events stored before any
// digest-side normalisation live in users' databases, and one alert that cannot be formatted
// used to hold every later alert of its chat. Each case is a real event row of a real SQLite
// store whose payload is rewritten, then built into an item and formatted for Telegram and the
// webhook, as the outbox does.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRowDigester } from '../digest/process.js';
import type { Issue } from '../store/model.js';
import { encodePayload } from '../store/payload.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { formatAlert, TELEGRAM_TEXT_LIMIT, visibleLength } from './channels/telegram/format.js';
import { webhookBody } from './channels/webhook/format.js';
import { issueItem, type AlertProject } from './items.js';
import { issueLifecycle } from '../digest/lifecycle.js';

/** A rich event: every part the alert formatter reads. */
const BASE_EVENT = {
  level: 'error',
  platform: 'node',
  release: 'pay-bot@1.4.2',
  environment: 'production',
  user: { id: '4242' },
  contexts: { telegram: { update_id: 9001, update_type: 'message', chat_id: 4242, chat_type: 'private', user_id: 4242, username: 'alice' } },
  exception: {
    values: [
      { type: 'RangeError', value: 'inner', stacktrace: { frames: [{ filename: '/app/src/db.js', function: 'query', lineno: 7, in_app: true, context_line: 'return db.run(sql)' }] } },
      {
        type: 'TypeError',
        value: 'cannot read properties of undefined',
        stacktrace: {
          frames: [
            { filename: 'node_modules/grammy/out/composer.js', function: 'Composer.handle', lineno: 51, in_app: false },
            { filename: '/app/src/payments.js', module: 'payments', abs_path: '/app/src/payments.js', function: 'chargeUser', lineno: 41, in_app: true, context_line: '  if (account.wallet.balance < amount) {' },
          ],
        },
      },
    ],
  },
};

/** Values a JSON payload can hold where the formatter expects something else. */
const HUGE = 'x<&'.repeat(100_000);
const BAD_VALUES: unknown[] = [null, 0, 7, -1.5, 1e308, true, '', 'text', HUGE, [], [null], [7, 'a'], [[]], {}, { toString: 1 }, { valueOf: 1, toString: 'x' }, { function: { toString: 1 } }];

/** Every path of `value` (objects and arrays), depth-first. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return keys.flatMap((k) => [[...prefix, k], ...paths((value as Record<string | number, unknown>)[k], [...prefix, k])]);
}

function withValue(base: unknown, path: (string | number)[], replacement: unknown): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  node[path.at(-1)!] = replacement;
  return copy;
}

describe('alert items and their formatting on any stored event', () => {
  let dir: string;
  let store: SqliteStore;
  let issue: Issue;
  let project: AlertProject;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-items-'));
    store = await SqliteStore.open(join(dir, 'botpulse.db'));
    const p = await store.createProject({ name: 'Pay Bot', slug: 'pay-bot', shortIdPrefix: 'P' });
    project = { id: p.id, slug: p.slug, name: p.name };
    const eventId = randomUUID().replace(/-/g, '');
    await store.appendToSpool([{ projectId: p.id, kind: 'event', eventId, receivedAt: Date.now(), payload: Buffer.from(JSON.stringify({ event_id: eventId, ...BASE_EVENT })) }]);
    await store.digestBatch(10, createRowDigester({}), issueLifecycle);
    issue = (await store.listIssues({ projectId: p.id, limit: 1 })).issues[0]!;
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Stores `payload` as the issue's latest event, then builds and formats its alert. */
  async function formatStored(payload: unknown, columns: Record<string, unknown> = {}) {
    store.db.prepare('UPDATE events SET payload = ? WHERE issue_id = ?').run(encodePayload(payload), issue.id);
    for (const [column, value] of Object.entries(columns)) store.db.prepare(`UPDATE events SET ${column} = ? WHERE issue_id = ?`).run(value, issue.id);
    const item = await issueItem(store, project, issue.id, null, 'alert', ['new'], 'https://bp.example.com');
    assert.ok(item, 'an item');
    const telegram = formatAlert([item]);
    assert.ok(visibleLength(telegram.text) <= TELEGRAM_TEXT_LIMIT, `${visibleLength(telegram.text)} characters`);
    const body = webhookBody('botpulse.alert', 1, [item], 0);
    assert.ok(body.length < 32_000, `a bounded webhook body: ${body.length} bytes`);
    return { item, telegram, body };
  }

  it('formats the shapes that silenced a chat: frames as a number, [null, …], a function that is an object', async () => {
    const frames = (value: unknown) => ({ ...BASE_EVENT, exception: { values: [{ type: 'TypeError', value: 'boom', stacktrace: { frames: value } }] } });
    for (const value of [5, [null, { function: 'ok', filename: 'a.js', in_app: true }], [{ function: { toString: 1 }, filename: { a: 1 }, lineno: { n: 1 }, in_app: true }], true, { 0: {} }]) {
      const { item, telegram } = await formatStored(frames(value));
      assert.match(telegram.text, /Pay Bot/, JSON.stringify(value));
      for (const f of item.frames) assert.equal(typeof f.location, 'string');
    }
    const { item } = await formatStored(frames([null, { function: 'ok', filename: 'a.js', lineno: 3, in_app: true }]));
    assert.deepEqual(item.frames, [{ location: 'ok (a.js:3)', code: null }], 'the usable frame is kept');
  });

  it('never throws, and stays within Telegram\'s limit and a bounded webhook body, for any field of an event set to any JSON value', async () => {
    const all = paths(BASE_EVENT);
    let cases = 0;
    for (const path of [[], ...all]) {
      for (const bad of BAD_VALUES) {
        const payload = path.length ? withValue(BASE_EVENT, path, bad) : bad;
        try {
          await formatStored(payload);
        } catch (err) {
          assert.fail(`event.${path.join('.') || '(whole payload)'} = ${JSON.stringify(bad)?.slice(0, 60)}: ${(err as Error).stack}`);
        }
        cases++;
      }
    }
    assert.ok(cases > 500, `${cases} cases`);
  });

  it('survives odd column values of the stored event too', async () => {
    const { telegram } = await formatStored(BASE_EVENT, { environment: Buffer.from([0, 255]), release: 12345 });
    assert.match(telegram.text, /release <code>12345/);
    await formatStored(BASE_EVENT, { environment: HUGE });
  });
});
