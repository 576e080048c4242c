import { inAppFrames, issueUrl } from '../alerts/items.js';
import type { Issue, Project, StoredEvent } from '../store/model.js';

/**
 * The GitHub issue Botpulse opens for one of its issues (docs/github.md, "What the issue says").
 * GitHub issues are often public: the event was scrubbed at intake, and on top of that the
 * Telegram context carries no user name and only the last digits of chat and user ids.
 */

/** Hidden in the body; found again when a creation's answer was lost (GithubClient.findByMarker). */
export function issueMarker(issue: Pick<Issue, 'shortId'>, project: Pick<Project, 'slug'>): string {
  return `<!-- botpulse:${issue.shortId}:${project.slug} -->`;
}

export function issueTitle(issue: Pick<Issue, 'shortId' | 'title'>): string {
  const title = `[${issue.shortId}] ${issue.title}`;
  return title.length > 250 ? `${title.slice(0, 249)}…` : title;
}

export function issueBody(issue: Issue, project: Pick<Project, 'slug' | 'name'>, event: StoredEvent | null, publicUrl: string): string {
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
  const lines = [
    `**${escapeMarkdown(issue.title)}**`,
    '',
    `Botpulse issue **${issue.shortId}** in project **${escapeMarkdown(project.name)}** (\`${project.slug}\`)`,
    '',
    '| | |',
    '| --- | --- |',
    `| Events | ${issue.eventCount} |`,
    `| Users | ${issue.userCount} |`,
    `| First seen | ${iso(issue.firstSeen)} |`,
    `| Last seen | ${iso(issue.lastSeen)} |`,
    `| Release | ${cell(event?.release ?? issue.lastRelease ?? '—')} |`,
    `| Level | ${issue.level} |`,
  ];
  if (issue.culprit) lines.push(`| Culprit | ${cell(issue.culprit)} |`);
  const frames = event ? inAppFrames(event.payload) : [];
  if (frames.length) {
    lines.push('', '**Stack (in-app frames, innermost first)**', '', '```');
    for (const f of frames) lines.push(`at ${f.location}`, ...(f.code ? [`    ${f.code}`] : []));
    lines.push('```');
  }
  const telegram = telegramContext(event);
  if (telegram) lines.push('', `**Telegram:** ${telegram}`);
  lines.push('', `[Open ${issue.shortId} in Botpulse](${issueUrl(publicUrl, issue.id)})`, '', issueMarker(issue, project));
  return lines.join('\n');
}

function telegramContext(event: StoredEvent | null): string | null {
  const contexts = event && isRecord(event.payload) ? event.payload.contexts : undefined;
  const tg = isRecord(contexts) ? contexts.telegram : undefined;
  if (!isRecord(tg)) return null;
  const parts: string[] = [];
  const text = (v: unknown) => (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) ? String(v) : null);
  const update = text(tg.update_type);
  const chatType = text(tg.chat_type);
  const chat = text(tg.chat_id);
  const user = text(tg.user_id);
  if (update) parts.push(`update \`${cell(update)}\``);
  if (chatType) parts.push(`${cell(chatType)} chat`);
  if (chat) parts.push(`chat …${chat.slice(-3)}`);
  if (user) parts.push(`user …${user.slice(-3)}`);
  return parts.length ? parts.join(' · ') : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function cell(text: string): string {
  const one = text.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
  return one.length > 200 ? `${one.slice(0, 199)}…` : one;
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>]/g, (c) => `\\${c}`);
}
