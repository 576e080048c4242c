import type { Level, NormalizedEvent } from '../digest/types.js';

export type IssueStatus = 'new' | 'in_progress' | 'resolved' | 'ignored';
export const ISSUE_STATUSES: readonly IssueStatus[] = ['new', 'in_progress', 'resolved', 'ignored'];

export interface LinkTemplate {
  /** What the link is for, shown as its label: `user`, `generation`... */
  name: string;
  /** URL with `{user.id}`, `{tags.gen_request_id}`, `{telegram.chat_id}` placeholders. */
  url: string;
}

export interface Project {
  id: number;
  slug: string;
  name: string;
  publicKey: string;
  shortIdPrefix: string;
  linkTemplates: LinkTemplate[];
  groupingVersion: number;
  createdAt: number;
}

export interface Issue {
  id: number;
  projectId: number;
  shortId: string;
  groupingVersion: number;
  fingerprint: string;
  title: string;
  culprit: string | null;
  level: Level;
  status: IssueStatus;
  origin: string | null;
  firstSeen: number;
  lastSeen: number;
  eventCount: number;
  userCount: number;
  firstRelease: string | null;
  lastRelease: string | null;
  resolvedAt: number | null;
  resolvedInRelease: string | null;
  /** Set when a resolved issue recurred; cleared when it is resolved again. */
  regressed: boolean;
  ignoreUntil: number | null;
  /** Ignore until the event count reaches this number. */
  ignoreUntilCount: number | null;
  githubUrl: string | null;
  httpStatus: number | null;
}

export interface StoredEvent {
  id: number;
  eventId: string;
  projectId: number;
  issueId: number;
  timestamp: number;
  receivedAt: number;
  level: Level;
  environment: string | null;
  release: string | null;
  origin: string | null;
  title: string;
  message: string | null;
  userKey: string | null;
  tags: Record<string, string>;
  /** The scrubbed Sentry payload, decompressed. */
  payload: NormalizedEvent['payload'];
  attachments: { filename: string; contentType: string | null; size: number }[];
}

/** What the digest learnt about an issue from one batch; the alert rules read these. */
export interface IssueChange {
  issue: Issue;
  /** The issue did not exist before this batch. */
  created: boolean;
  /** A resolved issue recurred (release-aware). */
  regressed: boolean;
  /** An ignored issue's condition ended. */
  unignored: boolean;
  /** Events added to the issue in this batch. */
  newEvents: number;
  lastEvent: NormalizedEvent;
}
