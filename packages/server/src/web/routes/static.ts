import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { CLIENT_SCRIPT } from '../assets/client.js';
import { STYLES } from '../assets/styles.js';

/** Asset URLs carry a content hash, so browsers may cache them for a year and never see a stale one. */
export interface StaticUrls {
  css: string;
  js: string;
  htmx: string;
  uplot: string;
  uplotCss: string;
}

interface Asset {
  path: string;
  type: string;
  body: Buffer;
  etag: string;
}

const require = createRequire(import.meta.url);

function asset(path: string, type: string, body: string | Buffer): Asset {
  const buffer = typeof body === 'string' ? Buffer.from(body) : body;
  return { path, type, body: buffer, etag: createHash('sha256').update(buffer).digest('base64url').slice(0, 16) };
}

/** Loaded once at start: our two files and the vendored htmx and uPlot builds from node_modules. */
function loadAssets(): Record<keyof StaticUrls, Asset> {
  const vendor = (spec: string) => readFileSync(require.resolve(spec));
  return {
    css: asset('/static/app.css', 'text/css; charset=utf-8', STYLES),
    js: asset('/static/app.js', 'text/javascript; charset=utf-8', CLIENT_SCRIPT),
    htmx: asset('/static/htmx.min.js', 'text/javascript; charset=utf-8', vendor('htmx.org/dist/htmx.min.js')),
    uplot: asset('/static/uplot.min.js', 'text/javascript; charset=utf-8', vendor('uplot/dist/uPlot.iife.min.js')),
    uplotCss: asset('/static/uplot.min.css', 'text/css; charset=utf-8', vendor('uplot/dist/uPlot.min.css')),
  };
}

export function staticRoutes(app: FastifyInstance): StaticUrls {
  const assets = loadAssets();
  for (const a of Object.values(assets)) {
    app.get(a.path, async (req, reply) => {
      reply.header('content-type', a.type).header('etag', `"${a.etag}"`);
      // A versioned URL (?v=hash) never changes; an unversioned one must be revalidated.
      reply.header('cache-control', (req.query as { v?: string }).v === a.etag ? 'public, max-age=31536000, immutable' : 'no-cache');
      if (req.headers['if-none-match'] === `"${a.etag}"`) return reply.code(304).send();
      return reply.send(a.body);
    });
  }
  const url = (a: Asset) => `${a.path}?v=${a.etag}`;
  return { css: url(assets.css), js: url(assets.js), htmx: url(assets.htmx), uplot: url(assets.uplot), uplotCss: url(assets.uplotCss) };
}
