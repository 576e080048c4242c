import type { LinkTemplate } from '../store/model.js';
import type { StoredEvent } from '../store/model.js';

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
    telegram: contexts.telegram ?? {},
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
