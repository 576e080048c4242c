// The alert engine consumes the digest's durable change feed: one engine per database (the
// `alerts:engine` lease) evaluates each change once, hands over when it stops, and a change it
// cannot evaluate never holds the feed for long. Two real SQLite connections to one file stand
// for two server processes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import { createRowDigester } from '../digest/process.js';
import type { Project } from '../store/model.js';
import { SqliteAlertStore } from '../store/sqlite/alerts.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { AlertEngine } from './engine.js';
import { RulesResolver } from './rules.js';
import { issueLifecycle } from '../digest/lifecycle.js';

/** Rules that fail for one project: a stand-in for a bug met while evaluating one change. */
class FlakyRules extends RulesResolver {
  failFor: number | null = null;
  override async forProject(project: Pick<Project, 'id' | 'slug'>) {
    if (project.id === this.failFor) throw new Error('rules exploded');
    return super.forProject(project);
  }
}

describe('the alert engine on the change feed', () => {
  let dir: string;
  const stores: SqliteStore[] = [];
  let pay: Project;
  let shop: Project;
  let engines: AlertEngine[];
  let rules: FlakyRules[];
  let alerts: SqliteAlertStore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-engine-'));
    const file = join(dir, 'botpulse.db');
    // A webhook destination: every decision enqueues a row we can count.
    const config = loadConfig({ BOTPULSE_DATA_DIR: dir, BOTPULSE_ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/hook', BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0' });
    stores.push(await SqliteStore.open(file), await SqliteStore.open(file));
    pay = await stores[0]!.createProject({ name: 'Pay Bot', slug: 'pay-bot', shortIdPrefix: 'P' });
    shop = await stores[0]!.createProject({ name: 'Shop Bot', slug: 'shop-bot', shortIdPrefix: 'S' });
    alerts = new SqliteAlertStore(stores[0]!.db);
    rules = stores.map((store) => new FlakyRules(config.alerts, store));
    engines = stores.map(
      (store, i) =>
        new AlertEngine({ store, alerts: new SqliteAlertStore(store.db), config: config.alerts, rules: rules[i]!, logger: pino({ level: 'silent' }), onEnqueued: () => {}, workerId: `engine-${i}`, changeRetryMs: 1 }),
    );
  });
  after(async () => {
    for (const e of engines) await e.stop();
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** New issues, digested (their changes are in the feed, not evaluated yet). */
  async function newIssues(project: Project, names: string[]): Promise<void> {
    await stores[0]!.appendToSpool(
      names.map((name) => {
        const eventId = randomUUID().replace(/-/g, '');
        return { projectId: project.id, kind: 'event', eventId, receivedAt: Date.now(), payload: Buffer.from(JSON.stringify({ event_id: eventId, level: 'error', fingerprint: [name], message: name })) };
      }),
    );
    while ((await stores[0]!.digestBatch(100, createRowDigester({}), issueLifecycle)).rows > 0);
  }
  const rowsOf = async (project: Project) => (await alerts.outbox({ limit: 10_000 })).filter((r) => r.projectId === project.id);

  it('evaluates each change once with two engines on one database; the other takes over when the first stops', async () => {
    await newIssues(pay, Array.from({ length: 30 }, (_, i) => `twice-${i}`));
    const [a, b] = await Promise.all([engines[0]!.consume(), engines[1]!.consume()]);
    assert.equal(a + b, 30, `every change evaluated once (${a} + ${b})`);
    assert.ok(a === 0 || b === 0, 'by the one engine holding the lease');
    assert.equal((await rowsOf(pay)).length, 30, 'one decision per new issue');
    const holder = a ? 0 : 1;
    assert.equal(engines[holder]!.consuming, true);

    await engines[holder]!.stop(); // releases the lease
    await newIssues(pay, ['after-handover']);
    assert.equal(await engines[1 - holder]!.consume(), 1, 'the other engine goes on at once');
    assert.equal((await rowsOf(pay)).length, 31);
    engines[holder]!.start(); // back in service, as a standby
  });

  it('a kick (the digest thread\u2019s wake-up) wakes a started engine, which reads the feed', async () => {
    const engine = engines.find((e) => e.consuming)!;
    engine.start();
    await newIssues(pay, ['woken']);
    engine.kick();
    const deadline = Date.now() + 5000;
    while ((await alerts.changeBacklog()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await alerts.changeBacklog(), 0);
    assert.equal((await rowsOf(pay)).length, 32);
  });

  it('retries a change it cannot evaluate, evaluates the others, and gives it up after a few tries with a count', async () => {
    for (const e of engines) await e.stop(); // this test drives one engine by hand
    const engine = engines[0]!;
    const i = 0;
    await newIssues(pay, ['before-bad']);
    await newIssues(shop, ['bad']);
    await newIssues(pay, ['after-bad']);
    rules[i]!.failFor = shop.id;
    const givenUp = engine.stats.givenUp;
    let evaluated = 0;
    for (let pass = 0; pass < 50 && (await alerts.changeBacklog()) > 0; pass++) {
      evaluated += await engine.consume();
      await new Promise((r) => setTimeout(r, 5));
    }
    rules[i]!.failFor = null;
    assert.equal(await alerts.changeBacklog(), 0, 'the feed was not held');
    assert.equal(evaluated, 3);
    assert.equal(engine.stats.givenUp, givenUp + 1, 'the bad change was given up, and counted');
    const names = (await rowsOf(pay)).slice(-2).map((r) => r.issueId);
    assert.equal(new Set(names).size, 2, 'both good changes got their decision');
    assert.equal((await rowsOf(shop)).length, 0);
    engine.start();
  });
});
