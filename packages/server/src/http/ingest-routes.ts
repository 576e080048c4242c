import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EnvelopeParseError, parseDsn, parseEnvelope, parseSentryAuthHeader } from '@botpulse/protocol';
import { readBody, type BodyLimits } from '../ingest/body.js';
import { intakeEnvelope, intakeStoreBody, type Intake, type IntakeOptions } from '../ingest/intake.js';
import { parseNdjson, type ParsedLines } from '../ingest/log-lines.js';
import type { Spool } from '../ingest/spool.js';
import { ClientError, databaseUnavailable, isDatabaseUnavailable } from '../lib/errors.js';
import type { LogAppendResult, NewLogLine } from '../store/logs.js';
import { projectAcceptsKey, type Project } from '../store/model.js';
import { setIngestCors } from './cors.js';
import type { IngestStats } from './stats.js';

/** The size caps ingestion applies (config/load.ts `limits`). */
export type IngestLimits = BodyLimits & Omit<IntakeOptions, 'scrubber'>;

export interface IngestDeps {
  config: { readonly limits: IngestLimits };
  scrubber: IntakeOptions['scrubber'];
  spool: Spool;
  findProject: (id: string) => Promise<Project | null>;
  stats: IngestStats;
  /** Called after items were spooled, to wake the digest. */
  onSpooled: () => void;
  /** The monitors' say on an envelope's check-ins before the 200 (monitors/service.ts screenCheckIns). */
  checkIns?: CheckInGate;
  /** Where log lines go (Sentry `log` items and the NDJSON endpoint), committed before the 200. */
  logs: LogIngest;
}

export interface LogIngest {
  /** The NDJSON endpoint's caps (BOTPULSE_LOG_MAX_BODY_BYTES, BOTPULSE_LOG_MAX_DECOMPRESSED_BYTES). */
  limits: BodyLimits;
  /** Stores lines in one transaction (and wakes the log rules). */
  append(lines: NewLogLine[]): Promise<LogAppendResult>;
  /**
   * Parses, scrubs and templates an NDJSON body off this thread (logs/line-worker.ts), as
   * parseNdjson does; absent, parseNdjson runs here and `append` templates the lines.
   */
  parse?(body: Buffer, ctx: { projectId: number; receivedAt: number }): Promise<ParsedLines>;
}

/** Takes out the check-ins the monitors would refuse (limit, unusable slug); `record` counts them once the rest is spooled. */
export interface CheckInGate {
  screenCheckIns(projectId: number, items: Intake['items']): Promise<{ items: Intake['items']; warnings: string[]; record(): Promise<void> }>;
}

type IngestRequest = FastifyRequest<{ Params: { projectId: string }; Querystring: Record<string, string> }>;

/**
 * The Sentry ingestion endpoints. Bodies are taken as raw streams (any or no Content-Type) and
 * read by readBody with the size caps, so nothing here buffers more than the caps allow.
 */
