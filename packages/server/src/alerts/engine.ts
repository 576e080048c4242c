import type { Logger } from 'pino';
import type { AlertConfig, ProjectRules } from './config.js';
import { decideFollowUp, decideTrigger, type ResolvedDestination } from './cooldown.js';
import { highestTier, issueCanAlert, issueTriggers, type RulesResolver, type Trigger } from './rules.js';
import type { AlertState, AlertStore, Silence } from '../store/alerts.js';
import type { IssueChange, Project } from '../store/model.js';
import type { Store } from '../store/store.js';

export interface AlertEngineDeps {
  store: Store;
  alerts: AlertStore;
  config: AlertConfig;
  rules: RulesResolver;
  logger: Logger;
  /** Tells the outbox sender that rows were enqueued. */
  onEnqueued: () => void;
  now?: () => number;
}

/** Alert fingerprint of an issue: all of an issue's rules share one cooldown. */
export const issueFingerprint = (issueId: number) => `issue:${issueId}`;
export const projectFingerprint = (projectId: number) => `project:${projectId}:frequency`;

/**
 * Turns the digest's IssueChange[] into alert decisions, and time into follow-ups (repeats of
 * unacknowledged critical alerts, alerts held back by a cooldown). Batches are processed one at a
 * time in arrival order; the digest never waits for it.
 */
export class AlertEngine {
  private queue: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly deps: AlertEngineDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The digest's hook (`createBotpulse({ onIssueChanges })`): never throws, never blocks the digest. */
  onIssueChanges(changes: IssueChange[]): void {
    this.queue = this.queue.then(() => this.process(changes)).catch((err) => this.deps.logger.error({ err }, 'alert rules failed for a digest batch'));
  }

  /** Resolves when every batch handed over so far has been evaluated. */
  async idle(): Promise<void> {
    await this.queue;
  }

  private async process(changes: IssueChange[]): Promise<void> {
    const silences = await this.deps.alerts.activeSilences(this.now());
    let enqueued = 0;
    const projects = new Map<number, Project>();
    for (const change of changes) {
      const project = await this.project(change.issue.projectId, projects);
      if (!project) continue;
      const rules = await this.deps.rules.forProject(project);
      enqueued += await this.evaluateIssue(change, rules, silences);
    }
    for (const project of projects.values()) enqueued += await this.evaluateProject(project, silences);
    if (enqueued) this.deps.onEnqueued();
  }

  private async project(id: number, seen: Map<number, Project>): Promise<Project | null> {
    const known = seen.get(id);
    if (known) return known;
    const project = await this.deps.store.getProject(id);
    if (project) seen.set(id, project);
    return project;
  }

  private async evaluateIssue(change: IssueChange, rules: ProjectRules, silences: Silence[]): Promise<number> {
    if (!issueCanAlert(change)) return 0;
    const fingerprint = issueFingerprint(change.issue.id);
    const now = this.now();
    const frequencyExceeded = await this.issueFrequencyExceeded(change, rules, fingerprint, now);
    const triggers = issueTriggers(change, rules, frequencyExceeded);
    if (!triggers.length) return 0;
    const destinations = await this.destinations(rules);
    const decision = await this.deps.alerts.decide(fingerprint, (state) =>
      decideTrigger(state, {
        fingerprint,
        projectId: change.issue.projectId,
        issueId: change.issue.id,
        ...tierAndReasons(triggers, change.issue.status),
        now,
        cooldownMs: rules.cooldownMs,
        groupWindowMs: this.deps.config.groupWindowMs,
        destinations,
        silenced: isSilenced(silences, change.issue.projectId, change.issue.id),
      }),
    );
    return decision.enqueue.length;
  }

  /**
   * Counting is skipped while a trigger is already pending in the cooldown: a storm then costs one
   * state read per issue and batch, not a count.
   */
  private async issueFrequencyExceeded(change: IssueChange, rules: ProjectRules, fingerprint: string, now: number): Promise<boolean> {
    if (rules.frequency.tier === 'off') return false;
    const state = await this.deps.alerts.getState(fingerprint);
    if (state?.pending && now < state.cooldownUntil) return false;
    const count = await this.deps.alerts.countEventsSince({ issueId: change.issue.id }, now - rules.frequency.windowMs, rules.frequency.count + 1);
    return count > rules.frequency.count;
  }

