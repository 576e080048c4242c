import { z } from 'zod';

/**
 * A configuration key whose value is JSON text (BOTPULSE_ALERT_RULES, BOTPULSE_MONITORS): parsed,
 * then checked by `schema`, each problem named with its path. Empty text means `{}`.
 */
export function jsonKey<T extends z.ZodType<Record<string, unknown>>>(schema: T) {
  return z.string().transform((text, ctx): z.output<T> => {
    if (!text.trim()) return {} as z.output<T>;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not JSON: ${(err as Error).message}` });
      return z.NEVER;
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
      return z.NEVER;
    }
    return parsed.data;
  });
}
