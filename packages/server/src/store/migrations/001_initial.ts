import { type Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/** The first schema. Released migrations are never edited; add a new file instead. */
export async function up(db: Kysely<any>): Promise<void> {
  const t = dialectTypes(db);

  await db.schema
    .createTable('projects')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull().unique())
    .addColumn('short_id_prefix', 'text', (c) => c.notNull())
    .addColumn('next_short_id', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('link_templates', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('grouping_version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('issues')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id'))
    .addColumn('short_number', 'integer', (c) => c.notNull())
    .addColumn('grouping_version', 'integer', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('culprit', 'text')
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('new'))
    .addColumn('origin', 'text')
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addColumn('event_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('user_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('first_release', 'text')
    .addColumn('last_release', 'text')
    .addColumn('resolved_at', 'bigint')
    .addColumn('resolved_in_release', 'text')
    .addColumn('regressed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('ignore_until', 'bigint')
    .addColumn('ignore_until_count', 'integer')
    .addColumn('github_url', 'text')
    .addColumn('http_status', 'integer')
    .addUniqueConstraint('issues_fingerprint_unique', ['project_id', 'grouping_version', 'fingerprint'])
    .addUniqueConstraint('issues_short_number_unique', ['project_id', 'short_number'])
    .execute();
  await db.schema.createIndex('issues_project_last_seen').on('issues').columns(['project_id', 'last_seen']).execute();
  await db.schema.createIndex('issues_project_status_last_seen').on('issues').columns(['project_id', 'status', 'last_seen']).execute();
  await db.schema.createIndex('issues_project_count').on('issues').columns(['project_id', 'event_count']).execute();
  await db.schema.createIndex('issues_last_seen').on('issues').column('last_seen').execute();

  await db.schema
    .createTable('events')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('issue_id', 'integer', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('timestamp', 'bigint', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('environment', 'text')
    .addColumn('release', 'text')
    .addColumn('origin', 'text')
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('message', 'text')
    .addColumn('user_key', 'text')
    .addColumn('tg_chat_id', 'text')
    .addColumn('tg_user_id', 'text')
    .addColumn('tg_update_id', 'bigint')
    .addColumn('http_status', 'integer')
    .addColumn('url_pattern', 'text')
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('payload', t.blob, (c) => c.notNull())
    .addUniqueConstraint('events_event_id_unique', ['project_id', 'event_id'])
    .execute();
  await db.schema.createIndex('events_issue_received').on('events').columns(['issue_id', 'received_at']).execute();
  await db.schema.createIndex('events_received').on('events').column('received_at').execute();

  await db.schema
    .createTable('attachments')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('filename', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text')
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('data', t.blob, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('attachments_event').on('attachments').columns(['project_id', 'event_id']).execute();
  await db.schema.createIndex('attachments_created').on('attachments').column('created_at').execute();

  await db.schema
    .createTable('issue_users')
    .addColumn('issue_id', 'integer', (c) => c.notNull())
    .addColumn('user_key', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('issue_users_pk', ['issue_id', 'user_key'])
    .execute();

  await db.schema
    .createTable('issue_tags')
    .addColumn('issue_id', 'integer', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('issue_tags_pk', ['issue_id', 'key', 'value'])
    .execute();
  await db.schema.createIndex('issue_tags_key_value').on('issue_tags').columns(['key', 'value', 'issue_id']).execute();

  await db.schema
    .createTable('releases')
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('releases_pk', ['project_id', 'version'])
    .execute();

  for (const table of ['spool', 'raw_items']) {
    await db.schema
      .createTable(table)
      .addColumn('id', t.id, (c) => t.idModifier(c))
      .addColumn('project_id', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text')
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addColumn('payload', t.blob, (c) => c.notNull())
      .addColumn('meta', 'text')
      .execute();
  }
  await db.schema.createIndex('raw_items_kind').on('raw_items').columns(['kind', 'id']).execute();
  await db.schema.createIndex('raw_items_received').on('raw_items').column('received_at').execute();

  await db.schema
    .createTable('item_counts')
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('item_counts_pk', ['project_id', 'kind'])
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('login', 'text', (c) => c.primaryKey())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}
