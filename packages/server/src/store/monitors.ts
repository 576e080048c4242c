/**
 * What the monitors keep (docs/monitors.md). SQLite implements it on SqliteStore's connection
 * (`sqlite/monitors.ts`); `monitors.contract.ts` is the behaviour every implementation must pass.
 * Times are milliseconds since the epoch.
 */

export type MonitorKind = 'heartbeat' | 'uptime';
export type MonitorStatus = 'new' | 'up' | 'late' | 'down' | 'paused';
export const MONITOR_STATUSES: readonly MonitorStatus[] = ['new', 'up', 'late', 'down', 'paused'];
/**
 * Who made the monitor: a check-in's `monitor_config` only edits monitors it made itself (the API
 * and the config file win); `config` monitors are kept as BOTPULSE_MONITORS declares them.
 */
export type MonitorSource = 'api' | 'checkin' | 'ping' | 'config';

export interface MonitorSettings {
  periodMs: number;
  graceMs: number;
  /** A 5-field cron expression; with it, pings are expected at its matches instead of every period. */
  schedule: string | null;
  timezone: string | null;
  /** Consecutive failed check-ins (missed, or status error) before the monitor goes down. */
  failureThreshold: number;
  /** Consecutive good check-ins before a down monitor is up again. */
  recoveryThreshold: number;
  /** Uptime monitors: the URL probed and its timeout. */
  url: string | null;
  timeoutMs: number | null;
  /** Redis key of the bot's polling lock (BOTPULSE_REDIS_URL), default bot_polling_lock. */
  lockKey: string | null;
  /** Update lag (p95 of a minute) above which a minute counts as late; 0: no lag alert; null: BOTPULSE_THRESHOLD_UPDATE_LAG. */
  updateLagMs: number | null;
  /** How long the lag must stay above the limit before it alerts; null: BOTPULSE_THRESHOLD_UPDATE_LAG. */
  updateLagForMs: number | null;
}

/** The settings a person can set by hand (API, dashboard); a check-in's `monitor_config` never overwrites them. */
export type SettingName = keyof MonitorSettings;

/**
 * A monitor as the state machine sees it: its settings (shared by all its environments) and the
 * state of ONE environment. A monitor has one such state per environment its check-ins came from
 * (Sentry's MonitorEnvironment); `environment` null is the state it was created with (API, config,
 * uptime probes, or before environments existed), which the first check-in's environment adopts.
 */
export interface Monitor extends MonitorSettings {
  id: number;
  projectId: number;
  slug: string;
  kind: MonitorKind;
  source: MonitorSource;
  /** Settings a person set (API or dashboard): check-ins' monitor_config leaves them alone. */
  manualFields: SettingName[];
  /** The state row (one per environment). */
  stateId: number;
  environment: string | null;
  status: MonitorStatus;
  failures: number;
  successes: number;
  /** The next time the sweeper must look at this monitor (late, down, or a probe due); null: nothing scheduled. */
  deadline: number | null;
  lastPingAt: number | null;
  lastOkAt: number | null;
  lastReason: string | null;
  downSince: number | null;
  downReason: string | null;
  /** The down alert went out (seed 001's `bot_polling_alert_sent`); cleared on recovery. */
  alertSent: boolean;
  /** The SDK's last `contexts.polling` (host, pid, last_get_updates_ok_at, conflicts...). */
  polling: Record<string, unknown> | null;
  /** Numeric fields of the last /health answer. */
  gauges: Record<string, number> | null;
  /** What the bot's SDK reported of webhook health, update lag and 429s, and each signal rule's state (null: never reported). */
  signals: BotSignalsState | null;
  conflictsTotal: number;
  conflictSince: number | null;
  conflictAlerted: boolean;
  createdAt: number;
  /** The state's version: every state write moves it forward (conditional updates compare it). */
  updatedAt: number;
}

/** The state fields a Transition may set. */
export type MonitorStateFields = Pick<
  Monitor,
  'status' | 'failures' | 'successes' | 'deadline' | 'lastPingAt' | 'lastOkAt' | 'lastReason' | 'downSince' | 'downReason' | 'alertSent' | 'polling' | 'gauges' | 'signals' | 'conflictsTotal' | 'conflictSince' | 'conflictAlerted' | 'updatedAt'
>;

/** The bot signals the monitors judge (monitors/signals.ts). */
export type SignalName = 'webhook' | 'update_lag' | 'throttled';
export const SIGNAL_NAMES: readonly SignalName[] = ['webhook', 'update_lag', 'throttled'];

/** One closed minute as the SDK reported it (times in ms, lag in seconds). */
export interface MinuteReport {
  start: number;
  updates: number;
  dated: number;
  lagP50: number | null;
  lagP95: number | null;
  lagMax: number | null;
  throttled: number;
  retryAfterSeconds: number;
  /** 429s by Bot API method (at most a handful, the rest as "other"). */
  methods: Record<string, number>;
}

