import { SIGNAL_NAMES, type Monitor, type MonitorStore, type SignalName } from '../store/monitors.js';
import type { Store } from '../store/store.js';
import { escapeHtml, humanDuration } from './format.js';
import { monitorUptime, percentText } from './uptime.js';

/**
 * The monitors part of the alert bot's /status (Telegram HTML lines), given to the alerts module
 * as its `statusExtras` provider: per project with monitors, how many are up, late, down, new or
 * paused (naming the ones down or late), which bots are deaf, and the latest ping. Each monitor
 * counts once per environment (a monitor down in staging and up in production is one down, one
 * up), named with its environment. Then the lowest 30-day uptime among the project's monitors,
 * naming those below the target (BOTPULSE_UPTIME_TARGET_PERCENT).
 */
export async function monitorStatusLines(store: Store, monitors: MonitorStore, now: number, uptimeTargetPercent = 99.5): Promise<string[]> {
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
    const signals = signalParts(list);
    const environments = [...new Set(list.map((m) => m.environment).filter((e): e is string => e !== null))];
    const lastPing = Math.max(0, ...list.map((m) => m.lastPingAt ?? 0));
    const firing = list.some((m) => m.signals && Object.values(m.signals.rules).some((r) => r.state === 'firing'));
    const mark = of('down').length ? '🔴' : of('late').length || firing ? '🟡' : '🟢';
    const uptime = await uptimePart(monitors, list, now, uptimeTargetPercent);
    lines.push(
      `${mark} <b>${escapeHtml(project.name)}</b>: ${parts.join(', ')}` +
        (deaf.length ? ` · deaf: ${deaf.map(label).join(', ')}` : '') +
        signals.map((s) => ` · ${s}`).join('') +
        (environments.length > 1 ? ` · environments: ${environments.map(escapeHtml).join(', ')}` : '') +
        ` · last ping ${lastPing ? `${humanDuration(now - lastPing)} ago` : 'never'}` +
        uptime,
    );
  }
  return lines;
}

/** ` · 30 d uptime 99.12 % (below 99.5 %: poller)`, the lowest of the project's monitors; empty if none was watched. */
async function uptimePart(monitors: MonitorStore, list: Monitor[], now: number, target: number): Promise<string> {
  const byMonitor = new Map(list.map((m) => [m.id, m]));
  const figures = await Promise.all([...byMonitor.values()].map(async (m) => ({ m, percent: (await monitorUptime(monitors, m.id, now, target)).uptime30d.percent })));
  const watched = figures.filter((f): f is { m: Monitor; percent: number } => f.percent !== null);
  if (!watched.length) return '';
  const lowest = Math.min(...watched.map((f) => f.percent));
  const below = watched.filter((f) => f.percent < target).map((f) => `<code>${escapeHtml(f.m.slug)}</code>`);
  return ` · 30 d uptime ${percentText(lowest)}${below.length ? ` (below ${target} %: ${below.join(', ')})` : ''}`;
}

/** `<code>poller</code>` or `<code>poller</code> (staging)`. */
function label(m: Pick<Monitor, 'slug' | 'environment'>): string {
  return `<code>${escapeHtml(m.slug)}</code>${m.environment ? ` (${escapeHtml(m.environment)})` : ''}`;
}

const SIGNAL_LABEL: Record<SignalName, string> = { webhook: 'webhook failing', update_lag: 'updates late', throttled: 'throttled by Telegram' };

/**
 * The bot signals of a project's monitors (docs/monitors.md, "Bot signals"): each alert firing,
 * named with its monitor and the number that decided it, then the worst current readings (most
 * updates waiting in a webhook, highest update lag p95 of a last minute, 429s in a last minute).
 */
function signalParts(list: Monitor[]): string[] {
  const parts: string[] = [];
  const reporting = list.filter((m) => m.signals);
  if (!reporting.length) return parts;
  for (const name of SIGNAL_NAMES) {
    const firing = reporting.filter((m) => m.signals!.rules[name].state === 'firing');
    if (firing.length) parts.push(`${SIGNAL_LABEL[name]}: ${firing.map((m) => `${label(m)}${valueOf(name, m.signals!.rules[name].value)}`).join(', ')}`);
  }
  const pending = Math.max(0, ...reporting.map((m) => m.signals!.webhook?.pendingUpdateCount ?? 0));
  if (pending > 0) parts.push(`webhook queue ${pending}`);
  const last = reporting.map((m) => m.signals!.minutes[m.signals!.minutes.length - 1]).filter((x) => x !== undefined);
  const lag = Math.max(0, ...last.map((x) => x.lagP95 ?? 0));
  if (last.length) parts.push(`update lag p95 ${Math.round(lag * 10) / 10} s`);
  const throttled = last.reduce((n, x) => n + x.throttled, 0);
  if (throttled) parts.push(`${throttled} × 429 last minute`);
  return parts;
}

function valueOf(name: SignalName, value: number | null): string {
  if (value === null) return '';
  if (name === 'webhook') return ` (${value} waiting)`;
  if (name === 'update_lag') return ` (p95 ${Math.round(value)} s)`;
  return ` (retry_after ${Math.round(value)} s/min)`;
}
