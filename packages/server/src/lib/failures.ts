import type { Logger } from 'pino';

/**
 * Failures the server handles by carrying on (a job retried at its next run, a stored setting
 * ignored, a button press that could not be answered): each is logged AND counted here, so an
 * operator sees it in `/metrics` (`botpulse_failures_total{site}`, metrics/registry.ts) even when
 * nobody reads the log. A failure that is rethrown, or that has a counter of its own (the alert
 * outbox's, the digest's), is not counted here as well.
 *
 * Process-wide like a log, not per server: the counts are read at scrape time, and a test that runs
 * several servers in one process compares counts before and after.
 */
export class FailureCounts {
  private readonly bySite = new Map<string, number>();

  count(site: FailureSite): void {
    this.bySite.set(site, (this.bySite.get(site) ?? 0) + 1);
  }

  get(site: FailureSite): number {
    return this.bySite.get(site) ?? 0;
  }

  entries(): [string, number][] {
    return [...this.bySite.entries()];
  }
}

export const failures = new FailureCounts();

/**
 * Where a handled failure happened: a closed list, so the metric's label values stay few and
 * docs/architecture.md "Failure paths (audit)" can name each.
 */
export type FailureSite =
  | 'retention'
  | 'issue_caps'
  | 'issue_status_fold'
  | 'spool_reclaim'
  | 'session_prune'
  | 'stored_alert_rules'
  | 'alert_outbox_turn'
  | 'alert_sent_unrecorded'
  | 'alert_unreadable_event'
  | 'alert_bot_poll'
  | 'alert_bot_update'
  | 'alert_bot_reply'
  | 'alert_bot_lease_release'
  | 'alert_engine_lease_release'
  | 'monitor_tick'
  | 'monitor_notify'
  | 'probe_history'
  | 'spool_resync'
  | 'digest_thread_message'
  | 'digest_hand_off'
  | 'metrics_collect'
  | 'github_turn'
  | 'project_delete'
  | 'log_rules'
  | 'shutdown'
  | 'upstream_turn'
  | 'upstream_lease_release'
  | 'upstream_thread';

/**
 * Logs `err` under `message` and counts it under `site`. `warn` for failures expected to pass on
 * their own (Telegram unreachable for a moment), `error` for the rest.
 */
export function reportFailure(
  logger: Pick<Logger, 'error' | 'warn'>,
  site: FailureSite,
  err: unknown,
  message: string,
  fields: Record<string, unknown> = {},
  level: 'error' | 'warn' = 'error',
): void {
  failures.count(site);
  logger[level]({ ...fields, err, site }, message);
}
