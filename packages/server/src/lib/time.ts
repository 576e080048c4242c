import { ClientError } from './errors.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `5m`, `1h`, `24h`, `7d` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(text);
  if (!m) throw new ClientError(400, `"${text}" is not a duration; use e.g. 30m, 1h, 24h or 7d`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!);
}

/** An ISO 8601 time or milliseconds since the epoch → milliseconds. */
export function parseTime(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new ClientError(400, `"${text}" is not a time; use ISO 8601 or epoch milliseconds`);
  return ms;
}
