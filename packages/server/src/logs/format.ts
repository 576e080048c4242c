import type { RuleNotice } from './rules.js';

/** Telegram HTML for log rule notifications. Every value is escaped and cut; texts stay far below 4096 characters. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const LINE_CHARS = 300;

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** 30 s, 10 min, 2 h. */
export function windowText(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

export function noticeText(n: RuleNotice, project: string): string {
  const what = n.pattern === null ? 'ERROR/CRITICAL log lines' : `“${escapeHtml(cut(n.pattern, 200))}”`;
  const allowed = `allowed ${n.allowed} per ${windowText(n.windowMs)}`;
  if (n.kind === 'log_rate') {
    const title = n.pattern === null ? 'Log error rate' : 'Log pattern too frequent';
    return [
      `🔥 <b>${title}</b>: ${escapeHtml(project)}`,
      `${what}: ${n.seen} in ${windowText(n.windowMs)} (${allowed})`,
      `<code>${escapeHtml(cut(n.line.message, LINE_CHARS))}</code>`,
    ].join('\n');
  }
  return [`✅ <b>${n.pattern === null ? 'Log error rate' : 'Log pattern'} back to normal</b>: ${escapeHtml(project)}`, `${what}: ${allowed} again (peak ${n.peak})`].join('\n');
}
