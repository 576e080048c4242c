import { html, type Html } from '../html.js';

/** Caps keep one hostile or huge payload from producing a multi-megabyte page. */
const MAX_NODES = 1500;
const MAX_STRING = 2000;
const MAX_DEPTH = 12;

/**
 * A JSON value as nested <details>: objects and arrays fold, the first level open. Every key and
 * value goes through the escaping template.
 */
export function payloadTree(value: unknown): Html {
  const budget = { nodes: MAX_NODES };
  return html`<div class="tree">${node(null, value, 0, budget)}</div>`;
}

function node(key: string | null, value: unknown, depth: number, budget: { nodes: number }): Html {
  if (--budget.nodes < 0) return budget.nodes === -1 ? html`<div class="leaf faint">… (truncated)</div>` : html``;
  const label = key === null ? html`` : html`<span class="key">${key}</span>: `;
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    if (entries.length === 0) return html`<div class="leaf">${label}<span class="nul">${Array.isArray(value) ? '[]' : '{}'}</span></div>`;
    if (depth >= MAX_DEPTH) return html`<div class="leaf">${label}<span class="nul">${summary} (too deep)</span></div>`;
    return html`<details${depth < 1 ? ' open' : ''}><summary>${label}<span class="faint">${summary}</span></summary>${entries.map(([k, v]) => node(k, v, depth + 1, budget))}</details>`;
  }
  return html`<div class="leaf">${label}${scalar(value)}</div>`;
}

function scalar(value: unknown): Html {
  if (typeof value === 'string') {
    const text = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} chars)` : value;
    return html`<span class="str">"${text}"</span>`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return html`<span class="numv">${String(value)}</span>`;
  return html`<span class="nul">null</span>`;
}
