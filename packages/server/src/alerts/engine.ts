import type { Logger } from 'pino';
import type { AlertConfig, ProjectRules } from './config.js';
import { decideFollowUp, decideTrigger, type ResolvedDestination } from './cooldown.js';
import { highestTier, issueCanAlert, issueTriggers, type AlertableChange, type RulesResolver, type Trigger } from './rules.js';
import type { AlertState, AlertStore, FeedChange, PlannedDecision, Silence } from '../store/alerts.js';
import type { Project } from '../store/model.js';
import type { Store } from '../store/store.js';
import { reportFailure } from '../lib/failures.js';
import { HeldLease, TurnLoop } from '../lib/turn-loop.js';

export interface AlertEngineDeps {
  store: Store;
  alerts: AlertStore;
  config: AlertConfig;
  rules: RulesResolver;
  logger: Logger;
  /** Tells the outbox sender that rows were enqueued. */
  onEnqueued: () => void;
  now?: () => number;
  /** Unique per process: the engine lease carries it. */
  workerId?: string;
  /** How often the feed is looked at without a kick (changes digested by another process). */
  pollMs?: number;
  /** A change that failed to evaluate is retried after this times its failures (default 500 ms). */
  changeRetryMs?: number;
}

/** Alert fingerprint of an issue: all of an issue's rules share one cooldown. */
export const issueFingerprint = (issueId: number) => `issue:${issueId}`;
export const projectFingerprint = (projectId: number) => `project:${projectId}:frequency`;

/** One engine per database consumes the change feed (several processes may share the file). */
export const ENGINE_LEASE = 'alerts:engine';
/** A holder that died without releasing is replaced after this long. */
const ENGINE_LEASE_MS = 15_000;
/** Changes evaluated, and consumed with their decisions, per transaction. */
const FEED_BATCH = 200;
/** A change whose evaluation fails this many times on its own is given up (logged, counted). */
const MAX_CHANGE_FAILURES = 5;

/** Counters for /metrics. */
export interface EngineStats {
  /** Changes of the feed evaluated (their decisions committed with their consumption). */
  evaluated: number;
  /** Changes given up after failing MAX_CHANGE_FAILURES times on their own. */
  givenUp: number;
  /** Evaluation attempts that failed (each is retried). */
  failures: number;
}

/**
 * Turns the digest's issue changes into alert decisions, and time into follow-ups (repeats of
 * unacknowledged critical alerts, alerts held back by a cooldown).
 *
 * The changes come through a durable feed (`alert_changes`), written by the digest in its batch
 * transaction. The engine holding the `alerts:engine` lease reads it in order, evaluates a batch,
 * and commits the decisions (cooldown state, outbox rows, log) together with the deletion of the
 * changes it evaluated: a kill at any point either loses nothing or re-evaluates a batch whose
 * decisions never committed. The digest thread's wake-up (Alerting.changesDigested → kick) only wakes it up.
 */
export class AlertEngine {
  readonly stats: EngineStats = { evaluated: 0, givenUp: 0, failures: 0 };
  private readonly now: () => number;
  private passes: Promise<unknown> = Promise.resolve();
  private readonly loop: TurnLoop;
  /** The `alerts:engine` lease: only its holder evaluates the feed. */
  private readonly lease: HeldLease;
  /** Feed row id → failed evaluations of that change on its own. */
  private readonly changeFailures = new Map<number, number>();
  private retryAt = 0;

  constructor(private readonly deps: AlertEngineDeps) {
    this.now = deps.now ?? Date.now;
    this.lease = new HeldLease({
      table: deps.alerts,
      name: ENGINE_LEASE,
      holder: deps.workerId ?? `engine:${process.pid}:${Math.random().toString(16).slice(2, 10)}`,
      ttlMs: ENGINE_LEASE_MS,
      now: Date.now, // the lease is kept in real time, whatever clock the rules are tested with
      changed: (held) => {
        if (held) deps.logger.info('this process now evaluates alert rules (alerts:engine lease)');
      },
    });
    this.loop = new TurnLoop({
      turn: async () => void (await this.consume()),
      failed: (err) => {
        this.stats.failures += 1;
        deps.logger.error({ err }, 'alert engine pass failed; retrying');
      },
      waitMs: () => deps.pollMs ?? 500,
    });
  }

  /** This process held the engine lease at its last pass with work to do. */
  get consuming(): boolean {
    return this.lease.held;
  }

  start(): void {
    this.loop.start();
  }