/** The bot's last getWebhookInfo (webhook mode). */
export interface WebhookReport {
  checkedAt: number | null;
  urlSet: boolean | null;
  pendingUpdateCount: number | null;
  lastErrorAt: number | null;
  lastErrorMessage: string | null;
  /** getWebhookInfo itself failed; the rest is the last good answer. */
  checkError: string | null;
}

/** A signal rule's state (Prometheus semantics, as the threshold rules'). */
export interface SignalRuleState {
  state: 'inactive' | 'pending' | 'firing';
  /** Start of the streak (pending/firing). */
  since: number | null;
  /** The value that made the last decision (pending updates, lag p95 s, retry_after s a minute). */
  value: number | null;
  /** What the alert said (firing), for the page and /status. */
  detail: string | null;
}

/** `monitor_states.signals` (migration 011). */
export interface BotSignalsState {
  webhook: WebhookReport | null;
  /** The newest reported minutes (at most 10), oldest first. */
  minutes: MinuteReport[];
  /** Start of the newest minute already judged: minutes a later check-in repeats are judged once. */
  judgedUpTo: number | null;
  rules: Record<SignalName, SignalRuleState>;
  /** Sums over every judged minute (/metrics counters). */
  totals: { updates: number; throttled: number; retryAfterSeconds: number };
  /** Parts of reports that could not be read (ignored, never a reason to refuse the check-in). */
  ignored: { count: number; last: string | null; at: number | null };
}

export interface NewMonitor extends Partial<MonitorSettings> {
  projectId: number;
  slug: string;
  kind: MonitorKind;
  source: MonitorSource;
  /** Settings a person gave (API): kept against check-ins' monitor_config. */
  manualFields?: SettingName[];
}

/** A settings change: the values to write, and which fields become (or stop being) set by hand. */
export interface SettingsChange {
  set: Partial<MonitorSettings> & { source?: MonitorSource };
  /** Fields now set by a person. */
  manual?: SettingName[];
  /** Fields given back to the check-ins' monitor_config. */
  unmanual?: SettingName[];
}

export interface Flip {
  id: number;
  monitorId: number;
  projectId: number;
  at: number;
  from: MonitorStatus;
  to: MonitorStatus;
  reason: string | null;
  environment: string | null;
}

/**
 * `forwarded`: handed to the alert outbox, which delivers it (its rows' statuses say how that
 * went); `sent`: delivered directly, by versions before notifications went through the outbox.
 */
export type NotificationStatus = 'pending' | 'forwarded' | 'sent' | 'failed' | 'silenced' | 'inhibited' | 'no_target';

export interface NewNotification {
  projectId: number;
  monitorId: number | null;
  /** Same alert, same fingerprint (`monitor:<id>`, `rule:<project>:<rule>`). */
  fingerprint: string;
  kind: string;
  /** Telegram HTML. */
  text: string;
  payload: Record<string, unknown>;
  createdAt: number;
}

export interface Notification extends NewNotification {
  id: number;
  status: NotificationStatus;
  doneTargets: string[];
  attempts: number;
  nextAttemptAt: number;
  sentAt: number | null;
  lastError: string | null;
}

/**
 * A state change, applied only if the monitor is still as the caller read it (`expect`): two
 * sweepers, or a ping racing the sweeper, never both flip a monitor.
 */
export interface Transition {
  /** The state row (one monitor in one environment). */
  stateId: number;
  expect: { status: MonitorStatus; updatedAt: number };
  set: Partial<MonitorStateFields>;
  /** Written into the history when the status changes. */
  flip?: { at: number; from: MonitorStatus; to: MonitorStatus; reason: string | null };
  notify?: NewNotification[];
}

export interface LatencyMinute {
  projectId: number;
  minute: number;
  buckets: number[];
  count: number;
  sumMs: number;
}

export interface RuleState {
  fingerprint: string;
  projectId: number;
  rule: string;
  state: 'inactive' | 'pending' | 'firing';
  since: number | null;
  value: number | null;
  updatedAt: number;
}

export interface MonitorFilter {
  projectId?: number;
  kind?: MonitorKind;
  status?: MonitorStatus;
  /** Not paused. */
  active?: boolean;
  /** Pinged at least once, last before this time. */
  pingedBefore?: number;
  /** Made by these sources (the check-in monitor limit counts `checkin` and `ping`). */
  sources?: MonitorSource[];
  /** Only states in this environment, or (null) not tied to one; `environments: [null, 'production']` matches either. */
  environments?: (string | null)[];
  /** Only states whose bot reported signals (webhook, lag, 429s). */
  withSignals?: boolean;
  /** A page: states after this state id, by state id (instead of by project and slug), at most `limit` (listMonitors only). */
  afterStateId?: number;
  limit?: number;
}

/** Why check-ins were not applied (counted per project, shown on the monitors page and in /metrics). */
export type RefusalReason = 'limit' | 'slug' | 'schedule';

