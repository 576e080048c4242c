import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { NormalizedEvent, Project } from './model.js';
import { encodePayload } from './payload.js';
import type { DigestedRow, IssueLifecycle, SpoolRow, Store } from './store.js';

/**
 * The behaviour every Store implementation must have: SQLite and PostgreSQL run the very same
 * suite. Each test works in a fresh project so tests don't see each other's issues.
 * `lifecycle` is the digest's (digest/lifecycle.ts), passed in because the store sits below the digest.
 */
export function storeContract(
  name: string,
  open: () => Promise<{ store: Store; cleanup: () => Promise<void>; second?: Store }>,
  lifecycle: IssueLifecycle,
  /** Several processes share this store (PostgreSQL): the multi-instance guarantees are checked too. */
  opts: { sharedByProcesses?: boolean } = {},
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    /**
     * A second instance on the same database, as a second Botpulse process would open it, for a
     * store that several processes share (PostgreSQL). SQLite has no second: one process, and in
     * it one digest thread, owns the file.
     */
    let second: Store | undefined;
    let cleanup: () => Promise<void>;
    let project: Project;
    let seq = 0;

    before(async () => ({ store, cleanup, second } = await open()));
    after(async () => cleanup());
    beforeEach(async () => {
      project = await store.createProject({ name: `Contract ${++seq}`, shortIdPrefix: 'B' });
    });

    const event = (over: Partial<NormalizedEvent> = {}): NormalizedEvent => ({
      eventId: (Date.now().toString(16) + Math.random().toString(16).slice(2) + '0'.repeat(32)).slice(0, 32),
      timestamp: Date.now(),
      level: 'error',
      platform: 'node',
      environment: 'production',
      release: null,
      serverName: null,
      transaction: null,
      origin: 'handler',
      title: 'TypeError: boom',
      culprit: 'bot.js in onMessage',
      message: null,
      exceptionType: 'TypeError',
      exceptionValue: 'boom',
      userKey: null,
      telegram: null,
      request: null,
      tags: {},
      payload: { message: 'hello' },
      ...over,
    });

    /** Spools events and digests them with a digester that maps each row to its prepared write. */
    async function ingest(items: { fingerprint: string; event: NormalizedEvent }[]) {
      await store.appendToSpool(
        items.map((i) => ({ projectId: project.id, kind: 'event', eventId: i.event.eventId, receivedAt: Date.now(), payload: Buffer.from('{}') })),
      );
      const byId = new Map(items.map((i) => [i.event.eventId, i]));
      const digester = (rows: SpoolRow[]): DigestedRow[] =>
        rows.map((row) => {
          const item = byId.get(row.eventId!);
          if (!item) return { kind: 'rejected', spoolId: row.id, projectId: row.projectId, reason: 'test-foreign-row' };
          return {
            kind: 'event',
            spoolId: row.id,
            projectId: row.projectId,
            receivedAt: row.receivedAt,
            event: item.event,
            fingerprint: item.fingerprint,
            groupingVersion: 1,
            compressedPayload: encodePayload(item.event.payload),
          };
        });
      const changes = [];
      for (;;) {
        const result = await store.digestBatch(100, digester, lifecycle);
        if (result.rows === 0) break;
        changes.push(...result.changes);
      }
      return changes;
    }

    it('creates projects with unique slugs, keys and the given short-id prefix', async () => {
      const a = await store.createProject({ name: `Pay Bot ${++seq}` });
      const b = await store.createProject({ name: `Pay Bot ${seq}`, slugTaken: 'suffix' });
      assert.equal(b.slug, `${a.slug}-2`, 'suffixed only when the caller asks for it');
      assert.notEqual(a.publicKey, b.publicKey);
      assert.match(a.publicKey, /^[0-9a-f]{32}$/);
      assert.equal(a.shortIdPrefix, 'PB');
      assert.deepEqual(await store.getProject(a.slug), a);
      assert.deepEqual(await store.getProject(a.id), a);
      assert.equal(await store.getProject('nope-nope'), null);
    });

    it('refuses a taken slug by default, naming the project that holds it', async () => {
      const held = await store.createProject({ name: `Held Bot ${++seq}` });
      const count = (await store.listProjects()).length;
      for (const input of [{ name: `Held Bot ${seq}` }, { name: 'Another name', slug: held.slug.toUpperCase() }]) {
        await assert.rejects(store.createProject(input), (err: Error) => {
          assert.equal(err.name, 'SlugTakenError');
          assert.equal(err.message, `a project with the slug "${held.slug}" already exists ("Held Bot ${seq}")`);
          return true;
        });
      }
      assert.equal((await store.listProjects()).length, count, 'nothing created');
      const racing = await Promise.allSettled([1, 2, 3].map(() => store.createProject({ name: `Race Bot ${seq}` })));
      assert.equal(racing.filter((r) => r.status === 'fulfilled').length, 1, 'one of three at once gets the slug');
      for (const r of racing) if (r.status === 'rejected') assert.equal((r.reason as Error).name, 'SlugTakenError');
    });

    it('groups events with one fingerprint into one issue with short ids per project', async () => {
      const changes = await ingest([
        { fingerprint: 'f1', event: event({ userKey: 'tg:1' }) },
        { fingerprint: 'f1', event: event({ userKey: 'tg:2' }) },
        { fingerprint: 'f1', event: event({ userKey: 'tg:1' }) },
        { fingerprint: 'f2', event: event({ title: 'Other' }) },
      ]);
      const { issues, total } = await store.listIssues({ projectId: project.id, sort: 'count' });
      assert.equal(total, 2);
      assert.equal(issues[0]!.shortId, 'B-001');
      assert.equal(issues[0]!.eventCount, 3);
      assert.equal(issues[0]!.userCount, 2);
      assert.equal(issues[0]!.status, 'new');
      assert.equal(issues[1]!.shortId, 'B-002');
      assert.equal(changes.filter((c) => c.created).length, 2);
    });

    it('digests an event id only once even if it is spooled twice', async () => {
      const e = event();
      await ingest([{ fingerprint: 'dup', event: e }]);
      await ingest([{ fingerprint: 'dup', event: e }]);
      const [issue] = (await store.listIssues({ projectId: project.id })).issues;
      assert.equal(issue!.eventCount, 1);
      assert.equal((await store.listEvents(issue!.id)).length, 1);
    });

    // Only where processes share the store; SQLite's file is owned by one process.
    if (opts.sharedByProcesses) {
      it('digests one spool from two instances (two processes) at once: every item handed out once, every event stored and counted once', async () => {
        assert.ok(second, 'a store shared by processes gives the contract a second instance');
        const fingerprints = Array.from({ length: 10 }, (_, n) => `shared-${n}`);
        const items = Array.from({ length: 200 }, (_, n) => ({ fingerprint: fingerprints[n % 10]!, event: event({ userKey: `u${n % 7}` }) }));
        const byId = new Map(items.map((i) => [i.event.eventId, i]));
        // Every 10th event is sent twice (an SDK retry), and the two copies may land in two processes' batches.
        const retried = items.filter((_, n) => n % 10 === 3);
        await store.appendToSpool([...items, ...retried].map((i) => ({ projectId: project.id, kind: 'event', eventId: i.event.eventId, receivedAt: Date.now(), payload: Buffer.from('{}') })));
        const handed = new Map<number, number>();
        const digester = (rows: SpoolRow[]): DigestedRow[] =>
          rows.map((row) => {
            handed.set(row.id, (handed.get(row.id) ?? 0) + 1);
            const item = byId.get(row.eventId!);
            if (!item) return { kind: 'rejected', spoolId: row.id, projectId: row.projectId, reason: 'test-foreign-row' };
            return { kind: 'event', spoolId: row.id, projectId: row.projectId, receivedAt: row.receivedAt, event: item.event, fingerprint: item.fingerprint, groupingVersion: 1, compressedPayload: encodePayload(item.event.payload) };
          });
        let newEvents = 0;
        const drain = async (instance: Store) => {
          for (;;) {
            const result = await instance.digestBatch(7, digester, lifecycle);
            if (result.rows === 0) return;
            newEvents += result.changes.reduce((sum, c) => sum + c.newEvents, 0);
          }
        };
        await Promise.all([drain(store), drain(second), drain(store), drain(second)]);
        assert.equal(await store.spoolBacklog(), 0);
        assert.equal(handed.size, 220);
        assert.deepEqual([...handed.values()].filter((n) => n !== 1), [], 'no spool row was handed to two digests');
        assert.equal(newEvents, 200, 'each retried event counted once');
        assert.equal((await store.itemCounts(project.id))['duplicate_event'], 20);
        const { issues } = await store.listIssues({ projectId: project.id, limit: 100 });
        assert.deepEqual(issues.map((i) => i.shortId).sort(), fingerprints.map((_, n) => `B-${String(n + 1).padStart(3, '0')}`), 'ten issues, short ids without gaps');
        assert.deepEqual(issues.map((i) => i.eventCount), issues.map(() => 20));
        assert.deepEqual(issues.map((i) => i.userCount), issues.map(() => 7), 'each issue saw users u0..u6');
        for (const issue of issues) assert.equal((await store.listEvents(issue.id, { limit: 500 })).length, 20);
      });

    }
    it('runs one holder of a name at a time, across instances too', async () => {
      const instances = [store, second ?? store, store, second ?? store];
      let inside = 0;
      let most = 0;
      const order: number[] = [];
      await Promise.all(
        instances.map((instance, n) =>
          instance.exclusively(`contract-${project.id}`, async () => {
            inside += 1;
            most = Math.max(most, inside);
            // Hand the turn to the others: a second holder would enter now if the lock let it.
            for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
            await instance.listProjects();
            order.push(n);
            inside -= 1;
          }),
        ),
      );
      assert.equal(most, 1);
      assert.equal(order.length, 4);
      assert.equal(await store.exclusively('contract-other', async () => 'value'), 'value');
    });

    it('leaves the spool untouched when the digester throws', async () => {
      await store.appendToSpool([{ projectId: project.id, kind: 'event', eventId: 'x'.repeat(32), receivedAt: Date.now(), payload: Buffer.from('{}') }]);
      const backlog = await store.spoolBacklog();
      await assert.rejects(store.digestBatch(10, () => { throw new Error('crash mid-batch'); }, lifecycle), /crash mid-batch/);
      assert.equal(await store.spoolBacklog(), backlog);
      await store.digestBatch(1000, (rows) => rows.map((r) => ({ kind: 'rejected', spoolId: r.id, projectId: r.projectId, reason: 'test' })), lifecycle);
      assert.equal(await store.spoolBacklog(), 0);
    });

    it('stores an event sent twice in one batch once, and counts it once', async () => {
      const e = event();
      const changes = await ingest([{ fingerprint: 'dup-batch', event: e }, { fingerprint: 'dup-batch', event: e }]);
      assert.equal(changes.length, 1);
      assert.equal(changes[0]!.newEvents, 1);
      const [issue] = (await store.listIssues({ projectId: project.id })).issues;
      assert.equal(issue!.eventCount, 1);
      assert.equal((await store.listEvents(issue!.id)).length, 1);
      assert.equal((await store.itemCounts(project.id))['duplicate_event'], 1);
    });

    it('orders releases by the first event naming them, within a batch too, and records when', async () => {
      const now = Date.now();
      const [created] = await ingest([{ fingerprint: 'fixed', event: event({ release: '1.0', timestamp: now - 9000 }) }]);
      await store.setIssueStatus(created!.issue.id, { status: 'resolved', inRelease: '2.0' }); // 2.0 not seen yet
      const changes = await ingest([
        { fingerprint: 'elsewhere', event: event({ release: '2.0', timestamp: now - 3000 }) },
        { fingerprint: 'fixed', event: event({ release: '3.0', timestamp: now - 1000 }) },
      ]);
      const fixed = changes.find((c) => c.issue.id === created!.issue.id)!;
      assert.equal(fixed.regressed, true, '2.0 was first seen (by another issue) before 3.0, in the same batch');
      const releases = new Map((await store.listReleases(project.id, 10)).map((r) => [r.version, r.firstSeen]));
      assert.deepEqual([releases.get('1.0'), releases.get('2.0'), releases.get('3.0')], [now - 9000, now - 3000, now - 1000]);
    });

    it('refuses a batch without the issue lifecycle before taking any row', async () => {
      await store.appendToSpool([{ projectId: project.id, kind: 'event', eventId: 'y'.repeat(32), receivedAt: Date.now(), payload: Buffer.from('{}') }]);
      const backlog = await store.spoolBacklog();
      let digested = 0;
      const counting = (rows: SpoolRow[]): DigestedRow[] => {
        digested += rows.length;
        return rows.map((r) => ({ kind: 'rejected', spoolId: r.id, projectId: r.projectId, reason: 'test' }));
      };
      await assert.rejects(store.digestBatch(10, counting, undefined as unknown as IssueLifecycle), /lifecycle/);
      assert.equal(digested, 0);
      assert.equal(await store.spoolBacklog(), backlog);
      await store.digestBatch(1000, counting, lifecycle);
      assert.equal(await store.spoolBacklog(), 0);
    });

    it('quarantines a row whose own write fails, and stores the rows before and after it in the same batch', async () => {
      // A poison row: an event of a project that does not exist (its issue violates a constraint).
      const good = [event(), event(), event()];
      const poison = event();
      const rows = [good[0]!, poison, good[1]!, good[2]!];
      await store.appendToSpool(
        rows.map((e) => ({ projectId: e === poison ? 987_654 : project.id, kind: 'event', eventId: e.eventId, receivedAt: Date.now(), payload: Buffer.from(`{"n":"${e.eventId}"}`) })),
      );
      const byId = new Map(rows.map((e) => [e.eventId, e]));
      const before = (await store.quarantineSummary()).rows;
      const result = await store.digestBatch(100, (spooled) =>
        spooled.map((row) => ({
          kind: 'event',
          spoolId: row.id,
          projectId: row.projectId,
          receivedAt: row.receivedAt,
          event: byId.get(row.eventId!)!,
          fingerprint: 'poison-neighbours',
          groupingVersion: 1,
          compressedPayload: encodePayload({}),
        })),
        lifecycle,
      );
      assert.equal(result.rows, 4, 'every row left the spool');
      assert.equal(await store.spoolBacklog(), 0);
      assert.deepEqual(result.quarantined.map((q) => [q.projectId, q.eventId]), [[987_654, poison.eventId]]);
      assert.match(result.quarantined[0]!.error, /constraint|NOT NULL|FOREIGN/i);
      const [issue] = (await store.listIssues({ projectId: project.id })).issues;
      assert.equal(issue!.eventCount, 3, 'the good rows are stored');
      const summary = await store.quarantineSummary();
      assert.equal(summary.rows, before + 1, 'the poison row is kept');
      assert.equal(summary.latest?.eventId, poison.eventId);
      assert.equal(result.changes.reduce((n, c) => n + c.newEvents, 0), 3);
    });

    it('reopens a resolved issue as a regression, unless the event is from a release older than the fix', async () => {
      await ingest([{ fingerprint: 'reg', event: event({ release: '1.0.0', timestamp: Date.now() - 60_000 }) }]);
      await ingest([{ fingerprint: 'other', event: event({ release: '2.0.0' }) }]); // 2.0.0 first seen after 1.0.0
      const [issue] = (await store.listIssues({ projectId: project.id })).issues.filter((i) => i.fingerprint === 'reg');
      await store.setIssueStatus(issue!.id, { status: 'resolved', inRelease: '2.0.0' });

      let changes = await ingest([{ fingerprint: 'reg', event: event({ release: '1.0.0' }) }]);
      assert.equal(changes[0]!.regressed, false);
      assert.equal((await store.getIssue(issue!.id))!.status, 'resolved');

      changes = await ingest([{ fingerprint: 'reg', event: event({ release: '2.0.0' }) }]);
      assert.equal(changes[0]!.regressed, true);
      const reopened = (await store.getIssue(issue!.id))!;
      assert.equal(reopened.status, 'new');
      assert.equal(reopened.regressed, true);
      assert.equal(reopened.eventCount, 3);
    });

    it('reopens a resolved issue without a fix release on its next event', async () => {
      const [c] = await ingest([{ fingerprint: 'plain', event: event() }]);
      await store.setIssueStatus(c!.issue.id, { status: 'resolved' });
      const [again] = await ingest([{ fingerprint: 'plain', event: event() }]);
      assert.equal(again!.regressed, true);
    });

    it('keeps an ignored issue ignored until its event-count condition is met', async () => {
      const [c] = await ingest([{ fingerprint: 'ign', event: event() }]);
      await store.setIssueStatus(c!.issue.id, { status: 'ignored', ignoreForEvents: 2 });
      let [next] = await ingest([{ fingerprint: 'ign', event: event() }]);
      assert.equal(next!.issue.status, 'ignored');
      [next] = await ingest([{ fingerprint: 'ign', event: event() }]);
      assert.equal(next!.unignored, true);
      assert.equal(next!.issue.status, 'new');
    });

    it('ends an ignore-until-time at the first event after that time', async () => {
      const [c] = await ingest([{ fingerprint: 'ign-t', event: event() }]);
      await store.setIssueStatus(c!.issue.id, { status: 'ignored', ignoreUntil: Date.now() - 1 });
      const [next] = await ingest([{ fingerprint: 'ign-t', event: event() }]);
      assert.equal(next!.unignored, true);
    });

    it('records each status change once with who did it, and the regressions and ended mutes as the system', async () => {
      const [c] = await ingest([{ fingerprint: 'story', event: event({ release: '1.0' }) }]);
      const id = c!.issue.id;
      const alice = { kind: 'user', name: 'alice' } as const;
      await store.setIssueStatus(id, { status: 'resolved', actor: alice });
      await store.setIssueStatus(id, { status: 'resolved', actor: alice }); // pressed twice: one entry
      await ingest([{ fingerprint: 'story', event: event({ release: '1.1' }) }]);
      await store.setIssueStatus(id, { status: 'ignored', ignoreUntil: Date.now() - 1, actor: { kind: 'telegram', name: '@bob' } });
      await ingest([{ fingerprint: 'story', event: event() }]);
      await store.setIssueStatus(id, { status: 'in_progress', actor: { kind: 'token', name: 'ci' } });
      const history = await store.issueHistory(id);
      assert.deepEqual(
        history.map((h) => [h.action, h.actor.kind, h.actor.name]),
        [
          ['resolved', 'user', 'alice'],
          ['regressed', 'system', 'botpulse'],
          ['ignored', 'telegram', '@bob'],
          ['unignored', 'system', 'botpulse'],
          ['in_progress', 'token', 'ci'],
        ],
      );
      assert.deepEqual(history[1]!.detail, { release: '1.1' });
      assert.ok(typeof history[2]!.detail.until === 'number');
      assert.ok(history.every((h, i) => h.issueId === id && (i === 0 || h.at >= history[i - 1]!.at)));
      await assert.rejects(store.setIssueStatus(987_654_321, { status: 'resolved', actor: alice }), /no issue/);
    });

    it('assigns and unassigns an issue, keeps notes, and finds the issues assigned to someone', async () => {
      const [c, other] = await ingest([
        { fingerprint: 'mine', event: event() },
        { fingerprint: 'theirs', event: event() },
      ]);
      const alice = { kind: 'user', name: 'alice' } as const;
      let issue = await store.assignIssue(c!.issue.id, 'alice', alice);
      assert.equal(issue.assignee, 'alice');
      await store.assignIssue(c!.issue.id, 'alice', alice); // no change, no entry
      await store.assignIssue(other!.issue.id, 'bob', alice);
      await store.addIssueHistory(c!.issue.id, alice, 'note', { text: 'looking at the payments timeout' });
      const mine = await store.searchIssues({ projectId: project.id, assignee: 'alice' });
      assert.deepEqual(mine.issues.map((i) => i.id), [c!.issue.id]);
      issue = await store.assignIssue(c!.issue.id, null, { kind: 'telegram', name: '@carol' });
      assert.equal(issue.assignee, null);
      const history = await store.issueHistory(c!.issue.id);
      assert.deepEqual(history.map((h) => [h.action, h.detail]), [
        ['assigned', { assignee: 'alice' }],
        ['note', { text: 'looking at the payments timeout' }],
        ['unassigned', {}],
      ]);
      assert.equal((await store.issueHistory(c!.issue.id, 1)).length, 1);
      await assert.rejects(store.addIssueHistory(987_654_321, alice, 'note', { text: 'x' }), /no issue/);
    });

    it('resolves in the next release: events from releases seen before do not reopen the issue, a release seen after does', async () => {
      await ingest([{ fingerprint: 'next', event: event({ release: '3.0', timestamp: Date.now() - 60_000 }) }]);
      await ingest([{ fingerprint: 'next-other', event: event({ release: '3.1', timestamp: Date.now() - 30_000 }) }]);
      const [issue] = (await store.listIssues({ projectId: project.id })).issues.filter((i) => i.fingerprint === 'next');
      const resolved = await store.setIssueStatus(issue!.id, { status: 'resolved', inNextRelease: true, actor: { kind: 'user', name: 'alice' } });
      assert.equal(resolved.resolvedInNextRelease, true);
      let [change] = await ingest([{ fingerprint: 'next', event: event({ release: '3.0' }) }]);
      assert.equal(change!.regressed, false);
      [change] = await ingest([{ fingerprint: 'next', event: event({ release: '3.1' }) }]);
      assert.equal(change!.regressed, false, '3.1 was first seen before the issue was resolved');
      [change] = await ingest([{ fingerprint: 'next', event: event({ release: '3.2' }) }]);
      assert.equal(change!.regressed, true);
      assert.deepEqual((await store.issueHistory(issue!.id)).map((h) => [h.action, h.detail]), [
        ['resolved', { nextRelease: true }],
        ['regressed', { release: '3.2' }],
      ]);
      const releases = await store.releaseSummaries(project.id);
      const byVersion = new Map(releases.map((r) => [r.version, r]));
      assert.deepEqual([...byVersion.keys()], ['3.2', '3.1', '3.0']);
      assert.equal(byVersion.get('3.0')!.newIssues, 1);
      assert.equal(byVersion.get('3.1')!.newIssues, 1);
      assert.equal(byVersion.get('3.2')!.regressions, 1);
      assert.equal(byVersion.get('3.2')!.openIssues, 1);
    });

    it('links a dashboard user to a Telegram account by id or username, any case, with or without @', async () => {
      const login = `tg-${seq}`;
      await store.addUser(login, 'hash');
      assert.equal(await store.setUserTelegram(login, '@Alice_Ops'), true);
      assert.equal(await store.setUserTelegram(`nobody-${seq}`, '@x'), false);
      assert.equal(await store.loginForTelegram({ id: 42, username: 'alice_ops' }), login);
      assert.equal(await store.loginForTelegram({ id: 43, username: 'someone' }), null);
      await store.setUserTelegram(login, '777');
      assert.equal(await store.loginForTelegram({ id: 777 }), login);
      assert.ok((await store.userLogins()).includes(login));
      await store.setUserTelegram(login, null);
      assert.equal(await store.loginForTelegram({ id: 777 }), null);
    });

    it('filters issues by status, level, environment, release, origin, tag, text, short id and time', async () => {
      await ingest([
        { fingerprint: 'a', event: event({ title: 'Timeout talking to payments', level: 'fatal', environment: 'staging', release: 'r1', tags: { chat_type: 'group' }, origin: 'webhook' }) },
        { fingerprint: 'b', event: event({ title: 'KeyError: user', level: 'warning', tags: { chat_type: 'private' }, timestamp: Date.now() - 3 * 3600_000 }) },
      ]);
      const titles = async (f: Parameters<Store['listIssues']>[0]) =>
        (await store.listIssues({ projectId: project.id, ...f })).issues.map((i) => i.title);
      assert.deepEqual(await titles({ level: 'fatal' }), ['Timeout talking to payments']);
      assert.deepEqual(await titles({ environment: 'staging' }), ['Timeout talking to payments']);
      assert.deepEqual(await titles({ release: 'r1' }), ['Timeout talking to payments']);
      assert.deepEqual(await titles({ origin: 'webhook' }), ['Timeout talking to payments']);
      assert.deepEqual(await titles({ tags: { chat_type: 'private' } }), ['KeyError: user']);
      assert.deepEqual(await titles({ text: 'payments' }), ['Timeout talking to payments']);
      assert.deepEqual(await titles({ text: '100%_literal' }), []);
      assert.deepEqual(await titles({ text: 'B-002' }), ['KeyError: user']);
      assert.deepEqual(await titles({ since: Date.now() - 3600_000 }), ['Timeout talking to payments']);
      const [first] = (await store.listIssues({ projectId: project.id, level: 'fatal' })).issues;
      await store.setIssueStatus(first!.id, { status: 'in_progress' });
      assert.deepEqual(await titles({ status: ['new'] }), ['KeyError: user']);
      assert.deepEqual(await titles({ status: 'in_progress' }), ['Timeout talking to payments']);
      assert.equal((await store.getIssueByShortId(project.id, 'b-002'))!.title, 'KeyError: user');
    });

    it('finds free text as an ASCII-case-insensitive substring of the current title or culprit (the text index never changes the answer)', async () => {
      await ingest([
        { fingerprint: 'pay', event: event({ title: 'Timeout talking to payments', culprit: 'workers/queue in processJob' }) },
        { fingerprint: 'quote', event: event({ title: 'Bad input: say "hi" 100%', culprit: null }) },
        { fingerprint: 'key', event: event({ title: 'KeyError: user', culprit: 'handlers/start in onStart' }) },
      ]);
      const titles = async (text: string) => (await store.searchIssues({ projectId: project.id, text })).issues.map((i) => i.title).sort();
      assert.deepEqual(await titles('ayment'), ['Timeout talking to payments'], 'inside a word');
      assert.deepEqual(await titles('TALKING TO'), ['Timeout talking to payments'], 'any ASCII case, with a space');
      assert.deepEqual(await titles('queue in proc'), ['Timeout talking to payments'], 'the culprit');
      assert.deepEqual(await titles('ey'), ['KeyError: user'], 'shorter than a trigram');
      assert.deepEqual(await titles('say "hi"'), ['Bad input: say "hi" 100%'], 'quotes are text, not query syntax');
      assert.deepEqual(await titles('hi" 100%'), ['Bad input: say "hi" 100%'], '% is text');
      assert.deepEqual(await titles('payments\nworkers'), [], 'never across title and culprit');
      assert.deepEqual(await titles('payments OR KeyError'), [], 'no query operators');
      assert.deepEqual(await titles('B-003'), ['KeyError: user'], 'a short id');
      // An issue added after the index was last read is found too.
      await ingest([{ fingerprint: 'bill', event: event({ title: 'Timeout talking to billing', culprit: 'workers/queue in chargeUser' }) }]);
      assert.deepEqual(await titles('queue in'), ['Timeout talking to billing', 'Timeout talking to payments']);
    });

    it('sorts by last seen, count and users, and pages', async () => {
      await ingest([
        { fingerprint: 'old', event: event({ title: 'old', timestamp: Date.now() - 60_000, userKey: 'u1' }) },
        { fingerprint: 'old', event: event({ title: 'old', timestamp: Date.now() - 50_000, userKey: 'u2' }) },
        { fingerprint: 'new', event: event({ title: 'new' }) },
      ]);
      const order = async (sort: 'last_seen' | 'count' | 'users') =>
        (await store.listIssues({ projectId: project.id, sort })).issues.map((i) => i.title);
      assert.deepEqual(await order('last_seen'), ['new', 'old']);
      assert.deepEqual(await order('count'), ['old', 'new']);
      assert.deepEqual(await order('users'), ['old', 'new']);
      const page2 = await store.listIssues({ projectId: project.id, limit: 1, offset: 1 });
      assert.equal(page2.total, 2);
      assert.deepEqual(page2.issues.map((i) => i.title), ['old']);
    });

    it('keeps event payloads, Telegram context and attachments', async () => {
      const e = event({ telegram: { chat_id: -100123, user_id: 42, update_id: 777 }, payload: { extra: { a: [1, 2] } } });
      await ingest([{ fingerprint: 'p', event: e }]);
      await store.appendToSpool([{ projectId: project.id, kind: 'attachment', eventId: e.eventId, receivedAt: Date.now(), payload: Buffer.from('log'), meta: { filename: 'bot.log' } }]);
      await store.digestBatch(10, (rows) =>
        rows.map((r) => ({ kind: 'attachment', spoolId: r.id, projectId: r.projectId, eventId: r.eventId!, filename: 'bot.log', contentType: 'text/plain', data: r.payload })),
        lifecycle,
      );
      const stored = (await store.getEvent(project.id, e.eventId))!;
      assert.deepEqual(stored.payload, { extra: { a: [1, 2] } });
      assert.deepEqual(stored.attachments, [{ filename: 'bot.log', contentType: 'text/plain', size: 3 }]);
      const download = await store.getAttachment(project.id, e.eventId, 0);
      assert.deepEqual({ ...download, data: download?.data.toString() }, { filename: 'bot.log', contentType: 'text/plain', size: 3, data: 'log' });
      assert.equal(await store.getAttachment(project.id, e.eventId, 1), null);
      assert.equal(await store.getAttachment(project.id + 1000, e.eventId, 0), null, "another project's event id finds nothing");
      const latest = await store.latestEvent(stored.issueId);
      assert.equal(latest!.eventId, e.eventId);
    });

    it('caps an issue: keeps its first and latest events and one per hour, deletes the rest and their attachments, counts stay exact', async () => {
      const events = Array.from({ length: 30 }, () => event());
      await ingest(events.map((e) => ({ fingerprint: 'storm', event: e })));
      await ingest([{ fingerprint: 'calm', event: event() }]);
      const storm = (await store.getEvent(project.id, events[0]!.eventId))!.issueId;
      const middle = events[10]!;
      await store.appendToSpool([{ projectId: project.id, kind: 'attachment', eventId: middle.eventId, receivedAt: Date.now(), payload: Buffer.from('shot'), meta: { filename: 'shot.png' } }]);
      await store.digestBatch(10, (rows) => rows.map((r) => ({ kind: 'attachment', spoolId: r.id, projectId: r.projectId, eventId: r.eventId!, filename: 'shot.png', contentType: 'image/png', data: r.payload })), lifecycle);
      const hour = Math.floor(Date.now() / 3_600_000);
      const result = await store.capIssues({ keepFirst: 3, keepLatest: 4 }, hour - 1);
      // 3 first + 4 latest + the first event of the hour among the rest = 8 kept of 30 (other
      // tests' issues share the database: the result counts theirs too).
      assert.ok(result.issues >= 1 && result.events >= 22 && result.attachments >= 1, JSON.stringify(result));
      const kept = await store.listEvents(storm, { limit: 100 });
      const keptIds = new Set(kept.map((e) => e.eventId));
      assert.equal(kept.length, 8);
      for (const e of [...events.slice(0, 4), ...events.slice(26)]) assert.ok(keptIds.has(e.eventId), 'first, sample and latest kept');
      assert.equal(await store.getEvent(project.id, middle.eventId), null);
      assert.equal(await store.getAttachment(project.id, middle.eventId, 0), null);
      const issue = (await store.getIssue(storm))!;
      assert.equal(issue.eventCount, 30, 'the count stays exact');
      const hourly = (await store.issueHourlyCounts([storm], hour - 1)).get(storm) ?? [];
      assert.equal(hourly.reduce((n, h) => n + h.count, 0), 30, 'and the events per hour');
      assert.equal((await store.capIssues({ keepFirst: 3, keepLatest: 4 }, hour - 1)).events, 0, 'a second run finds nothing more');
      assert.deepEqual(await store.capIssues({ keepFirst: 3, keepLatest: 4 }, hour + 1), { issues: 0, events: 0, attachments: 0 }, 'only issues with events since the hour given');
      const storage = await store.projectStorage(project.id);
      assert.equal(storage.events, 9);
      assert.ok(storage.payloadBytes > 0);
    });

    it('prunes old events but keeps issue counts', async () => {
      await ingest([{ fingerprint: 'prune', event: event() }, { fingerprint: 'prune', event: event() }]);
      const [issue] = (await store.listIssues({ projectId: project.id })).issues;
      const hour = Math.floor(Date.now() / 3_600_000);
      assert.equal((await store.issueHourlyCounts([issue!.id], hour - 1)).get(issue!.id)?.[0]?.count, 2);
      const removed = await store.pruneEvents((hour + 2) * 3_600_000);
      assert.ok(removed >= 2);
      assert.equal((await store.issueHourlyCounts([issue!.id], hour - 1)).get(issue!.id)?.length ?? 0, 0, 'hourly counts pruned with their events');
      assert.equal((await store.getIssue(issue!.id))!.eventCount, 2);
      assert.equal((await store.listEvents(issue!.id)).length, 0);
      const day = 86_400_000;
      const tomorrow = (Math.floor(Date.now() / day) + 1) * day;
      await store.pruneEvents(tomorrow);
      const today = await store.searchIssues({ eventsSince: tomorrow - day, limit: 500 });
      assert.equal(today.issues.some((i) => i.id === issue!.id), false, 'daily counts pruned with their events (the days wholly before the cutoff)');
    });

    it('parks non-event items raw and counts others', async () => {
      await store.appendToSpool([{ projectId: project.id, kind: 'check_in', eventId: null, receivedAt: Date.now(), payload: Buffer.from('{"status":"ok"}') }]);
      const parked = await store.listRawItems('check_in', { projectId: project.id });
      assert.equal(parked.length, 1);
      assert.equal(parked[0]!.payload.toString(), '{"status":"ok"}');
      await store.countItems(project.id, { client_report: 2, session: 1 });
      await store.countItems(project.id, { client_report: 1 });
      assert.deepEqual(await store.itemCounts(project.id), { client_report: 3, session: 1 });
    });

    it('records a flush\u2019s counted items and client discards with its append (summed per key, first and last times)', async () => {
      const tallied = await store.createProject({ name: 'Tallied flush' });
      const event = { projectId: tallied.id, kind: 'event', eventId: 't'.repeat(32), receivedAt: Date.now(), payload: Buffer.from('{}') };
      const drop = (quantity: number) => ({ reason: 'ratelimit_backoff', category: 'error', quantity });
      await store.appendToSpool([event], [
        { projectId: tallied.id, counts: { session: 2 }, discards: [{ discards: [drop(3)], at: 2_000 }] },
        { projectId: tallied.id, counts: { session: 1, client_report: 1 }, discards: [{ discards: [drop(4), drop(0)], at: 1_000 }] },
      ]);
      await store.appendToSpool([], [{ projectId: tallied.id, counts: { client_report: 1 } }]); // requests that only brought counts
      assert.deepEqual(await store.itemCounts(tallied.id), { session: 3, client_report: 2 });
      assert.deepEqual(
        (await store.clientDiscards(tallied.id)).map((d) => [d.reason, d.category, d.quantity, d.firstAt, d.lastAt]),
        [['ratelimit_backoff', 'error', 7, 1_000, 2_000]],
      );
      assert.equal((await store.digestBatch(100, (rows) => rows.map((r) => ({ kind: 'rejected', spoolId: r.id, projectId: r.projectId, reason: 'test' })), lifecycle)).rows, 1);
    });

    it('verifies API tokens by hash and stores users', async () => {
      const { token } = await store.createApiToken('t');
      assert.equal(await store.verifyApiToken(token), true);
      assert.equal(await store.verifyApiToken(token + 'x'), false);
      await store.addUser('ann', 'hash1');
      await store.addUser('ann', 'hash2');
      assert.deepEqual(await store.getUser('ann'), { login: 'ann', passwordHash: 'hash2', role: 'admin' });
    });

    // ── dashboard (web) ─────────────────────────────────────────────────────

    it('keeps dashboard sessions by id hash, extends and expires them', async () => {
      const now = Date.now();
      await store.createSession({ idHash: `h-${project.id}`, login: 'ann', csrfToken: 'tok', createdAt: now, expiresAt: now + 1000 });
      assert.deepEqual(await store.getSession(`h-${project.id}`), { idHash: `h-${project.id}`, login: 'ann', csrfToken: 'tok', createdAt: now, expiresAt: now + 1000 });
      await store.extendSession(`h-${project.id}`, now + 5000);
      assert.equal((await store.getSession(`h-${project.id}`))!.expiresAt, now + 5000);
      assert.ok((await store.deleteExpiredSessions(now + 6000)) >= 1);
      assert.equal(await store.getSession(`h-${project.id}`), null);
      await store.createSession({ idHash: `g-${project.id}`, login: 'ann', csrfToken: 'tok', createdAt: now, expiresAt: now + 1000 });
      await store.deleteSession(`g-${project.id}`);
      assert.equal(await store.getSession(`g-${project.id}`), null);
    });

    it('counts login attempts atomically in a window that the last attempt let through restarts', async () => {
      const key = `login-${project.id}`;
      const t0 = 1_000_000;
      const window = 60_000;
      const counts = await Promise.all(Array.from({ length: 8 }, () => store.countLoginAttempt(key, t0, window, 5)));
      assert.deepEqual(counts.map((c) => c.attempts).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8], 'every attempt got its own number');
      // The 5th attempt restarted the window at t0 (here all are at t0); later: still counted in it.
      assert.deepEqual(await store.countLoginAttempt(key, t0 + window - 1, window, 5), { attempts: 9, windowStart: t0 });
      assert.deepEqual(await store.countLoginAttempt(key, t0 + window, window, 5), { attempts: 1, windowStart: t0 + window }, 'a new window');
      await store.countLoginAttempt(key, t0 + window + 1, window, 5);
      await store.countLoginAttempt(key, t0 + window + 2, window, 5);
      await store.countLoginAttempt(key, t0 + window + 3, window, 5);
      assert.deepEqual(await store.countLoginAttempt(key, t0 + window + 4, window, 5), { attempts: 5, windowStart: t0 + window + 4 }, 'the 5th restarts it');
      await store.clearLoginAttempts(key);
      assert.deepEqual(await store.countLoginAttempt(key, t0 + window + 5, window, 5), { attempts: 1, windowStart: t0 + window + 5 });
      assert.ok((await store.pruneLoginAttempts(t0 + window + 6)) >= 1);
      assert.deepEqual(await store.countLoginAttempt(key, t0 + window + 7, window, 5), { attempts: 1, windowStart: t0 + window + 7 });
    });

    it('counts events per issue per hour, and answers the saved-view searches', async () => {
      const hour = 3_600_000;
      const now = Date.now();
      const changes = await ingest([
        ...Array.from({ length: 5 }, () => ({ fingerprint: 'often', event: event({ title: 'often', timestamp: now - 2 * hour }) })),
        { fingerprint: 'often', event: event({ title: 'often', timestamp: now }) },
        { fingerprint: 'crit', event: event({ title: 'crit', level: 'fatal', timestamp: now - 3 * 86_400_000 }) },
        { fingerprint: 'http', event: event({ title: 'http', request: { method: 'GET', url: null, urlPattern: '/x', statusCode: 503, ip: null, userAgent: null } }) },
      ]);
      const often = changes.find((c) => c.issue.title === 'often')!.issue;
      const hourly = await store.issueHourlyCounts([often.id], Math.floor(now / hour) - 23);
      assert.deepEqual(hourly.get(often.id), [
        { hour: Math.floor((now - 2 * hour) / hour), count: 5 },
        { hour: Math.floor(now / hour), count: 1 },
      ]);
      const titles = async (search: Parameters<Store['searchIssues']>[0]) =>
        (await store.searchIssues({ projectId: project.id, ...search })).issues.map((i) => i.title);
      assert.deepEqual(await titles({ minEvents: 5, untracked: true }), ['often']);
      assert.deepEqual(await titles({ level: 'fatal', status: ['new', 'in_progress'] }), ['crit']);
      assert.deepEqual(await titles({ httpStatus: { from: 500, to: 599 }, since: now - hour }), ['http']);
      assert.deepEqual(await titles({ text: 'B-001' }), ['often']);
      const recent = await store.searchIssues({ projectId: project.id, eventsSince: now - 86_400_000 });
      assert.deepEqual(recent.issues.map((i) => i.title), ['often', 'http']);
      assert.equal(recent.recentCounts.get(often.id), 6);
      assert.equal(recent.total, 2);
      const everywhere = await store.searchIssues({ eventsSince: now - 86_400_000, limit: 500 }); // no other filter: the ranked fast path
      assert.equal(everywhere.recentCounts.get(often.id), 6);
      assert.ok(everywhere.total >= 2 && everywhere.issues.some((i) => i.id === often.id));
      const counts = everywhere.issues.map((i) => everywhere.recentCounts.get(i.id)!);
      assert.deepEqual(counts, [...counts].sort((a, b) => b - a));
      assert.deepEqual(await store.issueStatusCounts(project.id), { new: 3, in_progress: 0, resolved: 0, ignored: 0 });
      assert.deepEqual((await store.issueTags(often.id)).map((t) => [t.key, t.values.map((v) => [v.value, v.count]), t.truncated]), [['environment', [['production', 6]], false]]);
      await ingest([1, 2, 3].map((n) => ({ fingerprint: 'often', event: event({ title: 'often', tags: { req: `r${n}` } }) })));
      const tags = await store.issueTags(often.id, 2);
      assert.deepEqual(tags.map((t) => [t.key, t.values.length, t.truncated]), [['environment', 1, false], ['req', 2, true]]);
    });

    it('ranks "most frequent today" by the day\'s counts (migration 028) exactly as by the hourly counts, and falls back when a later day is counted', async () => {
      const day = 86_400_000;
      const today = Math.floor(Date.now() / day) * day;
      const at = (offset: number) => event({ title: `daily ${offset}`, timestamp: today + offset });
      const changes = await ingest([
        ...Array.from({ length: 3 }, (_, n) => ({ fingerprint: 'daily-a', event: { ...at(1000 + n), title: 'daily a' } })),
        ...Array.from({ length: 10 }, (_, n) => ({ fingerprint: 'daily-a', event: { ...at(-5 * 3_600_000 - n), title: 'daily a' } })),
        ...Array.from({ length: 5 }, (_, n) => ({ fingerprint: 'daily-b', event: { ...at(7_200_000 + n), title: 'daily b' } })),
        { fingerprint: 'daily-c', event: { ...at(2000), title: 'daily c' } },
        ...Array.from({ length: 20 }, (_, n) => ({ fingerprint: 'daily-c', event: { ...at(-day - n), title: 'daily c' } })),
      ]);
      const id = (title: string) => changes.find((c) => c.issue.title === title)!.issue.id;
      const [a, b, c] = [id('daily a'), id('daily b'), id('daily c')];
      const ranked = async (since: number, extra: Partial<Parameters<Store['searchIssues']>[0]> = {}) => {
        const r = await store.searchIssues({ eventsSince: since, limit: 500, ...extra });
        return { ids: r.issues.map((i) => i.id), counts: r.issues.map((i) => r.recentCounts.get(i.id)), total: r.total, lowerBound: r.totalIsLowerBound };
      };
      const byDay = await ranked(today); // 00:00 UTC: the day's counts
      const byHour = await ranked(today + 1); // not a day boundary: the hourly counts since the same hour
      assert.deepEqual(byDay, byHour);
      const ours = byDay.ids.filter((i) => [a, b, c].includes(i));
      assert.deepEqual(ours, [b, a, c], 'by events today, not all time');
      assert.deepEqual(ours.map((i) => byDay.counts[byDay.ids.indexOf(i)]), [5, 3, 1]);
      assert.deepEqual(await ranked(today, { limit: 1, offset: 1, countUpTo: 1 }), await ranked(today + 1, { limit: 1, offset: 1, countUpTo: 1 }), 'a page and a bounded count');
      // An event dated tomorrow (clocks a minute fast): the day's row alone would miss it.
      await ingest([{ fingerprint: 'daily-c', event: { ...at(day + 1000), title: 'daily c' } }]);
      const withLater = await ranked(today);
      assert.equal(withLater.counts[withLater.ids.indexOf(c)], 2);
      assert.deepEqual(withLater, await ranked(today + 1));
    });

    it('counts a search up to countUpTo, then says the total is a lower bound', async () => {
      const now = Date.now();
      await ingest(['a', 'b', 'c', 'd', 'e'].map((f, n) => ({ fingerprint: f, event: event({ title: `bounded ${f}`, timestamp: now - n * 1000 }) })));
      const search = async (extra: Parameters<Store['searchIssues']>[0]) => {
        const r = await store.searchIssues({ projectId: project.id, limit: 2, ...extra });
        return [r.issues.map((i) => i.title), r.total, r.totalIsLowerBound];
      };
      const firstTwo = ['bounded a', 'bounded b'];
      assert.deepEqual(await search({}), [firstTwo, 5, false], 'exact without a bound');
      assert.deepEqual(await search({ countUpTo: 5 }), [firstTwo, 5, false], 'exact when every match fits');
      assert.deepEqual(await search({ countUpTo: 3 }), [firstTwo, 3, true], 'at least 3');
      assert.deepEqual(await search({ countUpTo: 3, offset: 4 }), [['bounded e'], 3, true], 'the page is read past the bound');
      assert.deepEqual(await search({ countUpTo: 3, text: 'bounded' }), [firstTwo, 3, true], 'with a text');
      assert.deepEqual(await search({ countUpTo: 3, status: ['new'], sort: 'first_seen' }), [['bounded a', 'bounded b'], 3, true], 'with a filter and a sort');
      assert.deepEqual((await search({ countUpTo: 3, eventsSince: now - 86_400_000 })).slice(1), [3, true], 'ranked by recent events');
      const everywhere = await store.searchIssues({ eventsSince: now - 86_400_000, limit: 1, countUpTo: 1 });
      assert.deepEqual([everywhere.total, everywhere.totalIsLowerBound], [1, true], 'the ranked fast path');
      // Two tags (environment + release): many matches walk the sort's index on PostgreSQL, few are read by id; same answers.
      await ingest(['f', 'g', 'h'].map((f, n) => ({ fingerprint: f, event: event({ title: `tagged ${f}`, environment: 'staging', release: '9.9', timestamp: now - n * 1000 }) })));
      const tagged = { projectId: project.id, environment: 'staging', release: '9.9' };
      const dense = await store.searchIssues({ ...tagged, limit: 2, offset: 1, countUpTo: 1 });
      assert.deepEqual([dense.issues.map((i) => i.title), dense.total, dense.totalIsLowerBound], [['tagged g', 'tagged h'], 1, true], 'more matches than the bound');
      const sparse = await store.searchIssues({ ...tagged, limit: 2, countUpTo: 10 });
      assert.deepEqual([sparse.issues.map((i) => i.title), sparse.total, sparse.totalIsLowerBound], [['tagged f', 'tagged g'], 3, false], 'fewer');
    });

    it('keeps the status counts equal to a recount through new issues, regressions, resolves, ignores, retention and project deletion', async () => {
      const recount = async (projectId?: number) => {
        const counts: Record<string, number> = {};
        for (const status of ['new', 'in_progress', 'resolved', 'ignored'] as const) {
          counts[status] = (await store.searchIssues({ ...(projectId !== undefined ? { projectId } : {}), status: [status], limit: 1 })).total;
        }
        return counts;
      };
      const agree = async (step: string, expected: Record<string, number>) => {
        assert.deepEqual(await store.issueStatusCounts(project.id), expected, `${step}: the counters`);
        assert.deepEqual(await recount(project.id), expected, `${step}: the recount`);
        assert.deepEqual(await store.issueStatusCounts(), await recount(), `${step}: every project`);
      };
      const id = (changes: Awaited<ReturnType<typeof ingest>>, fingerprint: string) => changes.find((c) => c.issue.fingerprint === fingerprint)!.issue.id;
      const first = await ingest(['a', 'b', 'c', 'd', 'e', 'a'].map((f) => ({ fingerprint: f, event: event({ title: `counted ${f}` }) })));
      await agree('new issues', { new: 5, in_progress: 0, resolved: 0, ignored: 0 });
      // A second process (PostgreSQL) changes some: its counters may sit in another slot.
      const other = second ?? store;
      await other.setIssueStatus(id(first, 'a'), { status: 'resolved' });
      await store.setIssueStatus(id(first, 'b'), { status: 'resolved' });
      await other.setIssueStatus(id(first, 'c'), { status: 'ignored', ignoreForEvents: 1 });
      await store.setIssueStatus(id(first, 'd'), { status: 'ignored' });
      await store.setIssueStatus(id(first, 'e'), { status: 'in_progress' });
      await store.setIssueStatus(id(first, 'e'), { status: 'in_progress' }); // unchanged: counted once
      await agree('resolves and ignores', { new: 0, in_progress: 1, resolved: 2, ignored: 2 });
      await ingest([{ fingerprint: 'a', event: event({ title: 'counted a' }) }, { fingerprint: 'c', event: event({ title: 'counted c' }) }, { fingerprint: 'f', event: event({ title: 'counted f' }) }]);
      await agree('a regression, an ended ignore and a new issue', { new: 3, in_progress: 1, resolved: 1, ignored: 1 });
      await store.pruneEvents(Date.now() + 60_000);
      await agree('retention (issues outlive their events)', { new: 3, in_progress: 1, resolved: 1, ignored: 1 });
      const doomed = project;
      project = await store.createProject({ name: `Contract ${++seq}`, shortIdPrefix: 'B' });
      await ingest(['x', 'y'].map((f) => ({ fingerprint: f, event: event({ title: `counted ${f}` }) })));
      assert.deepEqual(await store.issueStatusCounts(project.id), { new: 2, in_progress: 0, resolved: 0, ignored: 0 }, 'per project');
      await store.startProjectDeletion(doomed.id, Date.now());
      let step = await store.deleteProjectChunk(doomed.id, 2);
      assert.deepEqual(await store.issueStatusCounts(), await recount(), 'part of a deleted project\'s issues gone');
      while (!step.done) step = await store.deleteProjectChunk(doomed.id, 2);
      assert.deepEqual(await store.issueStatusCounts(doomed.id), { new: 0, in_progress: 0, resolved: 0, ignored: 0 }, 'a deleted project counts nothing');
      await agree('another project deleted', { new: 2, in_progress: 0, resolved: 0, ignored: 0 });
    });

    it('keeps the status counts equal to a recount through concurrent status changes, digest batches and folds', async () => {
      // Every digester reads this map, so concurrent batches (two processes on PostgreSQL) may take any row.
      const items = new Map<string, { fingerprint: string; event: NormalizedEvent }>();
      const digester = (rows: SpoolRow[]): DigestedRow[] =>
        rows.map((row) => {
          const item = items.get(row.eventId!)!;
          return { kind: 'event', spoolId: row.id, projectId: row.projectId, receivedAt: row.receivedAt, event: item.event, fingerprint: item.fingerprint, groupingVersion: 1, compressedPayload: encodePayload(item.event.payload) };
        });
      const digestAll = async (s: Store) => {
        while ((await s.digestBatch(7, digester, lifecycle)).rows > 0);
      };
      let seed = 16;
      const pick = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n);
      const spool = async (n: number) => {
        const batch = Array.from({ length: n }, () => ({ fingerprint: `mixed ${pick(12)}`, event: event({ title: 'mixed' }) }));
        for (const b of batch) items.set(b.event.eventId, b);
        await store.appendToSpool(batch.map((b) => ({ projectId: project.id, kind: 'event', eventId: b.event.eventId, receivedAt: Date.now(), payload: Buffer.from('{}') })));
      };
      const recount = async () => {
        const counts: Record<string, number> = {};
        for (const status of ['new', 'in_progress', 'resolved', 'ignored'] as const) counts[status] = (await store.searchIssues({ projectId: project.id, status: [status], limit: 1 })).total;
        return counts;
      };
      const stores = [store, second ?? store];
      const statuses = ['new', 'in_progress', 'resolved', 'ignored'] as const;
      await spool(20);
      await digestAll(store);
      for (let round = 0; round < 4; round++) {
        const ids = (await store.searchIssues({ projectId: project.id, limit: 100 })).issues.map((i) => i.id);
        await spool(20);
        await Promise.all([
          digestAll(stores[0]!),
          digestAll(stores[1]!),
          ...Array.from({ length: 12 }, (_, k) => stores[k % 2]!.setIssueStatus(ids[pick(ids.length)]!, { status: statuses[pick(4)]! })),
          stores[round % 2]!.compactIssueStatusCounts(),
          stores[(round + 1) % 2]!.compactIssueStatusCounts(),
        ]);
        assert.deepEqual(await store.issueStatusCounts(project.id), await recount(), `round ${round}`);
      }
      await store.compactIssueStatusCounts();
      assert.deepEqual(await store.issueStatusCounts(project.id), await recount(), 'folded');
      assert.equal(await store.compactIssueStatusCounts(), 0, 'nothing left to fold');
    });

    it('keeps per-project settings, lists releases and counts parked raw items', async () => {
      await store.setProjectSetting(project.id, 'alert_chat_id', '-100123');
      assert.deepEqual(await store.getProjectSettings(project.id), { alert_chat_id: '-100123' });
      await store.setProjectSetting(project.id, 'alert_chat_id', null);
      assert.deepEqual(await store.getProjectSettings(project.id), {});
      // A person's log rules (logs/rule-edits.ts): the largest set the schema takes, any text, replaced whole.
      const rules = JSON.stringify({ forbidden: Array.from({ length: 100 }, (_, i) => `${i} (?i)платёж “failed” ${'x'.repeat(470)}`), errorRate: null });
      await store.setProjectSetting(project.id, 'log_rules', rules);
      assert.equal((await store.getProjectSettings(project.id))['log_rules'], rules);
      await store.setProjectSetting(project.id, 'log_rules', '{"enabled":false}');
      assert.deepEqual(await store.getProjectSettings(project.id), { log_rules: '{"enabled":false}' });
      await store.setProjectSetting(project.id, 'log_rules', null);
      assert.deepEqual(await store.getProjectSettings(project.id), {});
      await ingest([{ fingerprint: 'rel', event: event({ release: 'r-9' }) }]);
      assert.deepEqual((await store.listReleases(project.id, 5)).map((r) => r.version), ['r-9']);
      await store.appendToSpool([{ projectId: project.id, kind: 'check_in', eventId: null, receivedAt: Date.now(), payload: Buffer.from('{}') }]);
      assert.equal(await store.countRawItems('check_in', project.id), 1);
    });
  });
}
