// The monitor notifier forwards `monitor_notifications` rows into the alert outbox: exactly once
// even when the process dies between the outbox insert and the notification's mark, and with the
// decisions it always made (inhibition, silences, disabled and migrated chats, no target).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeTelegram } from '@botpulse/fake-telegram';
import { pino } from 'pino';
import { createAlerting, type Alerting } from '../alerts/alerting.js';
import { alertStoreFor } from '../main.js';
import { loadConfig, type Config } from '../config/load.js';
import { failures } from '../lib/failures.js';
import type { Project } from '../store/model.js';
import type { MonitorStore, NewNotification, Notification } from '../store/monitors.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { SqliteMonitorStore } from '../store/sqlite/monitors.js';
import { ManualClock } from './clock.js';
import { forwardedDelivery, MonitorNotifier, notificationFingerprint } from './notify.js';

const CHAT = '-1005550001';
const HOOK = 'http://127.0.0.1:9/botpulse';

describe('monitor notifications forwarded to the alert outbox', () => {
  let dir: string;
  let tg: FakeTelegram;
  let store: SqliteStore;
  let monitors: SqliteMonitorStore;
  let alerting: Alerting;
  let config: Config;
  let project: Project;
  const clock = new ManualClock(Date.now());
  const down = new Set<number>();
  /** Set to make finishNotification fail, as if the process died right after the outbox insert. */
  let dying = false;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-notify-'));
    tg = await FakeTelegram.start();
    config = loadConfig({
      BOTPULSE_DATA_DIR: dir,
      BOTPULSE_LOG_LEVEL: 'silent',
      BOTPULSE_TELEGRAM_TOKEN: tg.createBot().token,
      BOTPULSE_TELEGRAM_API_ROOT: tg.apiRoot,
      BOTPULSE_TELEGRAM_UPDATES: 'off',
      BOTPULSE_ALERT_WEBHOOK_URL: HOOK,
      ERROR_ALERT_CHAT_ID: CHAT,
    });
    store = await SqliteStore.open(join(dir, 'botpulse.db'));
    monitors = new SqliteMonitorStore(store.db);
    alerting = createAlerting(config, store, alertStoreFor(store), pino({ level: 'silent' })); // the sender is not started: rows stay pending
    project = await store.createProject({ name: 'Pay Bot', slug: 'pay-bot', shortIdPrefix: 'PAY' });
  });
  after(async () => {
    await store.close();
    await tg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const notifier = (notifications: MonitorStore = monitors) =>
    new MonitorNotifier({ store, monitors: notifications, alerting, clock, logger: pino({ level: 'silent' }), workerId: 'w-1', projectDown: async (id) => down.has(id) });
  const notify = (kind: string, over: Partial<NewNotification> = {}): Promise<Notification> =>
    monitors.enqueue({ projectId: project.id, monitorId: 1, fingerprint: 'monitor:1', kind, text: `<b>${kind}</b>`, payload: { kind, monitor: 'pay' }, createdAt: clock.now(), ...over });
  const record = async (id: number) => (await monitors.notifications({ projectId: project.id, limit: 500 })).find((n) => n.id === id)!;
  const rowsOf = (id: number) => alerting.alerts.outbox({ dedupeKeyPrefix: `${notificationFingerprint(id)}:` });

  it('enqueues one row per destination with the text in its body, due at once, and marks the notification forwarded', async () => {
    const n = await notify('down');
    const before = Date.now();
    await notifier().deliverDue();
    const rows = await rowsOf(n.id);
    assert.deepEqual(rows.map((r) => [r.channel, r.target, r.status]), [['telegram', CHAT, 'pending'], ['webhook', HOOK, 'pending']]);
    for (const r of rows) {
      assert.deepEqual(r.body, { kind: 'down', text: '<b>down</b>', payload: { kind: 'down', monitor: 'pay' }, monitorId: 1, notificationId: n.id });
      assert.equal(r.fingerprint, `monitor-notification:${n.id}`);
      assert.equal(r.issueId, null);
      assert.equal(r.tier, 'critical');
      assert.deepEqual(r.reasons, ['monitor']);
      assert.ok(r.notBefore >= before && r.notBefore <= Date.now() && r.notBefore === r.createdAt, 'due at once, on the wall clock');
    }
    const done = await record(n.id);
    assert.equal(done.status, 'forwarded');
    assert.deepEqual(done.doneTargets, [`telegram:${CHAT}`, `webhook:${HOOK}`]);
    const recovered = await notify('recovered');
    await notifier().deliverDue();
    assert.deepEqual((await rowsOf(recovered.id)).map((r) => r.tier), ['alert', 'alert'], 'a recovery is not critical');

    // The dashboard shows a forwarded notification's delivery as its outbox rows tell it.
    assert.equal(await forwardedDelivery(alerting.alerts, n.id), 'pending');
    const claimed = (await alerting.alerts.claimDue('w-send', Date.now(), { leaseMs: 10_000, maxPerMessage: 8, paceMs: 0, groupPerMinute: 100 })).flat();
    assert.deepEqual(claimed.map((r) => r.body?.kind), ['down', 'recovered', 'down', 'recovered'], 'both targets, in order');
    await alerting.alerts.markSent('w-send', claimed, { sentAt: Date.now(), messageId: null, sentIds: claimed.map((r) => r.id), collapsedIds: [], states: [], message: null });
    assert.equal(await forwardedDelivery(alerting.alerts, n.id), 'sent');
    assert.equal(await forwardedDelivery(alerting.alerts, 999_999), null);
  });

  it('forwards exactly once when the process dies between the outbox insert and the mark', async () => {
    const dies: MonitorStore = new Proxy(monitors, {
      get(target, prop, receiver) {
        if (prop === 'finishNotification' && dying) return async () => Promise.reject(new Error('process died'));
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const n = await notify('deaf');
    dying = true;
    const first = notifier(dies);
    const unrecorded = failures.get('monitor_notify');
    await first.deliverDue();
    dying = false;
    assert.equal((await rowsOf(n.id)).length, 2, 'the rows reached the outbox');
    assert.equal((await record(n.id)).status, 'pending', 'but the notification was never marked');
    assert.equal(first.failed, 1);
    assert.equal(failures.get('monitor_notify') - unrecorded, 1, 'nor its retry: counted (botpulse_failures_total), not swallowed');

    await notifier().deliverDue();
    assert.equal((await record(n.id)).status, 'pending', 'a live claim is respected');
    clock.advance(61_000); // the dead process's claim expires
    const second = notifier();
    await second.deliverDue();
    const done = await record(n.id);
    assert.equal(done.status, 'forwarded');
    assert.deepEqual(done.doneTargets.sort(), [`telegram:${CHAT}`, `webhook:${HOOK}`].sort());
    assert.equal((await rowsOf(n.id)).length, 2, 'forwarded again: no second row');
    assert.equal(second.forwarded, 1);
  });

  it('holds what it always held: inhibited while the bot is down, silenced, a recovery of a held failure, expired', async () => {
    down.add(project.id);
    const probeDown = await notify('uptime_down', { monitorId: 2, fingerprint: 'monitor:2' });
    const botDown = await notify('down');
    await notifier().deliverDue();
    assert.equal((await record(probeDown.id)).status, 'inhibited');
    assert.equal((await record(botDown.id)).status, 'forwarded', 'the bot going down is never inhibited');
    down.delete(project.id);
    const probeUp = await notify('uptime_up', { monitorId: 2, fingerprint: 'monitor:2' });
    await notifier().deliverDue();
    assert.equal((await record(probeUp.id)).status, 'inhibited', 'its failure was never announced');
    assert.deepEqual(await rowsOf(probeDown.id), []);
    assert.deepEqual(await rowsOf(probeUp.id), []);

    const silence = await alerting.alerts.addSilence({ projectId: project.id, issueId: null, endsAt: Date.now() + 60_000, createdBy: 'test', reason: null, createdAt: Date.now() });
    const quiet = await notify('threshold_firing', { monitorId: null, fingerprint: 'rule:1:queue_depth' });
    await notifier().deliverDue();
    await alerting.alerts.removeSilence(silence.id);
    assert.equal((await record(quiet.id)).status, 'silenced');
    assert.deepEqual(await rowsOf(quiet.id), []);

    const old = await notify('down', { createdAt: clock.now() - 25 * 3_600_000 });
    await notifier().deliverDue();
    assert.equal((await record(old.id)).status, 'failed');
    assert.equal((await record(old.id)).lastError, 'expired after 24 h');
  });

  it('skips disabled targets, follows a migrated chat, and says no_target when nothing is left', async () => {
    await alerting.alerts.migrateTarget('telegram', CHAT, '-1005550002', Date.now());
    const moved = await notify('down');
    await notifier().deliverDue();
    const rows = await rowsOf(moved.id);
    assert.deepEqual(rows.map((r) => [r.channel, r.target, r.dedupeKey]), [
      ['telegram', '-1005550002', `monitor-notification:${moved.id}:telegram:${CHAT}`],
      ['webhook', HOOK, `monitor-notification:${moved.id}:webhook:${HOOK}`],
    ]);

    await alerting.alerts.disableTarget('telegram', '-1005550002', '403 Forbidden: bot was kicked', Date.now());
    assert.equal(await forwardedDelivery(alerting.alerts, moved.id), 'pending', 'the webhook row still waits');
    await alerting.alerts.disableTarget('webhook', HOOK, 'webhook answered HTTP 410', Date.now());
    assert.equal(await forwardedDelivery(alerting.alerts, moved.id), 'failed');
    const nowhere = await notify('down');
    await notifier().deliverDue();
    assert.equal((await record(nowhere.id)).status, 'no_target');
    assert.deepEqual(await rowsOf(nowhere.id), []);
  });
});
