import { ClientError } from '../lib/errors.js';
import { compileUserRegex, UserRegexError } from '../lib/user-regex.js';
import type { Project } from '../store/model.js';
import type { Store } from '../store/store.js';
import { logRulesOverrideSchema, parseStoredLogRules, resolveLogRules, type LogConfig, type LogRulesOverride, type LogRulesSpec } from './config.js';

/**
 * A person's edit of one project's log rules (the dashboard's rule editor and the API's
 * `…/log-rules/forbidden|rate-limited|error-rate` routes; docs/logs.md "Changing the rules").
 * Each edit starts from the rules the project runs now (defaults, BOTPULSE_LOG_RULES, its stored
 * override) and stores the changed list as the project's override, so it wins over the
 * configuration from then on; deleting the override (`reset`) gives the configured rules back.
 * Every refusal is a ClientError naming the problem (400 bad pattern or value, 404 no such rule,
 * 409 already there), never a 500.
 */

export interface RateRuleInput {
  pattern: string;
  count: number;
  windowSeconds: number;
}

export type LogRuleEdit =
  | { kind: 'forbidden'; action: 'add'; pattern: string }
  | { kind: 'forbidden'; action: 'edit'; from: string; pattern: string }
  | { kind: 'forbidden'; action: 'delete'; pattern: string }
  | { kind: 'rate'; action: 'add'; rule: RateRuleInput }
  | { kind: 'rate'; action: 'edit'; from: string; rule: Partial<RateRuleInput> }
  | { kind: 'rate'; action: 'delete'; pattern: string }
  | { kind: 'errorRate'; value: { count: number; windowMinutes: number } | null }
  | { kind: 'enabled'; value: boolean };

/** What editing needs: the store's project settings and the evaluator's configuration and cache. */
export interface LogRulesEditor {
  store: Pick<Store, 'getProjectSettings' | 'setProjectSetting'>;
  rules: { readonly config: LogConfig; forget(projectId: number): void };
}

/** Refuses a pattern RE2 cannot run (with RE2's reason), an empty one, or one over the length cap. */
export function checkPattern(pattern: string): string {
  if (!pattern.trim()) throw new ClientError(400, 'pattern: a pattern cannot be empty');
  if (pattern.length > 500) throw new ClientError(400, `pattern: at most 500 characters (this one has ${pattern.length})`);
  try {
    compileUserRegex(pattern);
  } catch (err) {
    if (err instanceof UserRegexError) throw new ClientError(400, `pattern: ${err.message}`);
    throw err;
  }
  return pattern;
}

/** The override an edit leaves, from the rules in force and the stored override. Pure. */
export function applyRuleEdit(effective: LogRulesSpec, stored: LogRulesOverride | null, edit: LogRuleEdit): LogRulesOverride {
  const next: LogRulesOverride = { ...(stored ?? {}) };
  switch (edit.kind) {
    case 'forbidden':
      next.forbidden = editForbidden(effective.forbidden, edit);
      break;
    case 'rate':
      next.rateLimited = editRate(effective.rateLimited, edit);
      break;
    case 'errorRate':
      next.errorRate = edit.value;
      break;
    case 'enabled':
      next.enabled = edit.value;
      break;
  }
  // The same validation as the configuration and `PUT …/log-rules`: limits, counts, windows.
  const parsed = logRulesOverrideSchema.safeParse(next);
  if (!parsed.success) throw new ClientError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'rules'}: ${i.message}`).join('; '));
  return parsed.data;
}

function editForbidden(list: string[], edit: Extract<LogRuleEdit, { kind: 'forbidden' }>): string[] {
  if (edit.action === 'delete') return without(list, edit.pattern, 'forbidden pattern');
  checkPattern(edit.pattern);
  if (edit.action === 'add') {
    if (list.includes(edit.pattern)) throw new ClientError(409, `the forbidden pattern "${edit.pattern}" is already in the list`);
    return [...list, edit.pattern];
  }
  const at = indexOf(list, edit.from, 'forbidden pattern');
  if (edit.pattern !== edit.from && list.includes(edit.pattern)) throw new ClientError(409, `the forbidden pattern "${edit.pattern}" is already in the list`);
  return list.map((p, i) => (i === at ? edit.pattern : p));
}

function editRate(list: RateRuleInput[], edit: Extract<LogRuleEdit, { kind: 'rate' }>): RateRuleInput[] {
  const patterns = list.map((r) => r.pattern);
  if (edit.action === 'delete') {
    const at = indexOf(patterns, edit.pattern, 'rate-limited pattern');
    return list.filter((_, i) => i !== at);
  }
  if (edit.action === 'add') {
    checkPattern(edit.rule.pattern);
    if (patterns.includes(edit.rule.pattern)) throw new ClientError(409, `the rate-limited pattern "${edit.rule.pattern}" is already in the list`);
    return [...list, { ...edit.rule }];
  }
  const at = indexOf(patterns, edit.from, 'rate-limited pattern');
  const rule = { ...list[at]!, ...definedOnly(edit.rule) };
  checkPattern(rule.pattern);
  if (rule.pattern !== edit.from && patterns.includes(rule.pattern)) throw new ClientError(409, `the rate-limited pattern "${rule.pattern}" is already in the list`);
  return list.map((r, i) => (i === at ? rule : r));
}

function definedOnly(rule: Partial<RateRuleInput>): Partial<RateRuleInput> {
  return Object.fromEntries(Object.entries(rule).filter(([, v]) => v !== undefined));
}

function indexOf(list: string[], pattern: string, what: string): number {
  const at = list.indexOf(pattern);
  if (at < 0) throw new ClientError(404, `no ${what} "${pattern}" in this project's rules`);
  return at;
}

function without(list: string[], pattern: string, what: string): string[] {
  const at = indexOf(list, pattern, what);
  return list.filter((_, i) => i !== at);
}

/** Applies an edit to a project's stored rules; returns the override stored and the rules now in force. */
export async function editLogRules(editor: LogRulesEditor, project: Project, edit: LogRuleEdit): Promise<{ override: LogRulesOverride; effective: LogRulesSpec }> {
  const settings = await editor.store.getProjectSettings(project.id);
  // An unreadable stored override is replaced: the edit starts from the configured rules.
  const stored = parseStoredLogRules(settings['log_rules']).rules;
  const effective = resolveLogRules(editor.rules.config, project.slug, stored);
  const override = applyRuleEdit(effective, stored, edit);
  await editor.store.setProjectSetting(project.id, 'log_rules', JSON.stringify(override));
  editor.rules.forget(project.id);
  return { override, effective: resolveLogRules(editor.rules.config, project.slug, override) };
}

/** Drops the project's own rules: the configured ones (BOTPULSE_LOG_RULES, then seed 002's) apply again. */
export async function resetLogRules(editor: LogRulesEditor, project: Project): Promise<LogRulesSpec> {
  await editor.store.setProjectSetting(project.id, 'log_rules', null);
  editor.rules.forget(project.id);
  return resolveLogRules(editor.rules.config, project.slug, null);
}
