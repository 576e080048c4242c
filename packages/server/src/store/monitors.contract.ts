import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Monitor, MonitorStore, NewMonitor, Transition } from './monitors.js';
import type { Project } from './model.js';
import type { Store } from './store.js';

/**
 * The behaviour every MonitorStore must have (docs/monitors.md). `open` gives something that
 * creates projects (the Store, or a stand-in while a store has no Store yet) and two MonitorStores on ONE database through two connections (two server processes),
 * so conditional state changes and notification claims are raced for real. The database is shared
 * by all tests: each works in its own project and only looks at its own monitors.
 */
export function monitorStoreContract(name: string, open: () => Promise<{ store: Pick<Store, 'createProject'>; a: MonitorStore; b: MonitorStore; cleanup: () => Promise<void> }>): void {
  describe(`MonitorStore contract: ${name}`, () => {
    let store: Pick<Store, 'createProject'>;
    let a: MonitorStore;
    let b: MonitorStore;
    let cleanup: () => Promise<void>;
    let project: Project;
    let seq = 0;
    before(async () => ({ store, a, b, cleanup } = await open()));
    after(async () => cleanup());
    beforeEach(async () => {
      project = await store.createProject({ name: `Monitors ${++seq}`, shortIdPrefix: 'M' });
    });

    const heartbeat = (slug: string, over: Partial<NewMonitor> = {}): NewMonitor => ({ projectId: project.id, slug, kind: 'heartbeat', source: 'ping', periodMs: 20_000, graceMs: 10_000, ...over });
    /** up → late style change as the sweeper writes it. */
    const flipTo = (m: Monitor, to: Monitor['status'], at: number, extra: Transition['set'] = {}): Transition => ({
      stateId: m.stateId,
      expect: { status: m.status, updatedAt: m.updatedAt },
      set: { status: to, updatedAt: Math.max(at, m.updatedAt + 1), ...extra },
      flip: { at, from: m.status, to, reason: `to ${to}` },
    });

    it('creates heartbeat monitors waiting for their first ping and uptime monitors due at once', async () => {
      const hb = await a.createMonitor(heartbeat('poller'), 1000);
      assert.equal(hb.status, 'new');
      assert.equal(hb.deadline, null);
      assert.equal(hb.periodMs, 20_000);
      assert.equal(hb.graceMs, 10_000);
      assert.equal(hb.alertSent, false);
      assert.equal(hb.createdAt, 1000);
      const up = await a.createMonitor({ projectId: project.id, slug: 'health', kind: 'uptime', source: 'api', url: 'http://bot:8080/health', timeoutMs: 5000 }, 2000);
      assert.equal(up.deadline, 2000);
      assert.equal(up.url, 'http://bot:8080/health');
      assert.deepEqual(await b.getMonitor(up.id), up, 'the other connection reads the same row');
      assert.deepEqual((await b.listMonitors({ projectId: project.id })).map((m) => m.slug), ['health', 'poller']);
      assert.deepEqual((await b.listMonitors({ projectId: project.id, kind: 'uptime' })).map((m) => m.slug), ['health']);
    });

    it('upserts on check-in: ensureMonitor creates once per (project, slug), then returns the same monitor', async () => {
      const first = await a.ensureMonitor(heartbeat('cron'), 1000);
      const second = await b.ensureMonitor(heartbeat('cron', { periodMs: 99_000 }), 2000);
      assert.equal(first.created, true);
      assert.equal(second.created, false);
      assert.equal(second.monitor.id, first.monitor.id);
      assert.equal(second.monitor.periodMs, 20_000, 'an existing monitor keeps its settings');
      assert.equal((await a.findMonitor(project.id, 'cron'))?.id, first.monitor.id);
      assert.equal(await a.findMonitor(project.id, 'nope'), null);
      const raced = await Promise.all([a.ensureMonitor(heartbeat('raced'), 1), b.ensureMonitor(heartbeat('raced'), 1), a.ensureMonitor(heartbeat('raced'), 1)]);
      assert.equal(new Set(raced.map((r) => r.monitor.id)).size, 1);
      assert.equal(raced.filter((r) => r.created).length, 1);
    });

    it('lists due monitors by deadline, soonest first, within the limit', async () => {
      const ids: number[] = [];
      for (const [slug, deadline] of [['c', 3000], ['a', 1000], ['later', 9_000_000_000_000], ['b', 2000]] as const) {
        const m = await a.createMonitor(heartbeat(slug), 1);
        assert.ok(await a.transition({ stateId: m.stateId, expect: { status: 'new', updatedAt: 1 }, set: { status: 'up', deadline, updatedAt: 2 } }));
        ids.push(m.id);
      }
      const mine = (list: Monitor[]) => list.filter((m) => m.projectId === project.id).map((m) => m.slug);
      assert.deepEqual(mine(await b.dueMonitors(5000, 10_000)), ['a', 'b', 'c']);
      assert.deepEqual(mine(await b.dueMonitors(2000, 10_000)), ['a', 'b'], 'a deadline equal to now is due');
      const limited = await b.dueMonitors(5000, 1);
      assert.equal(limited.length, 1);
    });

    it('applies a state change only if the monitor is still as read, writing its flip and notification in the same step', async () => {
      const m = await a.createMonitor(heartbeat('poller'), 1000);
      const t = flipTo(m, 'down', 5000, { downSince: 5000, downReason: 'no heartbeat for 30 s', alertSent: true, deadline: null });
      t.notify = [{ projectId: project.id, monitorId: m.id, fingerprint: `monitor:${m.id}`, kind: 'down', text: '<b>down</b>', payload: { kind: 'down' }, createdAt: 5000 }];
      // Two processes race the same change: exactly one applies it.
      const results = await Promise.all([a.transition(t), b.transition(t)]);
      assert.deepEqual(results.sort(), [false, true]);
      const after = (await a.getMonitor(m.id))!;
      assert.equal(after.status, 'down');
      assert.equal(after.downReason, 'no heartbeat for 30 s');
      assert.equal(after.alertSent, true);
      assert.equal(after.updatedAt, 5000);
      assert.deepEqual((await b.flips(m.id)).map((f) => [f.from, f.to, f.at, f.reason, f.projectId]), [['new', 'down', 5000, 'to down', project.id]]);
      const notes = await b.notifications({ monitorId: m.id });
      assert.equal(notes.length, 1, 'one alert, not two');
      assert.equal(notes[0]!.status, 'pending');
      assert.deepEqual(notes[0]!.payload, { kind: 'down' });
      // A stale writer changes nothing and records nothing.
      assert.equal(await b.transition(flipTo(m, 'up', 6000)), false);
      assert.equal((await a.flips(m.id)).length, 1);
      assert.equal((await a.getMonitor(m.id))!.status, 'down');
      await assert.rejects(a.transition({ stateId: m.stateId, expect: { status: 'down', updatedAt: 5000 }, set: { id: 7 } as unknown as Transition['set'] }));
    });

    it('keeps the history newest first, with limit and since', async () => {
      let m = await a.createMonitor(heartbeat('poller'), 1000);
      for (const [to, at] of [['up', 2000], ['late', 3000], ['down', 4000], ['up', 5000]] as const) {
        assert.ok(await a.transition(flipTo(m, to, at)));
        m = (await a.getMonitor(m.id))!;
      }
      assert.deepEqual((await b.flips(m.id)).map((f) => f.to), ['up', 'down', 'late', 'up']);
      assert.deepEqual((await b.flips(m.id, { limit: 2 })).map((f) => f.at), [5000, 4000]);
      assert.deepEqual((await b.flips(m.id, { since: 3500 })).map((f) => f.at), [5000, 4000]);
      await b.deleteMonitor(m.id);
      assert.equal(await a.getMonitor(m.id), null);
      assert.deepEqual(await a.flips(m.id), [], 'history goes with the monitor');
    });

    it('gives the history uptime is computed from: per environment the last flip before the window, then every flip in it, oldest first', async () => {
      let m = await a.createMonitor(heartbeat('uptime-history'), 1000);
      for (const [to, at] of [['up', 2000], ['down', 3000], ['up', 4000], ['down', 6000], ['up', 7000]] as const) {
        assert.ok(await a.transition(flipTo(m, to, at)));
        m = (await a.getMonitor(m.id))!;
      }
      await a.ensureEnvironment(m.id, 'production', 7050);
      const staging = await a.ensureEnvironment(m.id, 'staging', 7100);
      assert.ok(await a.transition(flipTo(staging, 'up', 7200)));
      const at = (flips: Awaited<ReturnType<MonitorStore['flipsForUptime']>>) => flips.map((f) => [f.environment, f.at, f.to]);
      assert.deepEqual(at(await b.flipsForUptime(m.id, 5000)), [['production', 4000, 'up'], ['production', 6000, 'down'], ['production', 7000, 'up'], ['staging', 7200, 'up']], 'the flip at 4000 says the window starts up');
      assert.deepEqual(at(await b.flipsForUptime(m.id, 6000)), [['production', 4000, 'up'], ['production', 6000, 'down'], ['production', 7000, 'up'], ['staging', 7200, 'up']], 'a flip at the start is in the window');
      assert.deepEqual(at(await b.flipsForUptime(m.id, 8000)), [['production', 7000, 'up'], ['staging', 7200, 'up']], 'one flip per environment before the window');
      assert.deepEqual(at(await b.flipsForUptime(m.id, 500)), at((await b.flips(m.id)).reverse()), 'a window from before the monitor: all of it');
    });

    it('stores JSON and boolean fields through a transition', async () => {
      const m = await a.createMonitor(heartbeat('poller'), 1000);
      const polling = { host: 'bot-1', pid: 42, last_get_updates_ok_at: '2026-01-01T00:00:00.000Z', conflicts: 3 };
      assert.ok(await a.transition({ stateId: m.stateId, expect: { status: 'new', updatedAt: 1000 }, set: { polling, gauges: { queue_size: 12 }, conflictAlerted: true, conflictsTotal: 3, updatedAt: 1001 } }));
      const read = (await b.getMonitor(m.id))!;
      assert.deepEqual(read.polling, polling);
      assert.deepEqual(read.gauges, { queue_size: 12 });
      assert.equal(read.conflictAlerted, true);
      assert.equal(read.conflictsTotal, 3);
    });

    it("keeps each state's bot signals and finds the states that have some (migration 011)", async () => {
      const m = await a.createMonitor(heartbeat('hook-bot', { updateLagMs: 30_000, updateLagForMs: 120_000 }), 1000);
      assert.equal(m.signals, null);
      assert.deepEqual([m.updateLagMs, m.updateLagForMs], [30_000, 120_000]);
      const signals = {
        webhook: { checkedAt: 1000, urlSet: true, pendingUpdateCount: 57, lastErrorAt: 900, lastErrorMessage: 'Connection refused', checkError: null },
        minutes: [{ start: 0, updates: 3, dated: 3, lagP50: 1, lagP95: 2, lagMax: 3, throttled: 1, retryAfterSeconds: 5, methods: { sendMessage: 1 } }],
        judgedUpTo: 0,
        rules: { webhook: { state: 'firing' as const, since: 1000, value: 57, detail: 'failing' }, update_lag: { state: 'inactive' as const, since: null, value: null, detail: null }, throttled: { state: 'pending' as const, since: 0, value: 5, detail: null } },
        totals: { updates: 3, throttled: 1, retryAfterSeconds: 5 },
        ignored: { count: 0, last: null, at: null },
      };
      assert.equal(await a.countMonitors({ projectId: project.id, withSignals: true }), 0);
      assert.ok(await a.transition({ stateId: m.stateId, expect: { status: 'new', updatedAt: 1000 }, set: { signals, updatedAt: 1001 } }));
      assert.deepEqual((await b.getMonitor(m.id))!.signals, signals);
      assert.deepEqual((await b.listMonitors({ projectId: project.id, withSignals: true })).map((s) => s.slug), ['hook-bot']);
      const edited = await b.updateSettings(m.id, () => ({ set: { updateLagMs: 0 }, manual: ['updateLagMs'] }), 1002);
      assert.equal(edited!.updateLagMs, 0, '0: the lag rule is off for this monitor');
    });

    it('postpones deadlines of judged monitors to a given time, never earlier, never for down ones', async () => {
      const make = async (slug: string, status: Monitor['status'], deadline: number) => {
        const m = await a.createMonitor(heartbeat(slug), 1);
        assert.ok(await a.transition({ stateId: m.stateId, expect: { status: 'new', updatedAt: 1 }, set: { status, deadline, updatedAt: 2 } }));
        return m.id;
      };
      const early = await make('early', 'up', 1000);
      const late = await make('late-one', 'late', 1500);
      const far = await make('far', 'up', 9_000_000_000_000);
      const down = await make('down', 'down', 1000);
      await b.postponeDeadlines((m) => (m.status === 'late' ? 70_000 : 50_000));
      assert.equal((await a.getMonitor(early))!.deadline, 50_000);
      assert.equal((await a.getMonitor(late))!.deadline, 70_000);
      assert.equal((await a.getMonitor(far))!.deadline, 9_000_000_000_000);
      assert.equal((await a.getMonitor(down))!.deadline, 1000);
    });

    it('persists values such as the raw-item cursor, visible to every connection', async () => {
      const key = `cursor:check_in:${project.id}`;
      assert.equal(await a.getValue(key), null);
      await a.setValue(key, '41');
      await a.setValue(key, '42');
      assert.equal(await b.getValue(key), '42');
    });

    it('merges per-minute histograms by adding counts, reads a range, prunes old minutes', async () => {
      const minute = 60_000 * (27_000_000 + seq);
      await a.addLatency(project.id, minute, [1, 2, 0], 3, 30);
      await b.addLatency(project.id, minute, [0, 1, 4, 5], 10, 100);
      await a.addLatency(project.id, minute + 60_000, [7], 7, 70);
      const rows = await b.latency(project.id, minute, minute + 60_000);
      assert.deepEqual(rows.map((r) => [r.minute, r.buckets, r.count, r.sumMs]), [[minute, [1, 3, 4, 5], 13, 130], [minute + 60_000, [7], 7, 70]]);
      assert.deepEqual((await b.latency(project.id, minute + 60_000, minute + 120_000)).map((r) => r.minute), [minute + 60_000]);
      assert.ok((await a.pruneLatency(minute + 60_000)) >= 1);
      assert.deepEqual((await b.latency(project.id, 0, minute + 120_000)).map((r) => r.minute), [minute + 60_000]);
    });

    it('claims each due notification once across connections and finishes it', async () => {
      const n = await a.enqueue({ projectId: project.id, monitorId: null, fingerprint: `rule:${project.id}:latency`, kind: 'threshold_firing', text: 'p95', payload: {}, createdAt: 1000 });
      const [ca, cb] = await Promise.all([a.claimNotifications('w-a', 2000, 10_000, 1000), b.claimNotifications('w-b', 2000, 10_000, 1000)]);
      const mine = [...ca, ...cb].filter((x) => x.id === n.id);
      assert.equal(mine.length, 1, 'claimed by exactly one worker');
      assert.equal(mine[0]!.attempts, 1);
      const owner = ca.some((x) => x.id === n.id) ? 'w-a' : 'w-b';
      assert.ok(!(await a.claimNotifications('w-c', 3000, 10_000, 1000)).some((x) => x.id === n.id), 'a live claim is respected');
      const retaken = await b.claimNotifications('w-c', 20_000, 10_000, 1000);
      assert.ok(retaken.some((x) => x.id === n.id), 'an expired claim is taken over');
      await a.finishNotification(n.id, owner, { status: 'sent', doneTargets: ['telegram:1'], sentAt: 2500 });
      assert.equal((await b.notifications({ projectId: project.id }))[0]!.status, 'pending', 'only the current claimant finishes it');
      await a.finishNotification(n.id, 'w-c', { status: 'sent', doneTargets: ['telegram:1'], sentAt: 21_000 });
      const done = (await b.notifications({ projectId: project.id }))[0]!;
      assert.equal(done.status, 'sent');
      assert.deepEqual(done.doneTargets, ['telegram:1']);
      assert.equal(done.sentAt, 21_000);
      assert.ok(!(await a.claimNotifications('w-d', 99_000, 10_000, 1000)).some((x) => x.id === n.id), 'a sent notification is never claimed again');
    });

    it('two stores racing for one due notification at the same moment: exactly one claims it, every time', async () => {
      for (let round = 0; round < 20; round++) {
        const n = await a.enqueue({ projectId: project.id, monitorId: null, fingerprint: `race:${round}`, kind: 'down', text: 'down', payload: {}, createdAt: 1000 });
        const [ca, cb] = await Promise.all([a.claimNotifications('w-a', 2000, 10_000, 1000), b.claimNotifications('w-b', 2000, 10_000, 1000)]);
        assert.equal([...ca, ...cb].filter((x) => x.id === n.id).length, 1, `round ${round}: claimed by exactly one store`);
        for (const [worker, claimed] of [['w-a', ca], ['w-b', cb]] as const) {
          for (const c of claimed) await a.finishNotification(c.id, worker, { status: 'sent', doneTargets: [], sentAt: 2000 });
        }
      }
    });

    it('keeps threshold rule states per fingerprint', async () => {
      const fp = `rule:${project.id}:latency`;
      await a.setRuleState({ fingerprint: fp, projectId: project.id, rule: 'latency', state: 'pending', since: 1000, value: 1200, updatedAt: 1000 });
      await b.setRuleState({ fingerprint: fp, projectId: project.id, rule: 'latency', state: 'firing', since: 1000, value: 1500, updatedAt: 2000 });
      assert.deepEqual(await a.getRuleState(fp), { fingerprint: fp, projectId: project.id, rule: 'latency', state: 'firing', since: 1000, value: 1500, updatedAt: 2000 });
      assert.deepEqual((await a.ruleStates({ projectId: project.id })).map((r) => r.fingerprint), [fp]);
      const age = `rule:${project.id}:heartbeat_age:7`;
      await a.setRuleState({ fingerprint: age, projectId: project.id, rule: 'heartbeat_age', state: 'inactive', since: null, value: 3, updatedAt: 3000 });
      assert.deepEqual((await b.ruleStates({ projectId: project.id, rule: 'heartbeat_age' })).map((r) => r.fingerprint), [age]);
      assert.deepEqual(await b.ruleStates({ projectId: project.id, rule: 'heartbeat_age', activeOnly: true }), [], 'inactive rules left out');
      assert.deepEqual((await b.ruleStates({ activeOnly: true })).map((r) => r.fingerprint), [fp]);
    });

    it('lists and counts monitors by state and last ping without reading the others', async () => {
      const quiet = await a.createMonitor(heartbeat('quiet'), 1000);
      const chatty = await a.createMonitor(heartbeat('chatty'), 1000);
      const paused = await a.createMonitor(heartbeat('paused'), 1000);
      assert.ok(await a.transition(flipTo(quiet, 'up', 1500, { lastPingAt: 1500 })));
      assert.ok(await a.transition(flipTo(chatty, 'up', 9000, { lastPingAt: 9000 })));
      assert.ok(await a.transition(flipTo(paused, 'paused', 1200, { lastPingAt: 1200 })));
      const mine = { projectId: project.id, kind: 'heartbeat' as const };
      assert.deepEqual((await b.listMonitors({ ...mine, active: true, pingedBefore: 5000 })).map((m) => m.slug), ['quiet'], 'paused, fresh and never-pinged monitors left out');
      assert.equal(await b.countMonitors({ ...mine, status: 'up' }), 2);
      assert.equal(await b.countMonitors({ ...mine, status: 'down' }), 0);
      assert.equal(await b.countMonitors({ projectId: project.id }), (await b.listMonitors({ projectId: project.id })).length);
      const page1 = await b.listMonitors({ ...mine, afterStateId: 0, limit: 2 });
      assert.deepEqual(page1.map((m) => m.slug), ['quiet', 'chatty'], 'a page: by state id, at most limit');
      assert.deepEqual((await b.listMonitors({ ...mine, afterStateId: page1.at(-1)!.stateId, limit: 2 })).map((m) => m.slug), ['paused']);
    });

    it('keeps one state per environment: the first environment adopts the state the monitor was made with, others start new', async () => {
      const m = await a.createMonitor(heartbeat('poller'), 1000);
      assert.equal(m.environment, null);
      assert.ok(await a.transition(flipTo(m, 'up', 1500, { lastPingAt: 1500, deadline: 30_000 })));
      const prod = await b.ensureEnvironment(m.id, 'production', 2000);
      assert.equal(prod.stateId, m.stateId, 'the unassigned state is adopted, with its status and deadline');
      assert.equal(prod.environment, 'production');
      assert.equal(prod.status, 'up');
      assert.equal(prod.deadline, 30_000);
      const [staging, again] = await Promise.all([a.ensureEnvironment(m.id, 'staging', 2500), b.ensureEnvironment(m.id, 'staging', 2500)]);
      assert.equal(staging.stateId, again.stateId, 'two connections create one state');
      assert.notEqual(staging.stateId, prod.stateId);
      assert.equal(staging.status, 'new');
      assert.equal(staging.deadline, null);
      assert.equal(staging.periodMs, 20_000, 'settings are the monitor\'s');
      assert.ok(await a.transition(flipTo(staging, 'down', 3000)));
      assert.equal((await b.getState(prod.stateId))!.status, 'up', 'one environment going down leaves the other alone');
      assert.deepEqual((await b.monitorStates(m.id)).map((s) => [s.environment, s.status]), [['production', 'up'], ['staging', 'down']]);
      assert.deepEqual((await b.listMonitors({ projectId: project.id })).map((s) => [s.slug, s.environment]), [['poller', 'production'], ['poller', 'staging']]);
      assert.equal((await b.findMonitor(project.id, 'poller', 'staging'))!.stateId, staging.stateId);
      assert.equal(await b.findMonitor(project.id, 'poller', 'dev'), null);
      assert.equal((await b.getMonitor(m.id))!.stateId, prod.stateId, 'getMonitor: the first state');
      assert.deepEqual((await b.flips(m.id)).map((f) => [f.environment, f.to]), [['staging', 'down'], ['production', 'up']]);
      assert.equal(await b.countMonitors({ projectId: project.id, status: 'down' }), 1);
      assert.equal(await b.countProjectMonitors(project.id), 1, 'one monitor, two states');
      await a.deleteMonitor(m.id);
      assert.deepEqual(await b.monitorStates(m.id), []);
    });

    it('reads all monitors in pages of whole monitors (every environment of a monitor in one page)', async () => {
      const made = [];
      for (const slug of ['p1', 'p2', 'p3', 'p4', 'p5']) made.push(await a.createMonitor(heartbeat(slug), 1000));
      await a.ensureEnvironment(made[1]!.id, 'production', 1100);
      await a.ensureEnvironment(made[1]!.id, 'staging', 1200);
      const pages: [string, string | null][][] = [];
      for (let after = made[0]!.id - 1; ; ) {
        const page = (await b.monitorsAfter(after, 2)).filter((m) => m.projectId === project.id);
        if (page.length === 0) break;
        pages.push(page.map((m) => [m.slug, m.environment]));
        after = page.at(-1)!.id;
      }
      assert.deepEqual(pages, [[['p1', null], ['p2', 'production'], ['p2', 'staging']], [['p3', null], ['p4', null]], [['p5', null]]]);
    });

    it('creates a new monitor only under the limit, counted with the creation in one transaction', async () => {
      const limit = { max: 2, sources: ['checkin', 'ping'] as NewMonitor['source'][] };
      await a.createMonitor(heartbeat('by-api', { source: 'api' }), 1);
      const results = await Promise.all(['x', 'y', 'z', 'w'].map((slug, i) => (i % 2 ? a : b).ensureMonitor(heartbeat(slug, { source: 'checkin' }), 2, limit)));
      assert.equal(results.filter((r) => r.created).length, 2, 'two of four created, across two connections');
      assert.equal(results.filter((r) => r.monitor === null).length, 2);
      assert.equal(await a.countProjectMonitors(project.id, ['checkin', 'ping']), 2);
      const known = await b.ensureMonitor(heartbeat(results.find((r) => r.created)!.monitor!.slug), 3, limit);
      assert.ok(known.monitor, 'an existing monitor is found at the limit');
    });

    it('changes settings in one step and remembers which ones a person set', async () => {
      const m = await a.createMonitor(heartbeat('cron', { source: 'checkin' }), 1);
      assert.deepEqual(m.manualFields, []);
      const edited = await b.updateSettings(m.id, () => ({ set: { periodMs: 90_000, schedule: '0 * * * *' }, manual: ['periodMs', 'schedule'] }), 5);
      assert.equal(edited!.periodMs, 90_000);
      assert.deepEqual(edited!.manualFields, ['periodMs', 'schedule']);
      const back = await a.updateSettings(m.id, (current) => ({ set: { graceMs: current.graceMs + 1 }, unmanual: ['schedule'] }), 6);
      assert.deepEqual(back!.manualFields, ['periodMs']);
      assert.equal(back!.graceMs, 10_001);
      assert.equal(back!.schedule, '0 * * * *', 'a setting given back keeps its value');
      assert.equal(await a.updateSettings(999_999_999, () => ({ set: {} }), 7), null);
      await assert.rejects(a.updateSettings(m.id, () => ({ set: { status: 'up' } as never }), 8));
    });

    it('counts refused check-ins per project and reason, atomically', async () => {
      await Promise.all([a.countRefusal(project.id, 'limit', 1000, 'a', 'limit 2'), b.countRefusal(project.id, 'limit', 2000, 'b', 'limit 2', 5), a.countRefusal(project.id, 'slug', 1500, null, 'empty slug')]);
      const rows = await b.refusals(project.id);
      assert.deepEqual(rows.map((r) => [r.reason, r.count]), [['limit', 6], ['slug', 1]]);
      const limit = rows.find((r) => r.reason === 'limit')!;
      assert.equal(limit.firstAt, 1000);
      assert.ok(limit.lastAt >= 1000);
      assert.ok((await a.refusals()).some((r) => r.projectId === project.id));
      // Processes report in any order: a refusal seen earlier but counted later is still the first, not the last.
      await b.countRefusal(project.id, 'schedule', 5000, 'late', 'bad cron');
      await a.countRefusal(project.id, 'schedule', 4000, 'early', 'bad cron');
      const schedule = (await b.refusals(project.id)).find((r) => r.reason === 'schedule')!;
      assert.deepEqual([schedule.count, schedule.firstAt, schedule.lastAt, schedule.lastSlug], [2, 4000, 5000, 'late']);
    });
  });
}
