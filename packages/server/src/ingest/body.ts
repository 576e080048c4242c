import { Transform, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { ClientError, tooLarge } from '../lib/errors.js';
import type { BodyAccount } from './body-budget.js';

export interface BodyLimits {
  /** Bytes as they arrive on the wire (compressed). */
  maxBodyBytes: number;
  /** Bytes after decompression. */
  maxDecompressedBytes: number;
}

export interface BodyOptions {
  /**
   * Checks the body's first line (an envelope's headers, where its `dsn` is) as soon as it is
   * read, before anything more is read or inflated; throws to refuse the request. Used when the
   * request carries no key: a body is authenticated before it may cost memory.
   */
  checkFirstLine?: (line: Buffer) => void;
  /** Holds the body's bytes against the process-wide budget (ingest/body-budget.ts). */
  account?: BodyAccount;
  /**
   * Output bytes per decompression step (zlib's `chunkSize`; default 16 KiB). Each step is a
   * thread-pool round trip that needs a turn of the event loop to go on: a 170 KB log batch took
   * 11 turns, 1.5–2.5 s on a saturated server (benchmarks/logs/e2e.mjs). The caps are still
   * checked at every step.
   */
  inflateChunkBytes?: number;
}

/**
 * How far an unauthenticated body is read looking for the end of its first line. Real envelope
 * headers (event_id, sent_at, dsn, sdk, trace) are well under 2 KB.
 */
export const MAX_FIRST_LINE_BYTES = 64 * 1024;

/**
 * Reads a request body, decompressing per Content-Encoding, and enforcing both size caps while
 * streaming: a decompression bomb is stopped once it passes the cap, never inflated in memory.
 *
 * Plain event listeners rather than `stream.pipeline`: on Node 20 every pipeline makes an
 * AbortController and, when it finishes, an AbortError DOMException with a stack trace — a
 * measurable cost per request at ingest rates. The request is never destroyed here, so a 4xx
 * answer can still be written on its socket.
 */
export async function readBody(source: Readable, contentEncoding: string | undefined, limits: BodyLimits, options: BodyOptions = {}): Promise<Buffer> {
  const decoder = decoderFor(contentEncoding, options.inflateChunkBytes);
  const decoderErrors = new WeakSet<object>();
  decoder?.on('error', (err) => decoderErrors.add(err));
  try {
    if (!decoder) return await collect(source, limits.maxBodyBytes, 'request body', options);
    feedDecoder(source, decoder, limits.maxBodyBytes);
    return await collect(decoder, limits.maxDecompressedBytes, 'decompressed body', { ...options, inflating: true });
  } catch (err) {
    decoder?.destroy();
    source.pause();
    const clientError = asClientError(err, contentEncoding, decoderErrors);
    if (clientError instanceof ClientError && !source.readableEnded) {
      // Unread body left on the socket: close it after answering rather than drain it.
      throw new ClientError(clientError.status, clientError.message, { ...clientError.headers, Connection: 'close' });
    }
    throw clientError;
  }
}

/**
 * Gathers a stream's chunks until it ends, failing with 413 once `max` bytes are passed, and
 * stopping at once (decoder destroyed: nothing more is inflated) when a check throws.
 */
function collect(stream: Readable, max: number, what: string, options: BodyOptions & { inflating?: boolean }): Promise<Buffer> {
  const { account, checkFirstLine, inflating = false } = options;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let firstLinePending = checkFirstLine !== undefined;
    const finish = (err: Error | null) => {
      stream.off('data', onData).off('end', onEnd).off('error', finish).off('close', onClose);
      if (err) {
        if (inflating) stream.destroy(); // the decoder, never the request
        reject(err);
      } else {
        resolve(Buffer.concat(chunks, size));
      }
    };
    const checkFirstLineIn = (chunk: Buffer, ended: boolean) => {
      const newline = chunk.indexOf(0x0a);
      if (newline < 0 && !ended) {
        if (size > MAX_FIRST_LINE_BYTES) throw firstLineTooLong();
        return;
      }
      firstLinePending = false;
      const all = Buffer.concat(chunks, size);
      checkFirstLine!(newline < 0 ? all : all.subarray(0, size - chunk.length + newline));
    };
    const onData = (chunk: Buffer) => {
      try {
        if (inflating) account?.inflated(chunk.length);
        size += chunk.length;
        if (size > max) throw tooLarge(`${what} exceeds the limit of ${max} bytes`);
        account?.hold(chunk.length);
        chunks.push(chunk);
        if (firstLinePending) checkFirstLineIn(chunk, false);
      } catch (err) {
        finish(err as Error);
      }
    };
    const onEnd = () => {
      try {
        if (firstLinePending) checkFirstLineIn(Buffer.alloc(0), true);
        finish(null);
      } catch (err) {
        finish(err as Error);
      }
    };
    const onClose = () => finish(new ClientError(400, 'the client closed the connection before the body was complete'));
    stream.on('data', onData).once('end', onEnd).once('error', finish).once('close', onClose);
  });
}

