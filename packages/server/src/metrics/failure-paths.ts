import { Gauge, type Registry } from 'prom-client';
import type { DigestWorker } from '../digest/worker.js';
import { failures } from '../lib/failures.js';
import type { Store } from '../store/store.js';
import type { LineWorkerHealth } from '../logs/line-worker.js';
import { mirroredCounter } from './mirrored-counter.js';

/**
 * The failures the server handles by carrying on (docs/architecture.md "Failure paths (audit)"):
 * each is logged where it happens and counted here, so it shows in /metrics too.
 */
export function failurePathMetrics(register: Registry, deps: { digest: DigestWorker; store?: Store; logLines?: (() => LineWorkerHealth) | undefined }): void {
  mirroredCounter(register, {
    name: 'botpulse_failures_total',
    help: 'Failures the server logged and carried on from, by site (retention, session_prune, stored_alert_rules, alert_outbox_turn, alert_sent_unrecorded, alert_bot_poll, alert_bot_update, monitor_tick, ...; docs/architecture.md "Failure paths (audit)").',
    labelNames: ['site'],
    read: () => failures.entries().map(([site, n]) => [{ site }, n]),
  });
  mirroredCounter(register, {
    name: 'botpulse_digest_thread_restarts_total',
    help: 'Times the digest thread died and was started again (its batch waited in the spool).',
    read: () => deps.digest.health().threadRestarts,
  });
  new Gauge({
    name: 'botpulse_digest_thread_up',
    help: '1 while the digest thread runs, 0 while it is dead and waiting for its restart.',
    registers: [register],
    collect() {
      this.set(deps.digest.health().threadDown ? 0 : 1);
    },
  });
  mirroredCounter(register, {
    name: 'botpulse_digest_batch_failures_total',
    help: 'Digest batches that failed because the database did (busy, full, I/O); their rows stayed in the spool and were tried again.',
    read: () => deps.digest.health().batchFailures,
  });
  mirroredCounter(register, {
    name: 'botpulse_digest_payloads_read_total',
    help: 'PostgreSQL: spool rows whose payload the digest read back from the database because this process had not handed it over in memory (appended by another process, or before a restart). 0 for rows this process accepted.',
    read: () => deps.digest.health().payloadsRead,
  });
  const logLines = deps.logLines;
  if (logLines) {
    mirroredCounter(register, {
      name: 'botpulse_log_thread_restarts_total',
      help: 'Times the log-line thread (parse, scrub, templates) died and was started again; the batches it held were answered 503.',
      read: () => logLines().threadRestarts,
    });
    new Gauge({
      name: 'botpulse_log_thread_up',
      help: '1 while the log-line thread runs, 0 while it is dead and waiting for its restart (log batches are answered 503 meanwhile).',
      registers: [register],
      collect() {
        this.set(logLines().threadDown ? 0 : 1);
      },
    });
    mirroredCounter(register, {
      name: 'botpulse_log_thread_batches_refused_total',
      help: 'Log batches the log-line thread did not take, by why: failed (an error in the thread: 500), full (its queue was full: 503), died (it died holding them: 503). None was answered 200.',
      labelNames: ['why'],
      read: () => {
        const h = logLines();
        return [
          [{ why: 'failed' }, h.failures],
          [{ why: 'full' }, h.refusedFull],
          [{ why: 'died' }, h.lostInThread],
        ];
      },
    });
    mirroredCounter(register, {
      name: 'botpulse_log_lines_untemplated_total',
      help: "Lines of Sentry log items stored without a template because the log-line thread could not give them one (restarting, full or failed); kept, since a Sentry SDK does not resend a refused envelope.",
      read: () => logLines().untemplatedLines,
    });
  }
  const store = deps.store;
  if (store) {
    new Gauge({
      name: 'botpulse_digest_quarantined_rows',
      help: 'Spool rows the digest could not store and kept in digest_quarantine (they failed alone, in a transaction of their own).',
      registers: [register],
      async collect() {
        this.set((await store.quarantineSummary()).rows);
      },
    });
  }
}
