/**
 * HTML built from tagged templates that escape every interpolated value unless it is already
 * `Html` (the result of another `html` template or of an explicit `raw`). Pages are assembled
 * from these fragments, so escaping is the default and trusting a string is a visible decision.
 */

/** A fragment of markup that is safe to insert as is. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Anything a template accepts: text is escaped, Html is inserted, lists are concatenated, null/false vanish. */
export type Renderable = Html | string | number | bigint | boolean | null | undefined | readonly Renderable[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

export function html(strings: TemplateStringsArray, ...values: Renderable[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** Trusted markup (our own constants, never user input). */
export function raw(markup: string): Html {
  return new Html(markup);
}

export function render(value: Renderable): string {
  if (value === null || value === undefined || value === false || value === true) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Joins fragments with a separator (escaped like any value). */
export function join(items: readonly Renderable[], separator: Renderable): Html {
  const parts: Renderable[] = [];
  items.forEach((item, i) => parts.push(i ? separator : '', item));
  return new Html(render(parts));
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>`, `&` and the JS line separators
 * are escaped so no value can close the script element or start a comment.
 */
export function jsonForScript(data: unknown): Html {
  const json = JSON.stringify(data) ?? 'null';
  return new Html(json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** Builds a query string from the defined, non-empty values (for links that keep filters). */
export function queryString(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
