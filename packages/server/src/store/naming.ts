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
