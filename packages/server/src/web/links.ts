import type { LinkTemplate, StoredEvent } from '../store/model.js';

/** Only absolute http(s) URLs become links: a `javascript:` URL in a template or payload must not. */
export function safeHttpUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.toString() : null;
  } catch {
    return null;
  }
}

/**
 * The values link templates may use: `{user.id}`, `{tags.gen_request_id}`, `{telegram.chat_id}`,
 * `{event.id}`, `{release}`, `{environment}`, `{contexts.<name>.<key>}`, `{extra.<key>}`.
 */
export function linkValues(event: StoredEvent): Record<string, unknown> {
  const payload = event.payload as Record<string, unknown>;
  const contexts = (payload.contexts ?? {}) as Record<string, unknown>;
  return {
    user: payload.user ?? {},
    tags: event.tags,
    telegram: telegramOf(event) ?? {},
    contexts,
    extra: payload.extra ?? {},
    event: { id: event.eventId },
    release: event.release,
    environment: event.environment,
  };
}

function lookup(values: Record<string, unknown>, path: string): string | null {
  let node: unknown = values;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return null;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === 'string' || typeof node === 'number' || typeof node === 'bigint' ? String(node) : null;
}

/**
 * Fills a template's placeholders with URL-encoded values. Null when a placeholder has no value
 * (a link to `/users/` would mislead) or the result is not an http(s) URL.
 */
export function expandLink(template: LinkTemplate, values: Record<string, unknown>): string | null {
  let missing = false;
  const url = template.url.replace(/\{([\w.-]+)\}/g, (_, path: string) => {
    const value = lookup(values, path);
    if (value === null || value === '') missing = true;
    return encodeURIComponent(value ?? '');
  });
  return missing ? null : safeHttpUrl(url);
}

/** `name url` per line ↔ templates, for the project settings form. */
export function parseLinkTemplates(text: string): { templates: LinkTemplate[]; errors: string[] } {
  const templates: LinkTemplate[] = [];
  const errors: string[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    const m = /^(\S+)\s+(\S+)$/.exec(trimmed);
    if (!m || !/^https?:\/\//i.test(m[2]!)) {
      errors.push(`line ${i + 1}: expected "name https://…/{placeholder}"`);
      continue;
    }
    templates.push({ name: m[1]!, url: m[2]! });
  }
  return { templates, errors };
}

export function formatLinkTemplates(templates: LinkTemplate[]): string {
  return templates.map((t) => `${t.name} ${t.url}`).join('\n');
}

const TELEGRAM_FIELDS = ['update_id', 'update_type', 'chat_id', 'chat_type', 'user_id', 'username', 'language_code', 'role', 'group_id'];

/**
 * The event's Telegram context: `contexts.telegram` as our SDK sends it, else the tags other
 * SDKs use (`chat_id`, `telegram.chat_id`, `tg.chat_id`), the way the digest reads them.
 */
export function telegramOf(event: StoredEvent): Record<string, unknown> | null {
  const contexts = (event.payload as Record<string, unknown>).contexts as Record<string, unknown> | undefined;
  const context = contexts?.telegram;
  if (context && typeof context === 'object' && !Array.isArray(context)) return context as Record<string, unknown>;
  const fromTags: Record<string, unknown> = {};
  for (const field of TELEGRAM_FIELDS) {
    const value = event.tags[field] ?? event.tags[`telegram.${field}`] ?? event.tags[`tg.${field}`];
    if (value !== undefined) fromTags[field] = value;
  }
  return Object.keys(fromTags).length ? fromTags : null;
}