export async function ingestRoutes(app: FastifyInstance, deps: IngestDeps): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  app.options('/api/:projectId/envelope/', async (_req, reply) => setIngestCors(reply).code(204).send());
  app.options('/api/:projectId/store/', async (_req, reply) => setIngestCors(reply).code(204).send());

  app.post('/api/:projectId/envelope/', (req: IngestRequest, reply) => handle(req, reply, 'envelope'));
  app.post('/api/:projectId/store/', (req: IngestRequest, reply) => handle(req, reply, 'store'));
  app.options('/api/:projectId/logs/', async (_req, reply) => setIngestCors(reply).code(204).send());
  app.post('/api/:projectId/logs/', (req: IngestRequest, reply) => handleLogs(req, reply));

  const intakeOptions: IntakeOptions = { ...deps.config.limits, scrubber: deps.scrubber };
  const bodyBudget = deps.stats.bodies;

  async function handle(req: IngestRequest, reply: import('fastify').FastifyReply, endpoint: 'envelope' | 'store') {
    setIngestCors(reply);
    const account = bodyBudget.open();
    try {
      const project = await deps.findProject(req.params.projectId);
      if (!project) throw new ClientError(404, `unknown project "${req.params.projectId}"; check the DSN`);
      const requestKey = keyFromRequest(req);
      if (project.deletingAt !== null) throw projectDeleted(project);
      if (requestKey !== null && !projectAcceptsKey(project, requestKey, Date.now())) throw wrongKey();
      const envelopeType = isEnvelopeContentType(req.headers['content-type']);
      // A legacy /store/ JSON body has no envelope header to carry a DSN: nothing to read for it.
      if (requestKey === null && endpoint === 'store' && !envelopeType) throw missingAuthentication();
      if (deps.spool.isFull()) throw backlogFull(deps.spool.backlog);

      const body = await readBody(req.body as import('node:stream').Readable, req.headers['content-encoding'], deps.config.limits, {
        account,
        // Without a key, the envelope header's `dsn` authenticates: checked on the first line,
        // before the rest is read or inflated (a keyless 95 KiB gzip bomb inflated 95 MiB first).
        ...(requestKey === null ? { checkFirstLine: (line: Buffer) => authenticateByEnvelopeHeader(line, project) } : {}),
      });
      const intake = parseBody(body, project, endpoint, envelopeType, intakeOptions);

      const screened = deps.checkIns && intake.items.some((i) => i.kind === 'check_in') ? await deps.checkIns.screenCheckIns(project.id, intake.items) : null;
      if (screened) intake.items = screened.items;
      // Log lines are committed first: a failure after them answers 5xx and the SDK's retry may store them twice, never zero times.
      if (intake.logLines.length) await deps.logs.append(intake.logLines);
      await deps.spool.append(intake.items, { projectId: project.id, counts: intake.counts, discards: intake.discards });
      deps.stats.accepted(intake);
      deps.onSpooled();
      // Refused check-ins are counted and logged (dashboard, /metrics) and named in the answer.
      await screened?.record();
      const answer: Record<string, unknown> = intake.eventId ? { id: intake.eventId } : {};
      if (screened?.warnings.length) answer['warnings'] = screened.warnings;
      return reply.code(200).send(answer);
    } catch (caught) {
      // Nothing was answered 200: the SDK keeps the event and retries after Retry-After.
      const err = isDatabaseUnavailable(caught) ? databaseUnavailable() : caught;
      if (err instanceof ClientError) deps.stats.rejected(err.status);
      throw err;
    } finally {
      account.release();
    }
  }

  /**
   * `POST /api/<project>/logs/`: newline-delimited JSON log records (docs/api.md "Log lines").
   * Authenticated by `X-Sentry-Auth` or `?sentry_key=` (there is no envelope header to carry a
   * DSN); the lines are scrubbed and committed in one transaction before the answer, which says
   * how many were stored, how many were duplicates of a `botpulse.line_id` already stored, and
   * which lines were refused and why.
   */
  async function handleLogs(req: IngestRequest, reply: import('fastify').FastifyReply) {
    setIngestCors(reply);
    const account = bodyBudget.open();
    try {
      const project = await deps.findProject(req.params.projectId);
      if (!project) throw new ClientError(404, `unknown project "${req.params.projectId}"; check the DSN`);
      const requestKey = keyFromRequest(req);
      if (requestKey === null) throw new ClientError(401, 'missing authentication: send X-Sentry-Auth: Sentry sentry_key=<key> or ?sentry_key=<key>');
      if (requestKey !== project.publicKey) throw wrongKey();
      const body = await readBody(req.body as import('node:stream').Readable, req.headers['content-encoding'], deps.logs.limits, { account, inflateChunkBytes: LOG_INFLATE_CHUNK_BYTES });
      const receivedAt = Date.now();
      const parsed = deps.logs.parse
        ? await deps.logs.parse(body, { projectId: project.id, receivedAt })
        : parseNdjson(body, { projectId: project.id, receivedAt, source: 'ndjson', scrubber: deps.scrubber });
      const stored = parsed.lines.length ? await deps.logs.append(parsed.lines) : { accepted: 0, duplicates: 0 };
      const counts: Record<string, number> = {};
      if (stored.accepted) counts['log'] = stored.accepted;
      if (parsed.rejected.length) counts['log_rejected'] = parsed.rejected.length;
      deps.stats.accepted({ eventId: null, items: [], counts, logLines: [] });
      return reply.code(200).send({ accepted: stored.accepted, duplicates: stored.duplicates, rejected: parsed.rejected.slice(0, MAX_REJECTIONS_LISTED), ...(parsed.rejected.length > MAX_REJECTIONS_LISTED ? { rejectedTotal: parsed.rejected.length } : {}) });
    } catch (caught) {
      const err = isDatabaseUnavailable(caught) ? databaseUnavailable() : caught;
      if (err instanceof ClientError) deps.stats.rejected(err.status);
      throw err;
    } finally {
      account.release();
    }
  }
}

