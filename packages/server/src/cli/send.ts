import { randomUUID } from 'node:crypto';
import { envelopeUrl, jsonItem, parseDsn, serializeEnvelope } from '@botpulse/protocol';
import { presentProject } from '../http/present.js';
import { withStore } from './context.js';
import { unreachable } from './network.js';

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
  const from = opts.dsn ? '--dsn' : process.env.BOTPULSE_DSN ? 'BOTPULSE_DSN' : 'the first project and BOTPULSE_URL';
  const dsnText = opts.dsn ?? process.env.BOTPULSE_DSN ?? (await firstLocalDsn());
  const dsn = readDsn(dsnText, from);
  // Where the event goes, without the key (it travels in a header and is never printed).
  const server = `${dsn.protocol}://${dsn.host}${dsn.port ? `:${dsn.port}` : ''}${dsn.path}`;
  const eventId = randomUUID().replace(/-/g, '');
  const event = {
    event_id: eventId,
    timestamp: Date.now() / 1000,
    platform: 'node',
    level: opts.level === 'critical' ? 'fatal' : opts.level,
    logger: 'botpulse.cli',
    message: { formatted: opts.message },
    tags: { origin: 'cli' },
    sdk: { name: 'botpulse.cli', version: '0.1.0' },
  };
  const body = serializeEnvelope({ headers: { event_id: eventId, sent_at: new Date().toISOString() }, items: [jsonItem('event', event)] });
  let response: Response;
  try {
    response = await fetch(envelopeUrl(dsn), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-sentry-envelope',
        'x-sentry-auth': `Sentry sentry_version=7, sentry_client=botpulse-cli/0.1.0, sentry_key=${dsn.publicKey}`,
      },
      body,
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw unreachable(
      `the Botpulse server at ${server}`,
      err,
      `is \`botpulse serve\` running there? (the address comes from ${from}${from === '--dsn' ? '' : '; give another with --dsn'})`,
    );
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`the server at ${server} answered ${response.status}: ${text.slice(0, 500)}`);
  process.stdout.write(`sent event ${eventId} to project ${dsn.projectId}: ${response.status} ${text}\n`);
}

function readDsn(text: string, from: string): ReturnType<typeof parseDsn> {
  try {
    return parseDsn(text);
  } catch (err) {
    // The text may hold a key: it is not repeated.
    throw new Error(`the DSN from ${from} is not valid (${(err as Error).message.replaceAll(text, '<dsn>')}); it looks like http://<key>@<host>:<port>/<project id>, see \`botpulse project list\``);
  }
}

async function firstLocalDsn(): Promise<string> {
  return withStore(async (store, config) => {
    const [project] = await store.listProjects();
    if (!project) throw new Error('no project yet and no --dsn given; run `botpulse serve` once or `botpulse project create`');
    return presentProject(project, config.publicUrl).dsn;
  });
}
