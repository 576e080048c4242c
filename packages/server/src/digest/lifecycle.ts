import type { Issue, IssueChange, Level, NormalizedEvent } from '../store/model.js';
import type { BatchEvent, IssueLifecycle, IssueOpening, ReleaseFirstSeen, ReleaseRef } from '../store/store.js';
import { ownEntry } from '../lib/own-entry.js';

/**
 * The issue lifecycle: what a batch of digested events does to the issues they belong to. Pure (no
 * I/O, no clock): every store reads the issues and the releases the rules compare, hands them here,
 * and writes back what comes out. So the SQLite and the PostgreSQL store cannot drift apart on
 * when an issue regresses, comes back from a mute, or which level it shows.
 *
 * Rules (docs/architecture.md, "Issue lifecycle"):
 * - counts: every event adds one to the issue's event count; a user the issue had not seen adds one
 *   to its user count; last seen is the latest event time (a late event never moves it back).
 * - level: the most severe level any event had (fatal > error > warning > info > debug).
 * - release, origin, HTTP status: the last event's, when it has one.
 * - regression: an event on a resolved issue reopens it (`new`, regressed) unless it comes from a
 *   release first seen before the release the fix shipped in, or the fix release has not been seen
 *   yet (every event is then from an older build). Resolved in the next release: unless it comes
 *   from a release first seen before the issue was resolved.
 * - un-ignore: an ignored issue returns to `new` at the first event after its mute ended (the time
 *   passed, or the event count reached the count it waited for).
 */

const LEVEL_RANK: Record<string, number> = { debug: 0, info: 1, warning: 2, error: 3, fatal: 4 };

/** Releases per project, by when each was first seen (ms): the order the regression rule compares. */
class ReleaseOrder {
  private readonly firstSeenAt = new Map<string, number>();
  private readonly seenNow = new Map<string, ReleaseFirstSeen>();

  constructor(known: Iterable<ReleaseFirstSeen>) {
    for (const r of known) this.firstSeenAt.set(releaseKey(r.projectId, r.version), r.firstSeen);
  }

  firstSeen(projectId: number, version: string): number | undefined {
    return this.firstSeenAt.get(releaseKey(projectId, version));
  }

  /** A release is first seen at the time of the first event that names it (in digest order). */
  see(projectId: number, version: string, at: number): void {
    const key = releaseKey(projectId, version);
    if (this.firstSeenAt.has(key)) return;
    this.firstSeenAt.set(key, at);
    this.seenNow.set(key, { projectId, version, firstSeen: at });
  }

  /** Releases this order had not known: the store records each one it does not have yet. */
  seenInBatch(): ReleaseFirstSeen[] {
    return [...this.seenNow.values()];
  }
}

function releaseKey(projectId: number, version: string): string {
  return `${projectId}\u0000${version}`;
}

/** The fields a new issue is created with, from its first event (then counted by `digestIssues`). */
export function openingState(event: NormalizedEvent): IssueOpening {
  return {
    title: event.title,
    culprit: event.culprit,
    level: event.level,
    status: 'new',
    origin: event.origin,
    firstSeen: event.timestamp,
    lastSeen: event.timestamp,
    eventCount: 0,
    userCount: 0,
    firstRelease: event.release,
    lastRelease: event.release,
    httpStatus: event.request?.statusCode ?? null,
  };
}

/**
 * The releases whose first-seen time the regression rule may compare in this batch: each resolved
 * issue's fix release and the releases of its events. The store reads those it has (as they were
 * before the batch) and passes them to `digestIssues`.
 */
export function releasesToCompare(events: Iterable<BatchEvent>): ReleaseRef[] {
  const wanted = new Map<string, ReleaseRef>();
  const want = (projectId: number, version: string | null) => {
    if (version) wanted.set(releaseKey(projectId, version), { projectId, version });
  };
  for (const { into: { issue }, event } of events) {
    if (issue.status !== 'resolved' || !(issue.resolvedInRelease || issue.resolvedInNextRelease)) continue;
    want(issue.projectId, issue.resolvedInRelease);
    want(issue.projectId, event.release);
  }
  return [...wanted.values()];
}