export interface Refusal {
  projectId: number;
  reason: RefusalReason;
  count: number;
  firstAt: number;
  lastAt: number;
  lastSlug: string | null;
  lastDetail: string | null;
}

export interface MonitorStore {
  /** Creates the monitor with its first state (environment null: not tied to one yet). */
  createMonitor(input: NewMonitor, now: number): Promise<Monitor>;
  /**
   * Creates the monitor if (project, slug) is new; returns it either way (its first state). With
   * `limit`, a NEW monitor is created only while the project has fewer than `limit.max` monitors of
   * `limit.sources`, counted in the same transaction; otherwise `{ monitor: null, created: false }`.
   */
  ensureMonitor(input: NewMonitor, now: number): Promise<{ monitor: Monitor; created: boolean }>;
  ensureMonitor(input: NewMonitor, now: number, limit: { max: number; sources: MonitorSource[] }): Promise<{ monitor: Monitor; created: boolean } | { monitor: null; created: false }>;
  /**
   * The state of `monitor` in `environment`: its own row if it has one; else the monitor's state
   * not tied to an environment yet, which this environment adopts; else a new state (status new).
   */
  ensureEnvironment(monitorId: number, environment: string, now: number): Promise<Monitor>;
  /** The monitor in its first state (the oldest environment row). */
  getMonitor(id: number): Promise<Monitor | null>;
  /** One state row. */
  getState(stateId: number): Promise<Monitor | null>;
  /** Every environment of the monitor, oldest first. */
  monitorStates(monitorId: number): Promise<Monitor[]>;
  /** The monitor in its first state, or in `environment` when given (null if it has no such state). */
  findMonitor(projectId: number, slug: string, environment?: string): Promise<Monitor | null>;
  /** One entry per (monitor, environment), by project and slug. */
  listMonitors(filter?: MonitorFilter): Promise<Monitor[]>;
  /**
   * Every state of the next `limit` monitors after monitor id `afterId`, by monitor id: one page of
   * a read of all monitors in slices (the /metrics scrape yields to the event loop between pages).
   */
  monitorsAfter(afterId: number, limit: number): Promise<Monitor[]>;
  /** How many (monitor, environment) states match, without reading them (the threshold pass asks every tick). */
  countMonitors(filter?: MonitorFilter): Promise<number>;
  /** How many monitors (not states) of the project match: the check-in monitor limit. */
  countProjectMonitors(projectId: number, sources?: MonitorSource[]): Promise<number>;
  deleteMonitor(id: number): Promise<void>;
  /** Changes settings in one transaction; `change` sees the current monitor (null: it is gone). */
  updateSettings(monitorId: number, change: (current: Monitor) => SettingsChange | null, now: number): Promise<Monitor | null>;
  /** States whose deadline has passed, soonest first. */
  dueMonitors(now: number, limit: number): Promise<Monitor[]>;
  /** Applies a transition in one transaction; false (nothing written) if the state changed meanwhile. */
  transition(t: Transition): Promise<boolean>;
  /** Moves every deadline before `until` to `until` (no monitor judged before the server had a full period to hear it). */
  postponeDeadlines(until: (m: Monitor) => number): Promise<number>;
  /** The history of every environment of the monitor, newest first. */
  flips(monitorId: number, opts?: { limit?: number; since?: number }): Promise<Flip[]>;
  /**
   * What uptime is computed from (monitors/uptime.ts), oldest first: per environment the last flip
   * before `since` (the status that environment entered the window in), then every flip from `since` on.
   */
  flipsForUptime(monitorId: number, since: number): Promise<Flip[]>;

  /** Counts a check-in that could not be applied (atomically: several processes may count at once). */
  countRefusal(projectId: number, reason: RefusalReason, at: number, slug: string | null, detail: string | null, count?: number): Promise<void>;
  refusals(projectId?: number): Promise<Refusal[]>;

  enqueue(n: NewNotification): Promise<Notification>;
  /** Claims due pending notifications (conditional update: one worker each). */
  claimNotifications(workerId: string, now: number, leaseMs: number, limit: number): Promise<Notification[]>;
  finishNotification(id: number, workerId: string, result: { status: NotificationStatus; doneTargets: string[]; sentAt?: number; error?: string; retryAt?: number }): Promise<void>;
  notifications(filter?: { projectId?: number; monitorId?: number; limit?: number }): Promise<Notification[]>;

  addLatency(projectId: number, minute: number, buckets: number[], count: number, sumMs: number): Promise<void>;
  latency(projectId: number, fromMinute: number, toMinute: number): Promise<LatencyMinute[]>;
  pruneLatency(beforeMinute: number): Promise<number>;

  getRuleState(fingerprint: string): Promise<RuleState | null>;
  setRuleState(state: RuleState): Promise<void>;
  ruleStates(filter?: { projectId?: number; rule?: string; activeOnly?: boolean }): Promise<RuleState[]>;

  getValue(key: string): Promise<string | null>;
  setValue(key: string, value: string): Promise<void>;
}
