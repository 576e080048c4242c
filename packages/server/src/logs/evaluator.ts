import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { reportFailure } from '../lib/failures.js';
import type { LogLine, LogRuleState, LogStore, RuleLine, StoredRun } from '../store/logs.js';
import type { Project } from '../store/model.js';
import type { NewNotification } from '../store/monitors.js';
import type { SpoolItemInput, Store } from '../store/store.js';
import { compileLogRules, parseStoredLogRules, resolveLogRules, type LogConfig, type LogRuleSet, type LogRulesSpec } from './config.js';
import { noticeText } from './format.js';
import { operationLatencies } from './latency.js';
import { applyLine, FORBIDDEN_FINGERPRINT, rateLimitOf, recover, type RuleEffects, type RuleNotice, type RuleState } from './rules.js';

export interface LogRulesDeps {
  logs: LogStore;
  store: Pick<Store, 'getProject' | 'getProjectSettings'>;
  config: LogConfig;
  /** Appends events to the spool and wakes the digest. Idempotent through the event ids (the digest drops an id it has). */
  spoolEvents(items: SpoolItemInput[]): Promise<void>;
  /** One evaluator per database: a lease (AlertStore.lease under `logs:rules`). */
  lease(holder: string, now: number, ttlMs: number): Promise<boolean>;
  /** Forward the notifications just written (the monitors' forwarder into the alert outbox). */
  notify(): void;
  /** The rules' clock (recoveries); injected by tests. */
  clock: { now(): number };
  logger: Logger;
  workerId: string;
  batchSize?: number;
  pollMs?: number;
}

const LEASE_MS = 15_000;
/** Lines per evaluation (one read, one commit): large enough that the per-batch statements cost little per line. */
const BATCH_SIZE = 2_000;
const RULES_TTL_MS = 5_000;
/**
 * At most this many stored lines wait for the rules before appends wait for them (waitForRules):
 * the rules share the CPU with ingestion, and without a bound a sender faster than the rules grew
 * the wait for a forbidden line's alert without end (docs/logs.md "Throughput").
 */
export const MAX_RULE_LAG = 5_000;
/** Longest an append waits for the rules (an evaluator that is not running must not stop ingestion). */
const MAX_RULE_WAIT_MS = 10_000;
const RULE_WAIT_POLL_MS = 10;
/**
 * Lines just stored kept in memory for the rules (handOver); past it the oldest runs are dropped
 * and those lines are read back from the database instead (nothing is lost: the database is the
 * record, this only saves reading it). Appends wait at MAX_RULE_LAG, so it is reached only when the
 * wait timed out or another process holds the lease.
 */
export const MAX_HANDED_LINES = 4 * MAX_RULE_LAG;
/**
 * Lines handed over and not yet judged past which a stored forbidden line is sent on ahead of the
 * rules (expedite): below it the rules reach it within a batch anyway.
 */
export const EXPEDITE_LAG = 2_000;

/**
 * Reads stored log lines after its cursor and applies the projects' log rules (docs/logs.md
 * "Rules"): forbidden patterns become events in the spool (an issue per pattern, alerted at
 * `critical` by the alert engine, with its buttons), rate rules and the error-rate rule write
 * notifications that the monitors' forwarder puts in the alert outbox. States, notifications,
 * the lines' marks and the cursor are written in ONE transaction (LogStore.commitRuleBatch): a
 * kill -9 before it decides the batch again from the same states, after it leaves nothing to
 * decide. The events go to the spool before that commit, with ids made from the line ids, so a
 * second try finds them stored (a duplicate event, dropped by the digest), never twice.
 */
