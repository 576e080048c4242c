import type { DigestHealth } from '../digest/worker.js';
import type { Store } from '../store/store.js';
import { ago, escapeHtml } from './channels/telegram/format.js';

/**
 * The digest's part of the alert bot's /status (main.ts hands it in with the monitors' lines) (Telegram HTML lines): nothing while all is well;
 * a line when the digest thread is down or has died since start, when batches failed because the
 * database did, and when rows sit in the quarantine (they failed alone and were kept, not stored).
 */
export async function digestStatusLines(health: DigestHealth, store: Pick<Store, 'quarantineSummary'>, now: number): Promise<string[]> {
  const lines: string[] = [];
  const exit = health.lastThreadExit;
  if (health.threadDown) lines.push(`🔴 Digest thread down (exit code ${exit?.code ?? '?'}${exit?.error ? `: ${escapeHtml(exit.error)}` : ''}); restarting it`);
  else if (exit) lines.push(`⚠️ Digest thread restarted ${health.threadRestarts} time${health.threadRestarts === 1 ? '' : 's'} since start, last ${ago(exit.at, now)} (exit code ${exit.code}${exit.error ? `: ${escapeHtml(exit.error)}` : ''})`);
  const failure = health.lastBatchFailure;
  if (failure) lines.push(`⚠️ ${health.batchFailures} digest batch${health.batchFailures === 1 ? '' : 'es'} failed since start, last ${ago(failure.at, now)}: ${escapeHtml(failure.error)} (rows waited in the spool)`);
  const quarantine = await store.quarantineSummary();
  if (quarantine.rows > 0) {
    const latest = quarantine.latest ? `; latest: ${escapeHtml(quarantine.latest.error)}` : '';
    lines.push(`⚠️ ${quarantine.rows} spooled row${quarantine.rows === 1 ? '' : 's'} could not be stored and ${quarantine.rows === 1 ? 'is' : 'are'} kept in the digest quarantine (table digest_quarantine, the log)${latest}`);
  }
  return lines;
}