/**
 * Applies a batch of events, given in digest order (a release is first seen by whichever event of
 * the batch names it first, whatever its issue). `known`: the releases `releasesToCompare` named
 * that the store has. Returns one change per issue with its new state, in the order the issues
 * first appear, and the releases to record as first seen now (the store keeps any it already has).
 * The issues given are not modified.
 */
export function digestIssues(events: BatchEvent[], known: ReleaseFirstSeen[], now: number): { changes: IssueChange[]; releases: ReleaseFirstSeen[] } {
  const releases = new ReleaseOrder(known);
  const changes = new Map<BatchEvent['into'], IssueChange>();
  for (const incoming of events) {
    let change = changes.get(incoming.into);
    if (!change) {
      change = startChange(incoming.into, incoming.event);
      changes.set(incoming.into, change);
    }
    advance(change, incoming, releases, now);
  }
  return { changes: [...changes.values()], releases: releases.seenInBatch() };
}

/** What a store is handed (store/store.ts `IssueLifecycle`). */
export const issueLifecycle: IssueLifecycle = { openingState, releasesToCompare, digestIssues };

function startChange({ issue, created }: BatchEvent['into'], first: NormalizedEvent): IssueChange {
  return { issue: { ...issue }, created, regressed: false, unignored: false, newEvents: 0, lastEvent: first };
}

function advance(change: IssueChange, { event: e, newUser }: BatchEvent, releases: ReleaseOrder, now: number): void {
  const issue = change.issue;
  if (e.release) releases.see(issue.projectId, e.release, e.timestamp);
  issue.eventCount += 1;
  if (newUser) issue.userCount += 1;
  issue.lastSeen = Math.max(issue.lastSeen, e.timestamp);
  if (rank(e.level) > rank(issue.level)) issue.level = e.level;
  if (e.release) issue.lastRelease = e.release;
  if (e.origin) issue.origin = e.origin;
  if (e.request?.statusCode) issue.httpStatus = e.request.statusCode;
  change.newEvents += 1;
  change.lastEvent = e;

  if (issue.status === 'resolved' && !isFromOlderRelease(issue, e.release, releases)) {
    issue.status = 'new';
    issue.regressed = true;
    issue.resolvedAt = null;
    issue.resolvedInNextRelease = false;
    change.regressed = true;
    change.regressedIn = e.release;
  } else if (issue.status === 'ignored' && ignoreEnded(issue, now)) {
    issue.status = 'new';
    issue.ignoreUntil = null;
    issue.ignoreUntilCount = null;
    change.unignored = true;
  }
}

const rank = (level: Level | string): number => ownEntry(LEVEL_RANK, level) ?? 3;

/**
 * True when the event comes from a release first seen before the release the fix shipped in
 * (or the fix release has not been seen at all yet: every event is then from an older build).
 * Resolved "in the next release": the fix ships in whichever release is first seen after the
 * issue was resolved, so an event from a release first seen before then is from an older build.
 */
function isFromOlderRelease(issue: Issue, eventRelease: string | null, releases: ReleaseOrder): boolean {
  const { projectId, resolvedInRelease: fixRelease } = issue;
  if (issue.resolvedInNextRelease && eventRelease && issue.resolvedAt !== null) {
    const eventSeen = releases.firstSeen(projectId, eventRelease);
    return eventSeen !== undefined && eventSeen < issue.resolvedAt;
  }
  if (!fixRelease || !eventRelease || eventRelease === fixRelease) return false;
  const fixSeen = releases.firstSeen(projectId, fixRelease);
  if (fixSeen === undefined) return true;
  const eventSeen = releases.firstSeen(projectId, eventRelease);
  return eventSeen !== undefined && eventSeen < fixSeen;
}

function ignoreEnded(issue: Issue, now: number): boolean {
  if (issue.ignoreUntil !== null && issue.ignoreUntil <= now) return true;
  return issue.ignoreUntilCount !== null && issue.eventCount >= issue.ignoreUntilCount;
}