export class LogRuleEvaluator {
  /** Lines evaluated since start (/metrics could read it). */
  evaluated = 0;
  private readonly rules = new Map<number, { spec: LogRulesSpec; set: LogRuleSet | null; slug: string; at: number }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  /** The appends waiting for the rules, per sender in arrival order, the sender served longest ago first (waitForRules). */
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: unknown) => void; deadline: number }[]>();
  private lettingThrough = false;
  /** Runs of lines just stored (handOver), oldest first, each the whole of its id range. */
  private handed: StoredRun[] = [];
  private handedLines = 0;
  /** Lines the rules took from memory / read back from the database (tests, /metrics). */
  readonly sources = { memory: 0, database: 0 };
  /** Per project and forbidden pattern, the minute of its last expedited event (at most one a minute). */
  private readonly expedited = new Map<string, number>();
  /** Forbidden lines sent on ahead of the rules (tests, /metrics). */
  expeditedTotal = 0;

  constructor(private readonly deps: LogRulesDeps) {}

  /** The configured rules (BOTPULSE_LOG_RULES) the projects' own overrides apply over. */
  get config(): LogConfig {
    return this.deps.config;
  }

  start(): void {
    this.stopped = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /**
   * Resolves when at most MAX_RULE_LAG stored lines wait for the rules (whichever process's
   * evaluator holds the lease), or after MAX_RULE_WAIT_MS: the logs endpoints call it before
   * storing, so a sender faster than the rules is slowed to their pace instead of leaving a
   * growing backlog between a line and its alert.
   *
   * Fair between senders (`sender`: the project): one waiter is let through at a time, taking the
   * senders in turn and each sender's appends in arrival order, so a quiet `botpulse tail` waits
   * for at most one append of a project flooding the server, not for all it has in flight.
   */
  waitForRules(sender: number = 0): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let queue = this.waiting.get(sender);
      if (!queue) this.waiting.set(sender, (queue = []));
      queue.push({ resolve, reject, deadline: Date.now() + MAX_RULE_WAIT_MS });
      void this.letThrough();
    });
  }

  /** Lets the waiting appends through one at a time, the sender served longest ago first. */
  private async letThrough(): Promise<void> {
    if (this.lettingThrough) return;
    this.lettingThrough = true;
    try {
      for (let next = this.waiting.entries().next(); !next.done; next = this.waiting.entries().next()) {
        const [sender, queue] = next.value;
        this.waiting.delete(sender);
        const head = queue.shift()!;
        try {
          await this.untilWithinLag(head.deadline);
          head.resolve();
        } catch (err) {
          head.reject(err);
        }
        // Its other appends (and any that came meanwhile) go behind the senders now waiting.
        const meanwhile = this.waiting.get(sender) ?? [];
        this.waiting.delete(sender);
        if (queue.length + meanwhile.length) this.waiting.set(sender, [...queue, ...meanwhile]);
      }
    } finally {
      this.lettingThrough = false;
    }
  }

  private async untilWithinLag(deadline: number): Promise<void> {
    const { logs } = this.deps;
    while (Date.now() < deadline && (await logs.lastLineId()) - (await logs.ruleCursor()) > MAX_RULE_LAG) {
      this.kick();
      await new Promise((resolve) => setTimeout(resolve, RULE_WAIT_POLL_MS));
    }
  }

  /**
   * The lines an append just stored (LogAppendResult.stored): the rules take them from here when
   * they continue from where the rules' cursor is, and read from the database otherwise (a
   * restart, another process's lines, runs dropped at MAX_HANDED_LINES). Saves reading back every
   * line (docs/logs.md "Throughput"); the cursor and decisions still commit to the database.
   */
  handOver(run: StoredRun | undefined): void {
    if (!run?.lines.length || this.stopped) return;
    const behind = this.handedLines > EXPEDITE_LAG;
    this.handed.push(run);
    this.handedLines += run.lines.length;
    while (this.handedLines > MAX_HANDED_LINES) this.handedLines -= this.handed.shift()!.lines.length;
    if (behind) void this.expedite(run).catch((err: unknown) => reportFailure(this.deps.logger, 'log_rules', err, 'a forbidden line could not be sent ahead; the rules send it when they reach it'));
  }

  /**
   * While the rules are behind, a forbidden line just stored would wait for the lines before it
   * (up to MAX_RULE_LAG) before its event is made and its alert sent: its event goes to the spool
   * now instead, the first per pattern and project each minute (what pages). The rules make the
   * same event (same id, lineEventId) when they reach the line, and the digest drops it as a
   * duplicate; the rules' states, marks and caps are unchanged. The pass over the patterns made
   * here is not made again by the rules for a line that matched none (most lines).
   */
  private async expedite(run: StoredRun): Promise<void> {
    const due: { line: RuleLine; pattern: string }[] = [];
    const minute = Math.floor(this.deps.clock.now() / 60_000);
    let projectId = -1;
    let set: LogRuleSet | null = null;
    for (const line of run.lines) {
      if (line.projectId !== projectId) {
        projectId = line.projectId;
        set = (await this.rulesFor(projectId))?.set ?? null;
      }
      if (!set?.forbidden.length) continue;
      if (set.anyPattern && !set.anyPattern.test(line.message)) {
        (line as Screened).cleanFor = set; // the rules skip their own pass over it: no line is tested twice
        continue;
      }
      const hit = set.forbidden.find((r) => r.regex.test(line.message));
      const key = hit && `${projectId}\u0000${hit.pattern}`;
      if (!key || this.expedited.get(key) === minute) continue;
      this.expedited.set(key, minute);
      due.push({ line, pattern: hit.pattern });
    }
    if (this.expedited.size > MAX_HANDED_LINES) this.expedited.clear(); // bounded; a cleared key only allows one more event
    if (!due.length) return;
    const whole = new Map((await this.deps.logs.linesByIds(due.map((d) => d.line.id))).map((l) => [l.id, l]));
    const items = due.flatMap(({ line, pattern }) => {
      const stored = whole.get(line.id);
      return stored ? [forbiddenEvent(stored, pattern, lineEventId(line))] : [];
    });
    if (!items.length) return;
    await this.deps.spoolEvents(items);
    this.expeditedTotal += items.length;
  }

  /**
   * The lines after `from` from the runs handed over, when they join on (a run covers its whole id
   * range, so the lines of one run above `from` are all the lines there); null: read them back.
   */
  private takeHanded(from: number, limit: number): RuleLine[] | null {
    while (this.handed.length && lastId(this.handed[0]!) <= from) this.handedLines -= this.handed.shift()!.lines.length;
    const first = this.handed[0];
    if (!first || first.after > from) return null;
    const lines = first.lines.filter((l) => l.id > from);
    let through = lastId(first);
    for (let i = 1; i < this.handed.length && lines.length < limit; i++) {
      const run = this.handed[i]!;
      if (run.after !== through) break; // a gap: lines stored elsewhere; the next batch reads them back
      lines.push(...run.lines);
      through = lastId(run);
    }
    return lines;
  }

  /** New lines were stored: evaluate soon. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.loop().finally(() => {
      this.running = null;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.kick();
      } else {
        this.timer = setTimeout(() => this.kick(), this.deps.pollMs ?? 500);
        this.timer.unref();
      }
    });
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped && (await this.runOnce()) >= (this.deps.batchSize ?? BATCH_SIZE));
    } catch (err) {
      reportFailure(this.deps.logger, 'log_rules', err, 'log rules could not be evaluated; the lines wait and are tried again');
    }
  }

  /** The project's rules as they apply now (the API shows them). */
  async rulesFor(projectId: number): Promise<{ spec: LogRulesSpec; set: LogRuleSet | null; slug: string } | null> {
    const hit = this.rules.get(projectId);
    if (hit && Date.now() - hit.at < RULES_TTL_MS) return hit;
    const project = await this.deps.store.getProject(String(projectId));
    if (!project) return null;
    return this.resolve(project);
  }

  /** Forgets a project's cached rules (they were edited). */
  forget(projectId: number): void {
    this.rules.delete(projectId);
  }

  private async resolve(project: Project): Promise<{ spec: LogRulesSpec; set: LogRuleSet | null; slug: string }> {
    const settings = await this.deps.store.getProjectSettings(project.id);
    const stored = parseStoredLogRules(settings['log_rules']);
    if (stored.problem) this.deps.logger.error({ project: project.slug, problem: stored.problem }, 'the project\'s stored log rules cannot be read; the configured rules apply');
    const spec = resolveLogRules(this.deps.config, project.slug, stored.rules);
    const entry = { spec, set: compileLogRules(spec), slug: project.slug, at: Date.now() };
    this.rules.set(project.id, entry);
    return entry;
  }

  /** Evaluates one batch of lines (and the recoveries due); returns how many lines it read. */
  async runOnce(): Promise<number> {
    const { logs } = this.deps;
    if (!(await this.deps.lease(this.deps.workerId, Date.now(), LEASE_MS))) return 0;
    const from = await logs.ruleCursor();
    const lines = await this.linesAfter(from, this.deps.batchSize ?? BATCH_SIZE);
    const now = this.deps.clock.now();
    const states = new Map<number, Map<string, RuleState>>();
    const effects: RuleEffects = { events: [], notifications: [], matches: [] };
    const loaded = new Map<string, string>();

    // Each project's rules and states looked up once per batch, not once per line.
    const perProject = new Map<number, { set: LogRuleSet; states: Map<string, RuleState> } | null>();
    for (const line of lines) {
      let project = perProject.get(line.projectId);
      if (project === undefined) {
        const set = (await this.rulesFor(line.projectId))?.set;
        project = set ? { set, states: await this.statesOf(line.projectId, states, loaded) } : null;
        perProject.set(line.projectId, project);
      }
      if (project) applyLine(line, project.set, project.states, effects, (line as Screened).cleanFor === project.set);
    }
    await this.recoveries(now, states, loaded, effects);
    // Only the states this batch changed are written.
    const touched = new Set<string>();
    for (const [projectId, map] of states) {
      for (const [key, state] of map) if (loaded.get(`${projectId}\u0000${key}`) !== JSON.stringify(state)) touched.add(`${projectId}\u0000${key}`);
    }

    const to = lines.length ? lines[lines.length - 1]!.id : from;
    if (to === from && !touched.size) return 0;
    const eventIds = new Map<number, string>();
    if (effects.events.length) {
      // The whole lines (fields, logger, …) only for the few that become events.
      const whole = new Map((await logs.linesByIds(effects.events.map((e) => e.line.id))).map((l) => [l.id, l]));
      const items = effects.events.flatMap(({ line, pattern }) => {
        const stored = whole.get(line.id);
        if (!stored) return []; // pruned since it was read: nothing left to show
        const eventId = lineEventId(line);
        eventIds.set(line.id, eventId);
        return [forbiddenEvent(stored, pattern, eventId)];
      });
      if (items.length) await this.deps.spoolEvents(items);
    }
    const committed = await logs.commitRuleBatch({
      from,
      to,
      states: [...touched].map((k) => {
        const [projectId, ruleKey] = k.split('\u0000') as [string, string];
        const state = states.get(Number(projectId))!.get(ruleKey)!;
        return { projectId: Number(projectId), ruleKey, state: JSON.stringify(state), firing: isFiring(state, now), updatedAt: now };
      }),
      notifications: await this.notifications(effects.notifications),
      matches: effects.matches.map((m) => ({ id: m.line.id, rule: m.rule, eventId: eventIds.get(m.line.id) ?? null })),
      // Every line's duration counts, whether or not its project has log rules on.
      latency: operationLatencies(lines),
    });
    if (!committed) return 0; // another evaluator got there first (its lease moved): nothing applied here
    this.evaluated += lines.length;
    if (effects.notifications.length) this.deps.notify();
    return lines.length;
  }

  /** The next lines to judge: from memory when they were handed over, read back otherwise. */
  private async linesAfter(from: number, limit: number): Promise<RuleLine[]> {
    const handed = this.takeHanded(from, limit);
    if (handed) {
      this.sources.memory += handed.length;
      return handed;
    }
    const read = await this.deps.logs.linesAfter(from, limit);
    this.sources.database += read.length;
    return read;
  }

  /** A project's rule states, read once per batch; `loaded` keeps their JSON as read, to write only the changed ones. */
  private async statesOf(projectId: number, states: Map<number, Map<string, RuleState>>, loaded: Map<string, string>): Promise<Map<string, RuleState>> {
    let map = states.get(projectId);
    if (!map) {
      map = new Map();
      for (const s of await this.deps.logs.ruleStates({ projectId })) {
        const state = parseState(s);
        if (!state) continue;
        map.set(s.ruleKey, state);
        loaded.set(`${projectId}\u0000${s.ruleKey}`, JSON.stringify(state));
      }
      states.set(projectId, map);
    }
    return map;
  }

  /** Rate rules firing that have been calm for a window say so once. */
  private async recoveries(now: number, states: Map<number, Map<string, RuleState>>, loaded: Map<string, string>, effects: RuleEffects): Promise<void> {
    for (const firing of await this.deps.logs.ruleStates({ firing: true })) {
      const map = await this.statesOf(firing.projectId, states, loaded);
      const state = map.get(firing.ruleKey);
      if (state?.kind !== 'rate' || !state.firing) continue;
      const rules = await this.rulesFor(firing.projectId);
      // A rule taken out of the configuration while firing recovers at once.
      const limit = (rules?.set && rateLimitOf(rules.set, firing.ruleKey)) ?? { count: 0, windowMs: 0 };
      const notice = recover(firing.projectId, firing.ruleKey, state, limit, now);
      if (notice) effects.notifications.push(notice);
    }
  }

  private async notifications(notices: RuleNotice[]): Promise<NewNotification[]> {
    const out: NewNotification[] = [];
    for (const n of notices) {
      const slug = (await this.rulesFor(n.projectId))?.slug ?? String(n.projectId);
      out.push({
        projectId: n.projectId,
        monitorId: null,
        fingerprint: `log-rule:${n.projectId}:${n.ruleKey}`,
        kind: n.kind === 'log_rate' ? (n.pattern === null ? 'log_error_rate' : 'log_rate') : n.pattern === null ? 'log_error_rate_ok' : 'log_rate_ok',
        text: noticeText(n, slug),
        payload: noticePayload(n),
        // The forwarder judges age on wall-clock time, whatever the rules' clock.
        createdAt: Date.now(),
      });
    }
    return out;
  }
}

