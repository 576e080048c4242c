import { z } from 'zod';
import { alertConfigKeys } from '../alerts/config.js';
import { logConfigKeys } from '../logs/config.js';
import { monitorConfigKeys } from '../monitors/config.js';
import { upstreamConfigKeys } from '../upstream/config.js';
import { githubConfigKeys } from '../github/config.js';
import { isPostgresUrl } from '../lib/database-url.js';

/**
 * Every configuration key Botpulse reads. Keys are environment-variable names; the optional JSON
 * file named by BOTPULSE_CONFIG uses the same names. `docs/configuration.md` documents each one and
 * a test checks that the doc and this list agree.
 */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const mib = 1024 * 1024;

export const configSchema = z.object({
  BOTPULSE_HOST: z.string().min(1).default('127.0.0.1'),
  BOTPULSE_PORT: int(0, 65535).default(8000),
  BOTPULSE_URL: z.string().superRefine(checkPublicUrl).optional(),
  BOTPULSE_DATA_DIR: z.string().min(1).default('./data'),
  // The message never quotes the value: it may hold a password.
  BOTPULSE_DATABASE_URL: z.string().refine(isPostgresUrl, 'must be a postgres:// or postgresql:// URL (leave it unset for the embedded SQLite file)').optional(),
  BOTPULSE_DATABASE_POOL_MAX: int(1, 1000).default(10),
  BOTPULSE_DATABASE_STATEMENT_TIMEOUT_MS: int(0, 24 * 3600 * 1000).default(30_000),
  BOTPULSE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BOTPULSE_MAX_BODY_BYTES: int(1024, 1024 * mib).default(20 * mib),
  BOTPULSE_MAX_DECOMPRESSED_BYTES: int(1024, 4096 * mib).default(100 * mib),
  BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT: int(1024, 64 * 1024 * mib).default(256 * mib),
  BOTPULSE_MAX_EVENT_BYTES: int(1024, 256 * mib).default(1 * mib),
  BOTPULSE_MAX_ATTACHMENT_BYTES: int(0, 1024 * mib).default(10 * mib),
  BOTPULSE_BACKLOG_LIMIT: int(1, 10_000_000).default(20_000),
  BOTPULSE_DIGEST_BATCH: int(1, 10_000).default(500),
  BOTPULSE_SPOOL_FLUSHES: int(1, 16).optional(),
  BOTPULSE_RAW_ITEM_RETENTION_HOURS: int(1, 24 * 365).default(72),
  BOTPULSE_DSN_KEY_GRACE_HOURS: int(0, 24 * 90).default(24),
  BOTPULSE_SCRUB_EXTRA_KEYS: z.string().default(''),
  BOTPULSE_SCRUB_EXTRA_PATTERNS: z.string().default(''),
  ERROR_LOG_RETENTION_DAYS: int(1, 3650).default(30),
  BOTPULSE_ISSUE_KEEP_FIRST: int(1, 100_000).default(100),
  BOTPULSE_ISSUE_KEEP_LATEST: int(10, 1_000_000).default(1000),
  ...alertConfigKeys,
  ...monitorConfigKeys,
  ...logConfigKeys,
  ...upstreamConfigKeys,
  ...githubConfigKeys,
});

/**
 * BOTPULSE_URL goes into every DSN: `localhost:8000` parses as a URL with the scheme `localhost:`
 * and would print DSNs no SDK accepts, so a scheme other than http(s) is refused with the fix.
 */
function checkPublicUrl(value: string, ctx: z.RefinementCtx): void {
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (url && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname) return;
  const bare = /^[\w.-]+(:\d+)?(\/[^\s]*)?$/.test(value);
  ctx.addIssue({
    code: 'custom',
    message: bare
      ? `"${value}" has no scheme; write BOTPULSE_URL=http://${value} (or https://), the address SDKs and links use`
      : 'must be an http:// or https:// URL, e.g. BOTPULSE_URL=https://errors.example.com (the address SDKs and links use)',
  });
}

/**
 * BOTPULSE_* variables that are not server settings but are not typos either: the SDK's, the
 * tests' and the benchmarks' own. A variable neither here nor in the schema is warned about.
 */
export const OTHER_KNOWN_KEYS: readonly string[] = [
  'BOTPULSE_CONFIG', // names the JSON configuration file (config/load.ts)
  'BOTPULSE_DSN', // the SDK's DSN, also `botpulse send`'s default
  'BOTPULSE_DISK_QUEUE', // the SDK's offline queue directory
  'BOTPULSE_SERVER_NODE',
  'BOTPULSE_BOT_NODE',
  'BOTPULSE_SCREENSHOTS',
  'BOTPULSE_TARGETS',
  'BOTPULSE_TAIL_STATE', // botpulse tail's position file (docs/logs-tail.md)
];
/** Prefixes of whole families of other known variables (the tests' BOTPULSE_TEST_DATABASE_URL...). */
export const OTHER_KNOWN_PREFIXES: readonly string[] = ['BOTPULSE_TEST_'];

export type ConfigInput = z.input<typeof configSchema>;
export type RawConfig = z.output<typeof configSchema>;
export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof RawConfig)[];
