import type { FastifyReply } from 'fastify';

/** Browser SDKs post cross-origin; these are the headers Sentry's own ingestion allows. */
export function setIngestCors(reply: FastifyReply): FastifyReply {
  reply.header('Access-Control-Allow-Origin', '*');
  reply.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
  reply.header(
    'Access-Control-Allow-Headers',
    'Content-Type, X-Sentry-Auth, X-Requested-With, Origin, Accept, Authorization, Content-Encoding, sentry-trace, baggage',
  );
  reply.header('Access-Control-Expose-Headers', 'Retry-After, X-Sentry-Rate-Limits');
  return reply.header('Access-Control-Max-Age', '3600');
}
