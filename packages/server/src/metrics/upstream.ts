import { Gauge, type Registry } from 'prom-client';
import type { ForwarderState } from '../upstream/forwarder.js';
import { mirroredCounter } from './mirrored-counter.js';

/**
 * Forwarding to the upstream Sentry (docs/upstream.md). Read from the forwarder at scrape time.
 * Backlog and rate limits are known to the process holding the forwarder lease; the others say 0.
 */
export function upstreamMetrics(register: Registry, state: () => ForwarderState): void {
  const counter = (name: string, help: string, label: string, values: (s: ForwarderState) => Record<string, number>) =>
    mirroredCounter(register, { name, help, labelNames: [label], read: () => Object.entries(values(state())).map(([value, n]) => [{ [label]: value }, n]) });
  counter('botpulse_upstream_sent_total', 'Items the upstream Sentry accepted, by kind (event, transaction, check_in, log).', 'kind', (s) => s.sent);
  counter('botpulse_upstream_dropped_total', 'Items answered 200 here that will never reach the upstream, by reason (backlog_full, rejected by the upstream as bad, unreadable).', 'reason', (s) => s.dropped);
  counter('botpulse_upstream_skipped_total', 'Items not forwarded by choice, by reason (disabled for the project or kind, sampled out, already forwarded by a Botpulse).', 'reason', (s) => s.skipped);
  mirroredCounter(register, { name: 'botpulse_upstream_failed_total', help: 'Sends that failed and will be retried (upstream unreachable, 5xx, 401/403/404).', read: () => state().failed });
  mirroredCounter(register, { name: 'botpulse_upstream_rate_limited_total', help: 'Sends the upstream answered 429; retried once its Retry-After / X-Sentry-Rate-Limits has passed.', read: () => state().rateLimited });
  new Gauge({ name: 'botpulse_upstream_backlog', help: 'Items waiting to be forwarded, by kind (bounded by BOTPULSE_UPSTREAM_BACKLOG_LIMIT).', labelNames: ['kind'], registers: [register], collect() {
    this.reset();
    for (const [kind, n] of Object.entries(state().backlog)) this.set({ kind }, n);
  } });
  new Gauge({ name: 'botpulse_upstream_rate_limited_until_seconds', help: 'Unix time until which the upstream rate-limits a category (`*`: all).', labelNames: ['category'], registers: [register], collect() {
    this.reset();
    for (const [category, until] of Object.entries(state().rateLimits)) this.set({ category }, until / 1000);
  } });
  new Gauge({ name: 'botpulse_upstream_owner', help: '1 if this process holds the forwarder lease (forwards for the database).', registers: [register], collect() {
    this.set(state().owner ? 1 : 0);
  } });
}