/**
 * A log batch (`botpulse tail` sends up to 1,000 gzipped lines, ≈ 170 KB inflated) is inflated in
 * one step rather than 16 KiB ones: each step waits for a turn of the event loop, which is long
 * while the server is saturated, and the forbidden line in it waited with it (docs/logs.md "Throughput").
 */
const LOG_INFLATE_CHUNK_BYTES = 256 * 1024;

/** Refused lines named in one answer; past it the answer gives only their number (`rejectedTotal`). */
const MAX_REJECTIONS_LISTED = 100;

function parseBody(body: Buffer, project: Project, endpoint: string, envelopeType: boolean, options: IntakeOptions): Intake {
  const now = Date.now();
  if (endpoint === 'store' && !envelopeType) return intakeStoreBody(body, project.id, options, now);
  return intakeEnvelope(body, project.id, options, now);
}

/** The public key from `X-Sentry-Auth`, `Authorization: Sentry ...` or the `sentry_key` query parameter. */
function keyFromRequest(req: IngestRequest): string | null {
  const header = req.headers['x-sentry-auth'] ?? req.headers.authorization;
  if (typeof header === 'string' && /^\s*sentry\s/i.test(header)) {
    const key = parseSentryAuthHeader(header).sentryKey;
    if (key) return key;
  }
  const fromQuery = req.query.sentry_key;
  return typeof fromQuery === 'string' && fromQuery ? fromQuery : null;
}

/** The envelope's first line: its headers, whose `dsn` must name this project's key. */
function authenticateByEnvelopeHeader(line: Buffer, project: Project): void {
  let dsn: unknown;
  try {
    dsn = parseEnvelope(line).headers.dsn;
  } catch (err) {
    if (err instanceof EnvelopeParseError) throw new ClientError(400, `malformed envelope: ${err.message}`);
    throw err;
  }
  if (typeof dsn !== 'string' || !dsn) throw missingAuthentication();
  let key: string;
  try {
    key = parseDsn(dsn).publicKey;
  } catch {
    throw new ClientError(401, 'the envelope header "dsn" is not a valid DSN');
  }
  if (!projectAcceptsKey(project, key, Date.now())) throw wrongKey();
}

/** 410: every Sentry SDK drops the event instead of retrying it (the project is gone for good). */
function projectDeleted(project: Project): ClientError {
  return new ClientError(410, `project "${project.slug}" is being deleted; its events are refused`);
}

function missingAuthentication(): ClientError {
  return new ClientError(401, 'missing authentication: send X-Sentry-Auth, ?sentry_key=, or a "dsn" envelope header');
}

function wrongKey(): ClientError {
  return new ClientError(403, 'the DSN key does not belong to this project; copy the DSN again from Botpulse');
}

function backlogFull(backlog: number): ClientError {
  const retryAfter = 10;
  return new ClientError(429, `Botpulse is digesting a backlog of ${backlog} items; retry in ${retryAfter} s`, {
    'Retry-After': String(retryAfter),
    // `<seconds>:<categories (empty = all)>:<scope>:<reason>`, read by every Sentry SDK.
    'X-Sentry-Rate-Limits': `${retryAfter}::organization:backlog_full`,
  });
}

function isEnvelopeContentType(value: string | undefined): boolean {
  return typeof value === 'string' && value.toLowerCase().startsWith('application/x-sentry-envelope');
}
