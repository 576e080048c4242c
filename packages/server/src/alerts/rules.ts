import type { Issue, Level, Project } from '../store/model.js';
import type { AlertReason, AlertTier } from '../store/alerts.js';
import type { Store } from '../store/store.js';
import { applyOverride, rulesOverrideSchema, type AlertConfig, type ProjectRules, type TierOrOff } from './config.js';

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

  constructor(
    readonly config: AlertConfig,
    private readonly store: Pick<Store, 'getProjectSettings'>,
    private readonly ttlMs = 5_000,
  ) {}

  async forProject(project: Pick<Project, 'id' | 'slug'>): Promise<ProjectRules> {
    const hit = this.cache.get(project.id);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.rules;
    const rules = resolveRules(this.config, project.slug, await this.store.getProjectSettings(project.id));
    this.cache.set(project.id, { rules, at: Date.now() });
    return rules;
  }

  forget(projectId: number): void {
    this.cache.delete(projectId);
  }
}

export function resolveRules(config: AlertConfig, slug: string, settings: Record<string, string>): ProjectRules {
  let rules = config.defaults;
  for (const key of ['*', slug]) {
    const override = config.overrides[key];
    if (override) rules = applyOverride(rules, override);
  }
  const stored = parseStoredRules(settings.alert_rules);
  if (stored) rules = applyOverride(rules, stored);
  if (settings.alert_chat_id) rules = { ...rules, chatIds: settings.alert_chat_id.split(',').map((s) => s.trim()).filter(Boolean) };
  return rules;
}

/** A stored override that no longer parses (edited by hand) is ignored rather than stopping alerts. */
function parseStoredRules(text: string | undefined) {
  if (!text) return null;
  try {
    const parsed = rulesOverrideSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
