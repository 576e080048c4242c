import type { Dsn } from '@botpulse/protocol';
import { ConfigError } from '../lib/errors.js';
import type { Project } from '../store/model.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '0.0.0.0', '::', '[::]']);

function portOf(protocol: string, port: string): number {
  return port ? Number(port) : protocol === 'https' ? 443 : 80;
}

/**
 * Refuses an upstream that is this server: the DSN points at our public URL, or at our own
 * host and the port we listen on, AND its key is one of our projects' keys. Forwarding there
 * would store every event twice here and forward it again, forever (the mark stops the second
 * round, not the first). Another Botpulse on the same machine has other keys, and is allowed.
 */
export function refuseSelfUpstream(dsn: Dsn, self: { publicUrl: string; host: string; port: number }, projects: Project[], source: string): void {
  const ourKey = projects.some((p) => p.publicKey === dsn.publicKey);
  if (!ourKey) return;
  const dsnPort = portOf(dsn.protocol, dsn.port);
  const publicUrl = new URL(self.publicUrl);
  const samePublic = publicUrl.hostname === dsn.host && portOf(publicUrl.protocol.replace(':', ''), publicUrl.port) === dsnPort;
  const sameSocket = dsnPort === self.port && (LOOPBACK.has(dsn.host) || dsn.host === self.host);
  if (samePublic || sameSocket) {
    throw new ConfigError(
      `${source} points at this Botpulse server itself (${dsn.host}:${dsnPort}, with the key of one of its projects): every event would be forwarded to itself. ` +
        `Set ${source === 'SENTRY_DSN' ? 'BOTPULSE_UPSTREAM_DSN=off (SENTRY_DSN is probably the bot\'s own, from a shared .env)' : 'BOTPULSE_UPSTREAM_DSN to the upstream Sentry\'s DSN, or off'}. See docs/upstream.md.`,
    );
  }
}
