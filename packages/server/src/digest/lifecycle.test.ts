import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Issue, NormalizedEvent } from '../store/model.js';
import type { BatchEvent, ReleaseFirstSeen } from '../store/store.js';
import { digestIssues, openingState, releasesToCompare } from './lifecycle.js';

// Table tests of each lifecycle rule, straight on the pure module (no store): the SQLite and the
// PostgreSQL store both get their decisions from here.

const NOW = 1_800_000_000_000;
const P = 1;

function issue(over: Partial<Issue> = {}): Issue {
  return {
    id: 7, projectId: P, shortId: 'B-007', groupingVersion: 1, fingerprint: 'f', title: 'TypeError: boom', culprit: null,
    level: 'error', status: 'new', origin: null, firstSeen: NOW - 10_000, lastSeen: NOW - 10_000, eventCount: 3, userCount: 1,
    firstRelease: null, lastRelease: null, resolvedAt: null, resolvedInRelease: null, regressed: false,
    ignoreUntil: null, ignoreUntilCount: null, githubUrl: null, httpStatus: null, ...over,
  };
}

let seq = 0;
function event(over: Partial<NormalizedEvent> = {}): NormalizedEvent {
  return {
    eventId: String(++seq).padStart(32, '0'), timestamp: NOW - 1000, level: 'error', platform: 'node', environment: null, release: null,
    serverName: null, transaction: null, origin: null, title: 'TypeError: boom', culprit: null, message: null, exceptionType: null,
    exceptionValue: null, userKey: null, telegram: null, request: null, tags: {}, payload: {}, ...over,
  };
}

/** One issue, its events in order; returns its change. */
function run(before: Issue, events: Partial<NormalizedEvent>[], known: ReleaseFirstSeen[] = [], opts: { newUser?: boolean[]; created?: boolean } = {}) {
  const into = { issue: before, created: opts.created ?? false };
  const batch: BatchEvent[] = events.map((e, i) => ({ into, event: event(e), newUser: opts.newUser?.[i] ?? false }));
  const { changes, releases } = digestIssues(batch, known, NOW);
  assert.equal(changes.length, 1);
  return { change: changes[0]!, releases };
}

const release = (version: string, firstSeen: number): ReleaseFirstSeen => ({ projectId: P, version, firstSeen });

describe('issue lifecycle: regression (release-aware)', () => {
  const resolved = (resolvedInRelease: string | null) => issue({ status: 'resolved', resolvedAt: NOW - 5000, resolvedInRelease });
  const cases: { name: string; fix: string | null; eventRelease: string | null; known: ReleaseFirstSeen[]; regressed: boolean }[] = [
    { name: 'no fix release: any event reopens', fix: null, eventRelease: '1.0', known: [], regressed: true },
    { name: 'event without a release reopens', fix: '2.0', eventRelease: null, known: [release('2.0', 100)], regressed: true },
    { name: 'event from the fix release reopens', fix: '2.0', eventRelease: '2.0', known: [release('2.0', 100)], regressed: true },
    { name: 'event from a release first seen before the fix does not', fix: '2.0', eventRelease: '1.0', known: [release('1.0', 50), release('2.0', 100)], regressed: false },
    { name: 'event from a release first seen after the fix reopens', fix: '2.0', eventRelease: '3.0', known: [release('2.0', 100), release('3.0', 200)], regressed: true },
    { name: 'fix release never seen: every event is from an older build', fix: '2.0', eventRelease: '1.0', known: [release('1.0', 50)], regressed: false },
    { name: 'a new release (first seen now, after the fix) reopens', fix: '2.0', eventRelease: '3.0', known: [release('2.0', 100)], regressed: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { change } = run(resolved(c.fix), [{ release: c.eventRelease }], c.known);
      assert.equal(change.regressed, c.regressed);
      assert.equal(change.issue.status, c.regressed ? 'new' : 'resolved');
      assert.equal(change.issue.regressed, c.regressed);
      assert.equal(change.issue.resolvedAt, c.regressed ? null : NOW - 5000);
    });
  }

  it('a release first seen earlier in the same batch counts as seen from then on', () => {
    // The fix release 2.0 is unknown until the batch's first event names it; the second event, from
    // a release first seen later still, then reopens the issue.
    const { change, releases } = run(resolved('2.0'), [{ release: '1.0', timestamp: NOW - 3000 }, { release: '2.0', timestamp: NOW - 2000 }, { release: '3.0', timestamp: NOW - 1000 }], [release('1.0', 10)]);
    assert.equal(change.regressed, true, 'the event from 2.0 (the fix release itself) reopens');
    assert.deepEqual(releases, [release('2.0', NOW - 2000), release('3.0', NOW - 1000)]);
  });

  it('a release is first seen by the batch event that names it first, whatever its issue', () => {
    const a = { issue: issue({ id: 1 }), created: false };
    const b = { issue: issue({ id: 2, status: 'resolved', resolvedInRelease: '2.0' }), created: false };
    const batch: BatchEvent[] = [
      { into: a, event: event({ release: '2.0', timestamp: NOW - 3000 }), newUser: false },
      { into: b, event: event({ release: '3.0', timestamp: NOW - 1000 }), newUser: false },
    ];
    const { changes } = digestIssues(batch, [], NOW);
    assert.equal(changes[1]!.regressed, true, 'the fix release 2.0 was seen (by issue 1) before 3.0 was');
  });
});