  private async evaluateProject(project: Project, silences: Silence[]): Promise<number> {
    const rules = await this.deps.rules.forProject(project);
    const rule = rules.projectFrequency;
    if (rule.tier === 'off') return 0;
    const now = this.now();
    const fingerprint = projectFingerprint(project.id);
    const state = await this.deps.alerts.getState(fingerprint);
    if (state?.pending && now < state.cooldownUntil) return 0;
    const count = await this.deps.alerts.countEventsSince({ projectId: project.id }, now - rule.windowMs, rule.count + 1);
    if (count <= rule.count) return 0;
    const destinations = await this.destinations(rules);
    const decision = await this.deps.alerts.decide(fingerprint, (current) =>
      decideTrigger(current, {
        fingerprint,
        projectId: project.id,
        issueId: null,
        tier: rule.tier === 'off' ? 'warning' : rule.tier,
        reasons: ['project_frequency'],
        now,
        cooldownMs: rules.cooldownMs,
        groupWindowMs: this.deps.config.groupWindowMs,
        destinations,
        silenced: isSilenced(silences, project.id, null),
      }),
    );
    return decision.enqueue.length;
  }

  /** Time-driven alerts: due repeats and cooldowns that ended with a trigger pending. */
  async followUps(): Promise<number> {
    const now = this.now();
    const due = await this.deps.alerts.dueFollowUps(now, 100);
    if (!due.length) return 0;
    const silences = await this.deps.alerts.activeSilences(now);
    let enqueued = 0;
    for (const state of due) enqueued += await this.followUp(state, now, silences);
    if (enqueued) this.deps.onEnqueued();
    return enqueued;
  }

  private async followUp(state: AlertState, now: number, silences: Silence[]): Promise<number> {
    const project = await this.deps.store.getProject(state.projectId);
    const issue = state.issueId !== null ? await this.deps.store.getIssue(state.issueId) : null;
    if (!project || (state.issueId !== null && !issue)) {
      await this.deps.alerts.decide(state.fingerprint, (s) => ({ state: s && { ...s, pending: null, repeatAt: null }, enqueue: [], log: [] }));
      return 0;
    }
    const rules = await this.deps.rules.forProject(project);
    const destinations = await this.destinations(rules);
    const decision = await this.deps.alerts.decide(state.fingerprint, (current) =>
      decideFollowUp(current, {
        now,
        cooldownMs: rules.cooldownMs,
        groupWindowMs: this.deps.config.groupWindowMs,
        destinations,
        issueStatus: issue?.status ?? null,
        silenced: isSilenced(silences, state.projectId, state.issueId),
      }),
    );
    return decision.enqueue.length;
  }

  /**
   * Where a project's alerts go: its Telegram chats (following recorded migrations, skipping
   * disabled chats) when the alert bot is configured, and the webhook when one is set. Monitor
   * notifications go to the same places (monitors/notify.ts).
   */
  async destinations(rules: ProjectRules): Promise<ResolvedDestination[]> {
    const result: ResolvedDestination[] = [];
    if (this.deps.config.telegram.token) {
      for (const chatId of rules.chatIds) {
        const target = await this.followMigrations(chatId);
        const known = await this.deps.alerts.getTarget('telegram', target);
        if (!known?.disabledAt) result.push({ channel: 'telegram', target, configured: chatId });
      }
    }
    const url = this.deps.config.webhook.url;
    if (url) {
      const known = await this.deps.alerts.getTarget('webhook', url);
      if (!known?.disabledAt) result.push({ channel: 'webhook', target: url, configured: url });
    }
    return result;
  }

  private async followMigrations(chatId: string): Promise<string> {
    let target = chatId;
    for (let hops = 0; hops < 5; hops++) {
      const known = await this.deps.alerts.getTarget('telegram', target);
      if (!known?.migratedTo) break;
      target = known.migratedTo;
    }
    return target;
  }
}

/** An acknowledged issue (in progress) no longer needs a repeating critical alert. */
function tierAndReasons(triggers: Trigger[], status: string): Pick<Trigger, 'tier'> & { reasons: Trigger['reason'][] } {
  const tier = highestTier(triggers.map((t) => t.tier));
  return { tier: tier === 'critical' && status === 'in_progress' ? 'alert' : tier, reasons: triggers.map((t) => t.reason) };
}

export function isSilenced(silences: Silence[], projectId: number, issueId: number | null): boolean {
  return silences.some((s) => (s.projectId === null || s.projectId === projectId) && (s.issueId === null || s.issueId === issueId));
}
