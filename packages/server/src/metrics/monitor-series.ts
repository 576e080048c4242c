import { LoopSlicer } from '../lib/loop-slicer.js';
import type { Monitor, MonitorStore } from '../store/monitors.js';

/**
 * The per-monitor families of `/metrics`, written page by page with a turn of the event loop
 * between pages (and sooner if a page takes long: LoopSlicer), so a scrape of 10,000 monitors never holds pings and ingestion for its whole
 * length (docs/performance.md "The event loop never stalls").
 *
 * Why not prom-client for these: its Registry formats each metric's series in one synchronous
 * loop (≈70,000 series took 130–260 ms alone, 0.65–1.26 s under the monitors benchmark's load).
 * These four families are written here in Prometheus' text format (0.0.4); every other metric stays
 * on prom-client's Registry, whose output this text is appended to.
 */
export const MONITOR_PAGE = 250;

interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  lines: string[];
}

export class MonitorSeries {
  constructor(
    private readonly store: MonitorStore,
    private readonly slugOf: (projectId: number) => Promise<string>,
    private readonly pageSize = MONITOR_PAGE,
  ) {}

  async render(): Promise<string> {
    const lastSeen = family('botpulse_heartbeat_last_seen_timestamp_seconds', 'gauge', 'Unix time of the last heartbeat of each heartbeat monitor (use time() - x for its age).');
    const status = family(
      'botpulse_monitor_status',
      'gauge',
      'Monitor state: one series per monitor, value 1, its current status (new, up, late, down, paused) in the status label; a monitor with several environments shows its worst one.',
    );
    const conflicts = family('botpulse_poller_conflicts_total', 'counter', '409 Conflicts of getUpdates reported by the bot SDK (two pollers on one token).');
    const health = family('botpulse_health_value', 'gauge', "Numeric fields of each uptime monitor's last /health answer (queue_size, ...).");
    const slicer = new LoopSlicer(this.pageSize);
    for (let after = 0; ; ) {
      const page = await this.store.monitorsAfter(after, this.pageSize);
      if (page.length === 0) break;
      after = page.at(-1)!.id;
      for (const m of perMonitor(page)) {
        const bot = await this.slugOf(m.projectId);
        const who = `bot="${escapeLabel(bot)}",monitor="${escapeLabel(m.slug)}"`;
        status.lines.push(`botpulse_monitor_status{${who},kind="${m.kind}",status="${m.status}"} 1`);
        if (m.kind === 'heartbeat') {
          if (m.lastPingAt !== null) lastSeen.lines.push(`botpulse_heartbeat_last_seen_timestamp_seconds{${who}} ${sampleValue(m.lastPingAt / 1000)}`);
          conflicts.lines.push(`botpulse_poller_conflicts_total{${who}} ${sampleValue(m.conflictsTotal)}`);
        } else {
          for (const [field, v] of Object.entries(m.gauges ?? {})) health.lines.push(`botpulse_health_value{${who},field="${escapeLabel(field)}"} ${sampleValue(v)}`);
        }
        await slicer.step();
      }
      if (page.length < this.pageSize) break;
    }
    return [lastSeen, status, conflicts, health].map(text).join('\n\n') + '\n';
  }
}

function family(name: string, type: Family['type'], help: string): Family {
  return { name, type, help, lines: [] };
}

function text(f: Family): string {
  return [`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`, ...f.lines].join('\n');
}

/** Label values in the text format: backslash, double quote and newline escaped. */
export function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

export function sampleValue(v: number): string {
  if (Number.isFinite(v)) return String(v);
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? '+Inf' : '-Inf';
}

const WORST_FIRST: Record<string, number> = { down: 0, late: 1, up: 2, new: 3, paused: 4 };

/**
 * One entry per monitor from the store's one per (monitor, environment): its worst environment's
 * status, its latest ping and all its 409s, so the per-monitor series stay one set per monitor
 * (the API and the dashboard show each environment).
 */
export function perMonitor(states: Monitor[]): Monitor[] {
  const byId = new Map<number, Monitor>();
  for (const s of states) {
    const seen = byId.get(s.id);
    if (!seen) {
      byId.set(s.id, s);
      continue;
    }
    const worst = (WORST_FIRST[s.status] ?? 9) < (WORST_FIRST[seen.status] ?? 9) ? s : seen;
    byId.set(s.id, { ...worst, lastPingAt: Math.max(seen.lastPingAt ?? 0, s.lastPingAt ?? 0) || null, conflictsTotal: seen.conflictsTotal + s.conflictsTotal });
  }
  return [...byId.values()];
}
