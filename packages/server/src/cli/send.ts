import { randomUUID } from 'node:crypto';
import { envelopeUrl, jsonItem, parseDsn, serializeEnvelope } from '@botpulse/protocol';
import { presentProject } from '../http/present.js';
import { withStore } from './context.js';

export interface SendOptions {
  dsn?: string;
  message: string;
  level: string;
}

/**
 * `botpulse send`: posts a test event through the real ingestion endpoint, the way an SDK would,
 * so it proves the whole path (DSN, network, auth, digest).
 */
export async function sendTestEvent(opts: SendOptions): Promise<void> {
  const dsnText = opts.dsn ?? process.env.BOTPULSE_DSN ?? (await firstLocalDsn());
  const dsn = parseDsn(dsnText);
  const eventId = randomUUID().replace(/-/g, '');
  const event = {
    event_id: eventId,
    timestamp: Date.now() / 1000,
    platform: 'node',
    level: opts.level,
    logger: 'botpulse.cli',
    message: { formatted: opts.message },
    tags: { origin: 'cli' },
    sdk: { name: 'botpulse.cli', version: '0.1.0' },
  };
  const body = serializeEnvelope({ headers: { event_id: eventId, sent_at: new Date().toISOString() }, items: [jsonItem('event', event)] });
  const response = await fetch(envelopeUrl(dsn), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-sentry-envelope',
      'x-sentry-auth': `Sentry sentry_version=7, sentry_client=botpulse-cli/0.1.0, sentry_key=${dsn.publicKey}`,
    },
    body,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`the server answered ${response.status}: ${text}`);
  process.stdout.write(`sent event ${eventId} to project ${dsn.projectId}: ${response.status} ${text}\n`);
}

async function firstLocalDsn(): Promise<string> {
  return withStore(async (store, config) => {
    const [project] = await store.listProjects();
    if (!project) throw new Error('no project yet and no --dsn given; run `botpulse serve` once or `botpulse project create`');
    return presentProject(project, config.publicUrl).dsn;
  });
}
