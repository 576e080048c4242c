/**
 * The one way a redirect target that came from a request (`?next=`, a form's `back`) becomes a
 * `Location`: a path on this site, or the fallback. Browsers resolve a Location with the WHATWG
 * URL parser, which drops tabs and newlines anywhere (`/\t/evil.example` is `//evil.example`) and
 * reads `\` as `/` — so those are refused before parsing, the rest is parsed the same way, and the
 * re-serialised path is returned: percent-encoded, so it can never break the header either
 * (`/\r\n/x` answered 500 when written into the header as sent).
 */
const BASE = new URL('http://botpulse.invalid');
const MAX_LENGTH = 2048;
/** C0 controls, DEL and backslash: each one changes how a browser reads the URL. */
const UNSAFE = /[\u0000-\u001f\u007f\\]/;

export function safeRedirectPath(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.length > MAX_LENGTH || UNSAFE.test(value)) return fallback;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return fallback;
  }
  if (url.origin !== BASE.origin) return fallback;
  const path = `${url.pathname}${url.search}${url.hash}`;
  // `//host` is scheme-relative, and dot segments can produce it: `/.//evil.example` → `//evil.example`.
  return path.startsWith('/') && !path.startsWith('//') ? path : fallback;
}

/**
 * `path` with one query parameter set, keeping its other parameters and its fragment. `value` is
 * written as given (`done=resolved:3`): callers pass fixed, URL-safe values.
 */
export function withQueryParameter(path: string, name: string, value: string): string {
  const url = new URL(path, BASE);
  if (url.searchParams.has(name)) url.searchParams.delete(name);
  url.search = url.search ? `${url.search}&${name}=${value}` : `?${name}=${value}`;
  return `${url.pathname}${url.search}${url.hash}`;
}
