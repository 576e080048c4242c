import type { Monitor, MonitorStore } from '../store/monitors.js';
import type { Store } from '../store/store.js';
import { escapeHtml, humanDuration } from './format.js';

/**
 * The monitors part of the alert bot's /status (Telegram HTML lines), given to the alerts module
 * as its `statusExtras` provider: per project with monitors, how many are up, late, down, new or
 * paused (naming the ones down or late), which bots are deaf, and the latest ping. Each monitor
 * counts once per environment (a monitor down in staging and up in production is one down, one
 * up), named with its environment.
 */
export async function monitorStatusLines(store: Store, monitors: MonitorStore, now: number): Promise<string[]> {
  const all = await monitors.listMonitors();
  if (!all.length) return ['<i>Monitors: none yet (ping /api/&lt;project&gt;/heartbeat/&lt;slug&gt; or send check-ins).</i>'];
  const lines: string[] = ['<b>Monitors</b>'];
  for (const project of await store.listProjects()) {
    const list = all.filter((m) => m.projectId === project.id);
    if (!list.length) continue;
    const of = (s: string) => list.filter((m) => m.status === s);
    const names = (s: string) => of(s).map(label).join(', ');
    const parts = [`${of('up').length} up`];
    if (of('late').length) parts.push(`${of('late').length} late (${names('late')})`);
    if (of('down').length) parts.push(`${of('down').length} down (${names('down')})`);
    if (of('new').length) parts.push(`${of('new').length} new`);
    if (of('paused').length) parts.push(`${of('paused').length} paused`);
    const deaf = list.filter((m) => m.status === 'down' && (m.downReason ?? '').startsWith('deaf'));
    const environments = [...new Set(list.map((m) => m.environment).filter((e): e is string => e !== null))];
    const lastPing = Math.max(0, ...list.map((m) => m.lastPingAt ?? 0));
    const mark = of('down').length ? '🔴' : of('late').length ? '🟡' : '🟢';
    lines.push(
      `${mark} <b>${escapeHtml(project.name)}</b>: ${parts.join(', ')}` +
        (deaf.length ? ` · deaf: ${deaf.map(label).join(', ')}` : '') +
        (environments.length > 1 ? ` · environments: ${environments.map(escapeHtml).join(', ')}` : '') +
        ` · last ping ${lastPing ? `${humanDuration(now - lastPing)} ago` : 'never'}`,
    );
  }
  return lines;
}

/** `<code>poller</code>` or `<code>poller</code> (staging)`. */
function label(m: Pick<Monitor, 'slug' | 'environment'>): string {
  return `<code>${escapeHtml(m.slug)}</code>${m.environment ? ` (${escapeHtml(m.environment)})` : ''}`;
}
