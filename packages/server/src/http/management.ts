import { z } from 'zod';
import { ClientError } from '../lib/errors.js';
import { ROLES, SHORT_ID_PREFIX, SHORT_ID_PREFIX_RULE, type Role } from '../store/model.js';

/**
 * The rules for what people manage (projects, users, tokens), shared by the JSON API and the
 * dashboard's forms so both refuse the same input with the same words, naming the field.
 */

export const shortIdPrefix = z.string().trim().regex(SHORT_ID_PREFIX, SHORT_ID_PREFIX_RULE);
export const projectName = z.string().trim().min(1, 'the name must not be empty').max(100, 'the name must be at most 100 characters');
export const login = z.string().trim().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'the login must be 1 to 64 letters, digits or . _ @ -');
export const password = z.string().min(8, 'the password must have at least 8 characters').max(200, 'the password must be at most 200 characters');
export const role = z.enum(ROLES as [Role, ...Role[]], { message: `the role must be one of ${ROLES.join(', ')}` });
export const tokenLabel = z.string().trim().min(1, 'the label must not be empty').max(100, 'the label must be at most 100 characters');
/** A Telegram chat: a numeric id (groups are negative) or an @channel name; several comma-separated. */
export const alertChatId = z
  .string()
  .trim()
  .refine((s) => s === '' || s.split(',').every((c) => /^(-?\d+|@\w{5,})$/.test(c.trim())), 'the alert chat id must be a number (e.g. -1001234567890) or an @channel name');
/** A forum topic of the alert chat (Telegram's message_thread_id); empty: the chat's main thread. */
export const alertThreadId = z
  .string()
  .trim()
  .refine((s) => s === '' || (/^\d{1,12}$/.test(s) && Number(s) > 0), 'the alert thread id must be a positive number (the topic\'s message_thread_id)');

export const newProject = z.object({
  name: projectName,
  slug: z.string().trim().min(1).max(48).optional(),
  shortIdPrefix: shortIdPrefix.optional(),
});

export const projectPatch = z
  .object({
    name: projectName,
    shortIdPrefix,
    linkTemplates: z.array(z.object({ name: z.string().trim().min(1).max(50), url: z.string().trim().regex(/^https?:\/\//i, 'a link template URL must start with http:// or https://') }).strict()).max(20),
    alertChatId: alertChatId.nullable(),
    alertThreadId: z.union([z.number().int().positive(), z.null()]),
  })
  .partial()
  .strict();

export const newUser = z.object({ login, password, role: role.default('member') }).strict();
export const userPatch = z.object({ password, role }).partial().strict();
export const newToken = z.object({ label: tokenLabel, role: role.default('member') }).strict();

/** Parses or throws a 400 that names each bad field: `shortIdPrefix: the short-id prefix must be…`. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new ClientError(400, describeIssues(result.error));
  return result.data;
}

export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

/** Field errors as sentences for a form: `Short-id prefix: the short-id prefix must be…`. */
export function formErrors(error: z.ZodError, labels: Record<string, string>): string[] {
  return error.issues.map((i) => `${labels[String(i.path[0])] ?? String(i.path[0] ?? 'Form')}: ${i.message}.`);
}
