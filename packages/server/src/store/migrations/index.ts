import type { Migration } from 'kysely';
import * as m001 from './001_initial.js';
import * as m002 from './002_dashboard.js';
import * as m003 from './003_dashboard_indexes.js';
import * as m004 from './004_alerts.js';
import * as m005 from './005_monitors.js';
import * as m006 from './006_monitor_outbox.js';
import * as m007 from './007_alert_feed.js';
import * as m008 from './008_abuse_hardening.js';
import * as m009 from './009_monitor_environments.js';
import * as m010 from './010_client_discards.js';
import * as m011 from './011_bot_signals.js';
import * as m012 from './012_digest_quarantine.js';
import * as m013 from './013_logs.js';
import * as m014 from './014_github.js';
import * as m015 from './015_upstream.js';
import * as m016 from './016_management.js';
import * as m017 from './017_postgres_payload_storage.js';
import * as m018 from './018_issue_story.js';
import * as m020 from './020_issue_text_index.js';
import * as m022 from './022_log_templates.js';
import * as m023 from './023_log_index_per_batch.js';
import * as m025 from './025_log_rule_index.js';
import * as m026 from './026_postgres_hot_issue_rows.js';
import * as m027 from './027_issue_status_counts.js';
import * as m028 from './028_issue_daily.js';
import * as m029 from './029_postgres_level_and_tag_statistics.js';
import * as m030 from './030_issue_status_deltas.js';

/** Every migration, in order. Names are stored in the database; never rename a released one. */
export const migrations: Record<string, Migration> = {
  '001_initial': m001,
  '002_dashboard': m002,
  '003_dashboard_indexes': m003,
  '004_alerts': m004,
  '005_monitors': m005,
  '006_monitor_outbox': m006,
  '007_alert_feed': m007,
  '008_abuse_hardening': m008,
  '009_monitor_environments': m009,
  '010_client_discards': m010,
  '011_bot_signals': m011,
  '012_digest_quarantine': m012,
  '013_logs': m013,
  '014_github': m014,
  '015_upstream': m015,
  '016_management': m016,
  '017_postgres_payload_storage': m017,
  '018_issue_story': m018,
  '020_issue_text_index': m020,
  '022_log_templates': m022,
  '023_log_index_per_batch': m023,
  '025_log_rule_index': m025,
  '026_postgres_hot_issue_rows': m026,
  '027_issue_status_counts': m027,
  '028_issue_daily': m028,
  '029_postgres_level_and_tag_statistics': m029,
  '030_issue_status_deltas': m030,
};
