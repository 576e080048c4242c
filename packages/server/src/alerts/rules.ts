import type { Logger } from 'pino';
import { reportFailure } from '../lib/failures.js';
import type { Issue, Level, Project } from '../store/model.js';
import type { AlertReason, AlertTier } from '../store/alerts.js';
import type { Store } from '../store/store.js';
import { applyOverride, rulesOverrideSchema, type AlertConfig, type ProjectRules, type RulesOverride, type TierOrOff } from './config.js';

export interface Trigger {
  reason: AlertReason;
  tier: AlertTier;
}

const LEVEL_RANK: Record<Level, number> = { debug: 0, info: 1, warning: 2, error: 3, fatal: 4 };
const TIER_RANK: Record<AlertTier, number> = { warning: 0, alert: 1, critical: 2 };

export function levelAtLeast(level: Level, threshold: Level): boolean {
  return (LEVEL_RANK[level] ?? 0) >= LEVEL_RANK[threshold];
}

export function highestTier(tiers: AlertTier[]): AlertTier {
  return tiers.reduce<AlertTier>((a, b) => (TIER_RANK[b] > TIER_RANK[a] ? b : a), 'warning');
}

export function tierAbove(a: AlertTier, b: AlertTier): boolean {
  return TIER_RANK[a] > TIER_RANK[b];
}

/**
 * What the rules read of an issue change: the digest's `IssueChange`, or a row of the change feed
 * the engine consumes (store/alerts.ts FeedChange).
 */
export interface AlertableChange {
  issue: Pick<Issue, 'id' | 'projectId' | 'status' | 'level'>;
  created: boolean;
  regressed: boolean;
  unignored: boolean;
  lastEvent: { level: Level };
}

/** The reasons that start a new incident: they are sent even inside a cooldown. */
export const FRESH_REASONS: readonly AlertReason[] = ['new', 'regression', 'unignored'];

/**
 * The triggers one batch's change fires under a project's rules. `frequencyExceeded` is counted by
 * the engine (it needs the events table); everything else is read from the change.
 */
export function issueTriggers(change: AlertableChange, rules: ProjectRules, frequencyExceeded: boolean): Trigger[] {
  const triggers: Trigger[] = [];
  const add = (reason: AlertReason, tier: TierOrOff, when: boolean) => {
    if (when && tier !== 'off') triggers.push({ reason, tier });
  };
  add('new', rules.newIssue, change.created);
  add('regression', rules.regression, change.regressed);
  add('unignored', rules.unignored, change.unignored);
  const level = LEVEL_RANK[change.lastEvent.level] > LEVEL_RANK[change.issue.level] ? change.lastEvent.level : change.issue.level;
  add('level', rules.level.tier, levelAtLeast(level, rules.level.threshold));
  add('frequency', rules.frequency.tier, frequencyExceeded);
  return triggers;
}

/** Whether an issue in this state may alert at all: resolved and ignored issues stay quiet. */
export function issueCanAlert(change: AlertableChange): boolean {
  return change.issue.status === 'new' || change.issue.status === 'in_progress';
}

/**
 * Per-project rules: the defaults from the configuration keys, then BOTPULSE_ALERT_RULES for `*`
 * and for the project's slug, then the project's own settings (`alert_rules` JSON, set through the
 * API, and `alert_chat_id`, set in the dashboard). Cached briefly: the digest asks per batch.
 */
export class RulesResolver {
  private readonly cache = new Map<number, { rules: ProjectRules; at: number }>();
  /** Unreadable stored overrides already reported, per project: reported once, not at every cache refresh. */
  private readonly reported = new Map<number, string>();

  constructor(
    readonly config: AlertConfig,
    private readonly store: Pick<Store, 'getProjectSettings'>,
    private readonly ttlMs = 5_000,
    private readonly logger: Pick<Logger, 'error' | 'warn'> | null = null,
  ) {}

  async forProject(project: Pick<Project, 'id' | 'slug'>): Promise<ProjectRules> {
    const hit = this.cache.get(project.id);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.rules;
    const settings = await this.store.getProjectSettings(project.id);
    const rules = resolveRules(this.config, project.slug, settings, (problem) => this.reportUnreadable(project, settings.alert_rules ?? '', problem));
    this.cache.set(project.id, { rules, at: Date.now() });
    return rules;
  }

  forget(projectId: number): void {
    this.cache.delete(projectId);
    this.reported.delete(projectId);
  }

  private reportUnreadable(project: Pick<Project, 'id' | 'slug'>, text: string, problem: string): void {
    if (this.reported.get(project.id) === text) return;
    this.reported.set(project.id, text);
    const log = this.logger ?? { error: () => undefined, warn: () => undefined };
    reportFailure(log, 'stored_alert_rules', problem, 'the project\'s stored alert rules (alert_rules) cannot be read; its alerts use the configured rules until they are set again (PUT /api/v1/projects/<project>/alert-rules)', { project: project.slug });
  }
}

/**
 * The project's rules. `onUnreadable` hears why a stored `alert_rules` override is ignored (it was
 * edited by hand: the API validates what it stores); the alerts go on with the configured rules.
 */
export function resolveRules(config: AlertConfig, slug: string, settings: Record<string, string>, onUnreadable?: (problem: string) => void): ProjectRules {
  let rules = config.defaults;
  for (const key of ['*', slug]) {
    const override = config.overrides[key];
    if (override) rules = applyOverride(rules, override);
  }
  const stored = parseStoredRules(settings.alert_rules);
  if (stored.problem) onUnreadable?.(stored.problem);
  if (stored.rules) rules = applyOverride(rules, stored.rules);
  if (settings.alert_chat_id) rules = { ...rules, chatIds: settings.alert_chat_id.split(',').map((s) => s.trim()).filter(Boolean) };
  return rules;
}

/** A stored override, or why it cannot be used (then it is ignored rather than stopping alerts). */
export function parseStoredRules(text: string | undefined): { rules: RulesOverride | null; problem: string | null } {
  if (!text) return { rules: null, problem: null };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { rules: null, problem: `not JSON: ${(err as Error).message}` };
  }
  const parsed = rulesOverrideSchema.safeParse(json);
  if (parsed.success) return { rules: parsed.data, problem: null };
  return { rules: null, problem: parsed.error.issues.map((i) => `${i.path.join('.') || 'rules'}: ${i.message}`).join('; ') };
}
