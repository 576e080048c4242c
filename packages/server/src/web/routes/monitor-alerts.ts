import { outboxDelivery } from '../../monitors/notify.js';
import type { AlertLogEntry, AlertStore } from '../../store/alerts.js';
import type { Store } from '../../store/store.js';
import type { ShownAlert } from '../views/monitor-uptime.js';

/**
 * The issue alerts of the monitors page as they went: an `enqueued` decision is shown with its
 * outbox rows' delivery (sent, still pending, failed), found by the decision's fingerprint and
 * time; each issue named by its short id (`B-003`).
 */
export async function shownAlerts(store: Pick<Store, 'getIssue'>, alerts: Pick<AlertStore, 'outbox'>, log: AlertLogEntry[]): Promise<ShownAlert[]> {
  const shortIds = new Map<number, string | null>();
  for (const id of new Set(log.flatMap((e) => (e.issueId === null ? [] : [e.issueId])))) shortIds.set(id, (await store.getIssue(id))?.shortId ?? null);
  return Promise.all(
    log.map(async (e) => ({
      ...e,
      shortId: e.issueId === null ? null : (shortIds.get(e.issueId) ?? null),
      // Rows past the outbox's retention are gone: the decision is then all that is known.
      delivery: e.outcome === 'enqueued' ? outboxDelivery(await alerts.outbox({ fingerprint: e.fingerprint, createdAt: e.at, limit: 50 })) : null,
    })),
  );
}