/** A line the expedite found matching none of these rules' patterns (the rules trust it for the same set). */
type Screened = RuleLine & { cleanFor?: LogRuleSet };

function lastId(run: StoredRun): number {
  return run.lines[run.lines.length - 1]!.id;
}

/** Firing for /status: a rate rule over its limit, a forbidden pattern seen in the last 24 h. */
function isFiring(state: RuleState, now: number): boolean {
  return state.kind === 'rate' ? state.firing : now - state.lastAt < 86_400_000;
}

export function parseState(s: LogRuleState): RuleState | null {
  try {
    const value = JSON.parse(s.state) as RuleState;
    return value && (value.kind === 'rate' || value.kind === 'forbidden') ? value : null;
  } catch {
    return null;
  }
}

function noticePayload(n: RuleNotice): Record<string, unknown> {
  const base = { rule: n.ruleKey, pattern: n.pattern, allowed: n.allowed, windowSeconds: n.windowMs / 1000 };
  return n.kind === 'log_rate' ? { ...base, seen: n.seen, lineId: n.line.id, message: n.line.message.slice(0, 500) } : { ...base, peak: n.peak };
}

/** The event id a forbidden line becomes: the same line always gives the same id, so a retry is a duplicate. */
export function lineEventId(line: Pick<LogLine, 'projectId' | 'id'>): string {
  return createHash('sha256').update(`botpulse-log-line:${line.projectId}:${line.id}`).digest('hex').slice(0, 32);
}

/**
 * The event a forbidden line becomes: grouped by its pattern (one issue per pattern and project),
 * at `fatal` so the alert rules send it at `critical` (repeated until acknowledged). The title is
 * the line (scrubbed when it was stored), the culprit names the pattern, and each matching line is
 * one more event, so the count is the number of lines that matched.
 */
export function forbiddenEvent(line: LogLine, pattern: string, eventId: string): SpoolItemInput {
  const event = {
    event_id: eventId,
    timestamp: line.time / 1000,
    level: 'fatal',
    platform: 'other',
    logger: line.logger ?? undefined,
    message: line.message,
    culprit: `forbidden log pattern: ${pattern}`,
    fingerprint: [FORBIDDEN_FINGERPRINT, pattern],
    environment: line.environment ?? undefined,
    release: line.release ?? undefined,
    tags: { 'log.rule': 'forbidden', 'log.pattern': pattern, 'log.level': line.level, ...(line.logger ? { 'log.logger': line.logger } : {}) },
    extra: { log_line_id: line.id, fields: line.fields },
  };
  return { projectId: line.projectId, kind: 'event', eventId, receivedAt: line.receivedAt, payload: Buffer.from(JSON.stringify(event)) };
}