function firstLineTooLong(): ClientError {
  return new ClientError(
    401,
    `missing authentication: no X-Sentry-Auth or ?sentry_key=, and no envelope header line (with "dsn") within the first ${MAX_FIRST_LINE_BYTES} bytes`,
  );
}

/** Writes the wire bytes into the decoder, counting them against the compressed cap. */
function feedDecoder(source: Readable, decoder: Transform, max: number): void {
  let size = 0;
  const detach = () => source.off('data', onData).off('end', onEnd).off('error', stop).off('close', onClose);
  const stop = (err: Error) => {
    detach();
    decoder.destroy(err);
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > max) return stop(tooLarge(`request body exceeds the limit of ${max} bytes`));
    if (!decoder.write(chunk)) {
      source.pause();
      decoder.once('drain', () => source.resume());
    }
  };
  const onEnd = () => {
    detach();
    decoder.end();
  };
  const onClose = () => stop(new ClientError(400, 'the client closed the connection before the body was complete'));
  source.on('data', onData).once('end', onEnd).once('error', stop).once('close', onClose);
}

function decoderFor(encoding: string | undefined, chunkSize: number | undefined): Transform | null {
  const opts = chunkSize ? { chunkSize } : {};
  const name = (encoding ?? '').trim().toLowerCase();
  switch (name) {
    case '':
    case 'identity':
      return null;
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip(opts);
    case 'deflate':
      return zlibOrRawInflate(opts);
    case 'br':
      return zlib.createBrotliDecompress(opts);
    default:
      throw new ClientError(415, `unsupported Content-Encoding "${name}"; use gzip, deflate or br`);
  }
}

/**
 * HTTP "deflate" is zlib-wrapped by the spec, but some clients send raw deflate; the first byte
 * tells them apart (a zlib header has compression method 8 in its low nibble and a valid check).
 */
function zlibOrRawInflate(opts: zlib.ZlibOptions): Transform {
  let inner: zlib.Inflate | zlib.InflateRaw | null = null;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (!inner) {
        const isZlib = chunk.length >= 2 && (chunk[0]! & 0x0f) === 8 && ((chunk[0]! << 8) | chunk[1]!) % 31 === 0;
        inner = isZlib ? zlib.createInflate(opts) : zlib.createInflateRaw(opts);
        inner.on('data', (out: Buffer) => this.push(out));
        inner.on('error', (err) => this.destroy(err));
      }
      if (inner.write(chunk)) done();
      else inner.once('drain', () => done());
    },
    flush(done) {
      if (!inner) return done();
      inner.once('end', () => done());
      inner.end();
    },
  });
}

function asClientError(err: unknown, encoding: string | undefined, decoderErrors: WeakSet<object>): Error {
  if (err instanceof ClientError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && (decoderErrors.has(e) || e.code?.startsWith('Z_'))) {
    return new ClientError(400, `body is not valid ${encoding} data: ${e.message}`);
  }
  if (e?.code === 'ECONNRESET' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || e?.message === 'aborted') {
    return new ClientError(400, 'the client closed the connection before the body was complete');
  }
  return err as Error;
}
