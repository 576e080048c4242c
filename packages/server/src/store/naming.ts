import { createHash, randomBytes } from 'node:crypto';

/** Names derived for new projects. */

export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  return slug || 'project';
}

/** A new project asked for a slug another project holds; the message names that project. */
export class SlugTakenError extends Error {
  override name = 'SlugTakenError';
  constructor(
    readonly slug: string,
    readonly holderName: string,
  ) {
    super(`a project with the slug "${slug}" already exists ("${holderName}")`);
  }
}

/**
 * The rule for a short-id prefix, one for the CLI, the API and the dashboard: 1 to 6 letters
 * (short ids read `PAY-001`; digits would blur into the number).
 */
export const SHORT_ID_PREFIX_PATTERN = /^[A-Za-z]{1,6}$/;
export const SHORT_ID_PREFIX_RULE = '1 to 6 letters (A-Z), e.g. PAY for PAY-001';

/** Why `prefix` cannot be a short-id prefix, or null when it can. */
export function shortIdPrefixProblem(prefix: string): string | null {
  return SHORT_ID_PREFIX_PATTERN.test(prefix) ? null : `the short-id prefix "${prefix.slice(0, 40)}" is not allowed: use ${SHORT_ID_PREFIX_RULE}`;
}

/** `Payments Bot` → `PB`; one word → its first letter; always 1–4 uppercase letters. */
export function shortIdPrefixFor(name: string): string {
  const words = name.normalize('NFKD').replace(/[^A-Za-z0-9 ]+/g, ' ').trim().split(/\s+/).filter(Boolean);
  const initials = words.map((w) => w[0]!.toUpperCase()).join('').replace(/[^A-Z]/g, '').slice(0, 4);
  return initials || 'B';
}

export function newPublicKey(): string {
  return randomBytes(16).toString('hex');
}

/** A new API token; only its hash (`hashToken`) is stored. */
export function newApiToken(): string {
  return `bp_${randomBytes(24).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
