import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';

/**
 * How event payloads are stored: JSON, brotli-compressed at quality 0. Measured on 5 KB and 50 KB
 * bot events: the same ratio as deflate level 1 (≈0.4 and ≈0.2) in less than half the CPU time,
 * and compression runs once per digested event, so it is on the hot path.
 */
export function encodePayload(payload: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(payload));
  return brotliCompressSync(json, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 0, [constants.BROTLI_PARAM_SIZE_HINT]: json.length },
  });
}

export function decodePayload<T = unknown>(stored: Buffer): T {
  return JSON.parse(brotliDecompressSync(stored).toString('utf8')) as T;
}