  /** Finishes the pass in progress and hands the lease over. Unconsumed changes stay in the feed. */
  async stop(): Promise<void> {
    await this.loop.stop();
    await this.passes;
    await this.lease.release((err) => reportFailure(this.deps.logger, 'alert_engine_lease_release', err, 'could not release the alert engine lease; another process takes over when it expires', {}, 'warn'));
  }

  /** New changes were digested: look at the feed now. */
  kick(): void {
    this.loop.kick();
  }

  /** Resolves when the feed is empty: every change digested so far has been evaluated (by this or another process). */
  async idle(): Promise<void> {
    for (;;) {
      await this.consume().catch((err) => this.deps.logger.warn({ err }, 'alert engine pass failed while waiting for the feed to drain'));
      if ((await this.deps.alerts.changeBacklog()) === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** One pass over the feed (serialised with every other pass of this process); returns changes evaluated. */
  consume(): Promise<number> {
    const pass = this.passes.then(() => this.consumeFeed());
    this.passes = pass.catch(() => undefined);
    return pass;
  }

  private async consumeFeed(): Promise<number> {
    if (Date.now() < this.retryAt) return 0;
    let total = 0;
    for (;;) {
      const changes = await this.deps.alerts.pendingChanges(FEED_BATCH);
      if (!changes.length || !(await this.lease.hold())) return total;
      const done = await this.consumeBatch(changes);
      total += done;
      // Short: a change waits for its retry, or another engine took over.
      if (done < changes.length) return total;
    }
  }

  /**
   * Evaluates a batch in one transaction. If that fails, its changes are evaluated one at a time,
   * in order, so one change that cannot be evaluated does not hold the others: it is retried a
   * few times, then given up with an error line and a counter.
   */
  private async consumeBatch(changes: FeedChange[]): Promise<number> {
    try {
      return (await this.evaluate(changes)) ? changes.length : 0;
    } catch (err) {
      this.stats.failures += 1;
      if (changes.length > 1) this.deps.logger.warn({ err, changes: changes.length }, 'alert rules failed for a batch of issue changes; evaluating them one by one');
      else this.deps.logger.warn({ err }, 'alert rules failed for an issue change');
    }
    let done = 0;
    for (const change of changes) {
      try {
        if (!(await this.evaluate([change]))) return done;
        this.changeFailures.delete(change.id);
      } catch (err) {
        const failures = (this.changeFailures.get(change.id) ?? 0) + 1;
        if (failures < MAX_CHANGE_FAILURES) {
          this.changeFailures.set(change.id, failures);
          this.retryAt = Date.now() + (this.deps.changeRetryMs ?? 500) * failures;
          this.deps.logger.warn({ err, issueId: change.issueId, failures }, 'alert rules failed for an issue change; will retry');
          return done;
        }
        this.changeFailures.delete(change.id);
        this.stats.givenUp += 1;
        this.deps.logger.error({ err, issueId: change.issueId, projectId: change.projectId, failures }, 'alert rules keep failing for an issue change; it is given up without a decision');
        await this.deps.alerts.consumeChanges([change.id], []);
      }
      done += 1;
    }
    return done;
  }

  /** Plans the decisions of `changes` and commits them with their consumption; false if another engine consumed them. */
  private async evaluate(changes: FeedChange[]): Promise<boolean> {
    const now = this.now();
    const silences = await this.deps.alerts.activeSilences(now);
    const projects = new Map<number, { project: Project; rules: ProjectRules; destinations: ResolvedDestination[] }>();
    const plans: PlannedDecision[] = [];
    for (const change of changes) await this.projectContext(change.projectId, projects);
    const frequencies = await this.issueFrequencies(changes, projects, now);
    for (const change of changes) {
      const context = projects.get(change.projectId);
      const plan = context && this.planIssue(change, context.rules, context.destinations, silences, now, frequencies.has(change.issueId));
      if (plan) plans.push(plan);
    }
    for (const { project, rules, destinations } of projects.values()) {
      const plan = await this.planProject(project, rules, destinations, silences, now);
      if (plan) plans.push(plan);
    }
    const decisions = await this.deps.alerts.consumeChanges(changes.map((c) => c.id), plans);
    if (!decisions) {
      this.deps.logger.info({ changes: changes.length }, 'issue changes were evaluated by another process meanwhile');
      return false;
    }
    this.stats.evaluated += changes.length;
    if (decisions.some((d) => d.enqueue.length)) this.deps.onEnqueued();
    return true;
  }

  private async projectContext(id: number, seen: Map<number, { project: Project; rules: ProjectRules; destinations: ResolvedDestination[] }>) {
    const known = seen.get(id);
    if (known) return known;
    const project = await this.deps.store.getProject(id);
    if (!project) return null;
    const rules = await this.deps.rules.forProject(project);
    const context = { project, rules, destinations: await this.destinations(rules) };
    seen.set(id, context);
    return context;
  }

  private planIssue(feed: FeedChange, rules: ProjectRules, destinations: ResolvedDestination[], silences: Silence[], now: number, frequencyExceeded: boolean): PlannedDecision | null {
    const change = alertable(feed);
    if (!issueCanAlert(change)) return null;
    const fingerprint = issueFingerprint(feed.issueId);
    const triggers = issueTriggers(change, rules, frequencyExceeded);
    if (!triggers.length) return null;
    return {
      fingerprint,
      decide: (state) =>
        decideTrigger(state, {
          fingerprint,
          projectId: feed.projectId,
          issueId: feed.issueId,
          ...tierAndReasons(triggers, feed.status),
          now,
          cooldownMs: rules.cooldownMs,
          groupWindowMs: this.deps.config.groupWindowMs,
          destinations,
          silenced: isSilenced(silences, feed.projectId, feed.issueId),
        }),
    };
  }

  /**
   * The issues of the batch whose frequency rule is exceeded. Read for the whole batch at once (one
   * state read, one capped count per rule window): on PostgreSQL each read is a round trip, and a
   * storm brings hundreds of changes per second. Counting is skipped while a trigger is already
   * held in the cooldown: a storm then costs the state read, not a count.
   */
  private async issueFrequencies(changes: FeedChange[], projects: Map<number, { rules: ProjectRules }>, now: number): Promise<Set<number>> {
    const candidates = new Map<number, ProjectRules>();
    for (const change of changes) {
      const rules = projects.get(change.projectId)?.rules;
      if (rules && rules.frequency.tier !== 'off' && issueCanAlert(alertable(change))) candidates.set(change.issueId, rules);
    }
    if (candidates.size === 0) return new Set();
    const states = await this.deps.alerts.getStates([...candidates.keys()].map(issueFingerprint));
    const toCount = new Map<string, { since: number; cap: number; issueIds: number[] }>(); // per rule window and count
    for (const [issueId, rules] of candidates) {
      if (holdsTrigger(states.get(issueFingerprint(issueId)) ?? null, now)) continue;
      const since = now - rules.frequency.windowMs;
      const cap = rules.frequency.count + 1;
      const group = toCount.get(`${since}:${cap}`) ?? toCount.set(`${since}:${cap}`, { since, cap, issueIds: [] }).get(`${since}:${cap}`)!;
      group.issueIds.push(issueId);
    }
    const exceeded = new Set<number>();
    for (const { since, cap, issueIds } of toCount.values()) {
      const counts = await this.deps.alerts.countIssueEventsSince(issueIds, since, cap);
      for (const issueId of issueIds) if ((counts.get(issueId) ?? 0) > candidates.get(issueId)!.frequency.count) exceeded.add(issueId);
    }
    return exceeded;
  }

  private async planProject(project: Project, rules: ProjectRules, destinations: ResolvedDestination[], silences: Silence[], now: number): Promise<PlannedDecision | null> {
    const rule = rules.projectFrequency;
    if (rule.tier === 'off') return null;
    const fingerprint = projectFingerprint(project.id);
    if (holdsTrigger(await this.deps.alerts.getState(fingerprint), now)) return null;
    const count = await this.deps.alerts.countEventsSince({ projectId: project.id }, now - rule.windowMs, rule.count + 1);
    if (count <= rule.count) return null;
    return {
      fingerprint,
      decide: (current) =>
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
    };
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
        issueEvents: issue?.eventCount ?? null,
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

/** A feed row as the rules read a change. */
function alertable(feed: FeedChange): AlertableChange {
  return {
    issue: { id: feed.issueId, projectId: feed.projectId, status: feed.status, level: feed.level },
    created: feed.created,
    regressed: feed.regressed,
    unignored: feed.unignored,
    lastEvent: { level: feed.eventLevel },
  };
}

/** A trigger is already held for this fingerprint's cooldown: a new one only merges into it. */
function holdsTrigger(state: AlertState | null, now: number): boolean {
  return state?.pending != null && now < state.cooldownUntil;
}

export function isSilenced(silences: Silence[], projectId: number, issueId: number | null): boolean {
  return silences.some((s) => (s.projectId === null || s.projectId === projectId) && (s.issueId === null || s.issueId === issueId));
}
