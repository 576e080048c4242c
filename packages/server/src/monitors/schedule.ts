import type { Monitor } from '../store/monitors.js';

/**
 * When the next ping is due. Interval monitors: one period after this ping. Cron monitors: the
 * next match of the schedule, computed in the monitor's time zone (so "0 9 * * *" in
 * Europe/Moscow is 09:00 there across DST changes), as Healthchecks and Sentry Crons do.
 */
export function nextExpectedAt(m: Pick<Monitor, 'periodMs' | 'schedule' | 'timezone'>, after: number): number {
  if (!m.schedule) return after + m.periodMs;
  return nextCronMatch(parseCron(m.schedule), after, m.timezone ?? 'UTC') ?? after + m.periodMs;
}

export interface Cron {
  minute: Set<number>;
  hour: Set<number>;
  day: Set<number>;
  month: Set<number>;
  weekday: Set<number>;
  /** Cron's rule: when both day fields are restricted, either one matching is enough. */
  dayOr: boolean;
}

const RANGES: [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

/** Parses 5 fields of `*`, `a`, `a-b`, `*\/n`, `a-b/n` and lists of them. Throws on anything else. */
export function parseCron(expression: string): Cron {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`cron "${expression}" needs 5 fields (minute hour day month weekday)`);
  const sets = fields.map((field, i) => parseField(field, RANGES[i]!, expression));
  const weekday = new Set([...sets[4]!].map((d) => d % 7));
  return { minute: sets[0]!, hour: sets[1]!, day: sets[2]!, month: sets[3]!, weekday, dayOr: fields[2] !== '*' && fields[4] !== '*' };
}

function parseField(field: string, [min, max]: [number, number], expression: string): Set<number> {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`cron "${expression}": cannot read "${part}"`);
    const from = m[1] === '*' ? min : Number(m[2]);
    const to = m[1] === '*' ? max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : from;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (from < min || to > max || from > to || step < 1) throw new Error(`cron "${expression}": "${part}" is out of range ${min}-${max}`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function partsIn(timeZone: string, at: number): { minute: number; hour: number; day: number; month: number; weekday: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', minute: 'numeric', hour: 'numeric', day: 'numeric', month: 'numeric', weekday: 'short' });
    formatters.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  return { minute: Number(p['minute']), hour: Number(p['hour']), day: Number(p['day']), month: Number(p['month']), weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(p['weekday'] ?? '') };
}

/** The first minute after `after` that matches, looking at most 366 days ahead. */
export function nextCronMatch(cron: Cron, after: number, timeZone: string): number | null {
  let at = Math.floor(after / 60_000) * 60_000 + 60_000;
  for (let i = 0; i < 366 * 24 * 60; i++, at += 60_000) {
    const p = partsIn(timeZone, at);
    if (!cron.month.has(p.month)) continue;
    const dayOk = cron.dayOr ? cron.day.has(p.day) || cron.weekday.has(p.weekday) : cron.day.has(p.day) && cron.weekday.has(p.weekday);
    if (dayOk && cron.hour.has(p.hour) && cron.minute.has(p.minute)) return at;
  }
  return null;
}
