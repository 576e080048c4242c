import type { Generated } from 'kysely';

/** Table shapes as Kysely sees them (times are ms since epoch, booleans 0/1). */
export interface Database {
  projects: {
    id: Generated<number>;
    slug: string;
    name: string;
    public_key: string;
    short_id_prefix: string;
    next_short_id: Generated<number>;
    link_templates: Generated<string>;
    grouping_version: Generated<number>;
    created_at: number;
    previous_public_key: string | null;
    previous_key_expires_at: number | null;
    deleting_at: number | null;
  };
  issues: {
    id: Generated<number>;
    project_id: number;
    short_number: number;
    grouping_version: number;
    fingerprint: string;
    title: string;
    culprit: string | null;
    level: string;
    status: Generated<string>;
    origin: string | null;
    first_seen: number;
    last_seen: number;
    event_count: Generated<number>;
    user_count: Generated<number>;
    first_release: string | null;
    last_release: string | null;
    resolved_at: number | null;
    resolved_in_release: string | null;
    regressed: Generated<number>;
    ignore_until: number | null;
    ignore_until_count: number | null;
    github_url: string | null;
    github_number: number | null;
    http_status: number | null;
    assignee: string | null;
    resolved_next_release: Generated<number>;
  };
  events: {
    id: Generated<number>;
    project_id: number;
    issue_id: number;
    event_id: string;
    timestamp: number;
    received_at: number;
    level: string;
    environment: string | null;
    release: string | null;
    origin: string | null;
    title: string;
    message: string | null;
    user_key: string | null;
    tg_chat_id: string | null;
    tg_user_id: string | null;
    tg_update_id: number | null;
    http_status: number | null;
    url_pattern: string | null;
    tags: string;
    payload: Buffer;
  };
  attachments: {
    id: Generated<number>;
    project_id: number;
    event_id: string;
    filename: string;
    content_type: string | null;
    size: number;
    data: Buffer;
    created_at: number;
  };
  issue_users: { issue_id: number; user_key: string };
  issue_hourly: { issue_id: number; hour: number; count: number };
  issue_daily: { issue_id: number; day: number; count: number };
  /** Issues per project and status, kept by triggers on `issues` (migration 027); sum the slots and the deltas. */
  issue_status_counts: { project_id: number; status: string; slot: number; count: number };
  /** PostgreSQL's status changes not folded into issue_status_counts yet (migration 030); SQLite's stays empty. */
  issue_status_deltas: { project_id: number; status: string; delta: number };
  issue_tags: { issue_id: number; key: string; value: string; count: number; last_seen: number };
  releases: { project_id: number; version: string; first_seen: number };
  spool: SpoolTable;
  raw_items: SpoolTable;
  item_counts: { project_id: number; kind: string; count: number };
  digest_quarantine: {
    id: Generated<number>;
    spool_id: number;
    project_id: number;
    kind: string;
    event_id: string | null;
    received_at: number;
    payload: Buffer;
    meta: string | null;
    error: string;
    quarantined_at: number;
  };
  client_discards: { project_id: number; reason: string; category: string; quantity: number; first_at: number; last_at: number };
  api_tokens: { id: Generated<number>; label: string; token_hash: string; created_at: number; role: Generated<string>; last_used_at: number | null };
  users: { login: string; password_hash: string; created_at: number; telegram: string | null; role: Generated<string> };
  issue_history: {
    id: Generated<number>;
    issue_id: number;
    project_id: number;
    at: number;
    actor_kind: string;
    actor: string;
    action: string;
    detail: string | null;
  };
  login_attempts: { key_hash: string; attempts: number; window_start: number };
}

interface SpoolTable {
  id: Generated<number>;
  project_id: number;
  kind: string;
  event_id: string | null;
  received_at: number;
  payload: Buffer;
  meta: string | null;
}