describe('issue lifecycle: un-ignore after a mute ends', () => {
  const cases: { name: string; ignored: Partial<Issue>; events: number; unignored: boolean }[] = [
    { name: 'muted until a time that has passed', ignored: { ignoreUntil: NOW - 1 }, events: 1, unignored: true },
    { name: 'muted until exactly now', ignored: { ignoreUntil: NOW }, events: 1, unignored: true },
    { name: 'muted until a later time', ignored: { ignoreUntil: NOW + 60_000 }, events: 1, unignored: false },
    { name: 'muted until the count reaches 5, now 4', ignored: { ignoreUntilCount: 5 }, events: 1, unignored: false },
    { name: 'muted until the count reaches 5, now 5', ignored: { ignoreUntilCount: 5 }, events: 2, unignored: true },
    { name: 'muted for ever (no condition)', ignored: {}, events: 3, unignored: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { change } = run(issue({ status: 'ignored', eventCount: 3, ...c.ignored }), Array.from({ length: c.events }, () => ({})));
      assert.equal(change.unignored, c.unignored);
      assert.equal(change.issue.status, c.unignored ? 'new' : 'ignored');
      if (c.unignored) assert.deepEqual([change.issue.ignoreUntil, change.issue.ignoreUntilCount], [null, null]);
    });
  }

  it('an issue that is new or in progress is left as it is', () => {
    for (const status of ['new', 'in_progress'] as const) {
      const { change } = run(issue({ status }), [{}]);
      assert.deepEqual([change.issue.status, change.regressed, change.unignored], [status, false, false]);
    }
  });
});

describe('issue lifecycle: counts, first/last seen, level, last event', () => {
  it('counts events and new users, keeps first seen, moves last seen forward only', () => {
    const { change } = run(issue({ eventCount: 3, userCount: 1 }), [{ timestamp: NOW - 500 }, { timestamp: NOW - 20_000 }, { timestamp: NOW - 800 }], [], { newUser: [true, false, true] });
    assert.equal(change.issue.eventCount, 6);
    assert.equal(change.issue.userCount, 3);
    assert.equal(change.newEvents, 3);
    assert.equal(change.issue.firstSeen, NOW - 10_000);
    assert.equal(change.issue.lastSeen, NOW - 500, 'a late event does not move last seen back');
  });

  const levels: { from: Issue['level']; events: Issue['level'][]; to: Issue['level'] }[] = [
    { from: 'error', events: ['warning', 'info'], to: 'error' },
    { from: 'warning', events: ['error'], to: 'error' },
    { from: 'error', events: ['fatal', 'debug'], to: 'fatal' },
    { from: 'debug', events: ['info'], to: 'info' },
  ];
  for (const l of levels) {
    it(`level ${l.from} + events ${l.events.join(', ')} → ${l.to} (the most severe)`, () => {
      assert.equal(run(issue({ level: l.from }), l.events.map((level) => ({ level }))).change.issue.level, l.to);
    });
  }

  it('takes release, origin and HTTP status from the last event that has them', () => {
    const { change } = run(issue({ lastRelease: '1.0', origin: 'webhook', httpStatus: 500 }), [
      { release: '1.1', origin: 'worker', request: { method: 'GET', url: null, urlPattern: null, statusCode: 502, ip: null, userAgent: null } },
      { release: null, origin: null, request: null },
    ]);
    assert.deepEqual([change.issue.lastRelease, change.issue.origin, change.issue.httpStatus], ['1.1', 'worker', 502]);
    assert.equal(change.lastEvent.release, null, 'lastEvent is the last event of the batch');
  });

  it('leaves the issue it was given unchanged and reports created as given', () => {
    const before = issue();
    const copy = structuredClone(before);
    const { change } = run(before, [{}], [], { created: true });
    assert.deepEqual(before, copy);
    assert.equal(change.created, true);
  });

  it('a new issue opens from its first event with zero counts, then counts that event', () => {
    const first = event({ level: 'warning', release: '1.0', origin: 'handler', timestamp: NOW - 42 });
    const opened = { ...issue(), ...openingState(first) };
    assert.deepEqual([opened.status, opened.eventCount, opened.userCount, opened.firstSeen, opened.firstRelease], ['new', 0, 0, NOW - 42, '1.0']);
    const { changes } = digestIssues([{ into: { issue: opened, created: true }, event: first, newUser: true }], [], NOW);
    assert.deepEqual([changes[0]!.issue.eventCount, changes[0]!.issue.userCount, changes[0]!.created], [1, 1, true]);
  });
});

describe('issue lifecycle: the releases a store must read', () => {
  it('names the fix release and the event releases of resolved issues only', () => {
    const resolved = { issue: issue({ id: 1, status: 'resolved', resolvedInRelease: '2.0' }), created: false };
    const open = { issue: issue({ id: 2 }), created: false };
    const wanted = releasesToCompare([
      { into: resolved, event: event({ release: '1.0' }), newUser: false },
      { into: resolved, event: event({ release: null }), newUser: false },
      { into: open, event: event({ release: '9.9' }), newUser: false },
    ]);
    assert.deepEqual(wanted, [{ projectId: P, version: '2.0' }, { projectId: P, version: '1.0' }]);
  });
});
