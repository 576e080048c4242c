import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { ClientError, tooLarge } from '../lib/errors.js';

export interface BodyLimits {
  /** Bytes as they arrive on the wire (compressed). */
  maxBodyBytes: number;
  /** Bytes after decompression. */
  maxDecompressedBytes: number;
}

/**
 * Reads a request body, decompressing per Content-Encoding, and enforcing both size caps while
 * streaming: a decompression bomb is stopped once it passes the cap, never inflated in memory.
 */
export async function readBody(source: Readable, contentEncoding: string | undefined, limits: BodyLimits): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const compressedCap = byteCap(limits.maxBodyBytes, 'request body');
  const decompressedCap = byteCap(limits.maxDecompressedBytes, 'decompressed body');
  const collect = async (stream: AsyncIterable<Buffer>) => {
    for await (const chunk of stream) chunks.push(chunk);
  };
  const decoder = decoderFor(contentEncoding);
  const decoderErrors = new WeakSet<object>();
  decoder?.on('error', (err) => decoderErrors.add(err));
  // The source is piped, not part of the pipeline: a failing pipeline must not destroy the
  // request (and with it the socket) before the 4xx answer is written.
  source.pipe(compressedCap);
  source.once('error', (err) => compressedCap.destroy(err));
  try {
    if (decoder) await pipeline(compressedCap, decoder, decompressedCap, collect);
    else await pipeline(compressedCap, collect);
  } catch (err) {
    source.unpipe(compressedCap);
    const clientError = asClientError(err, contentEncoding, decoderErrors);
    if (clientError instanceof ClientError && !source.readableEnded) {
      // Unread body left on the socket: close it after answering rather than drain it.
      throw new ClientError(clientError.status, clientError.message, { ...clientError.headers, Connection: 'close' });
    }
    throw clientError;
  }
  return Buffer.concat(chunks);
}

function byteCap(max: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > max) done(tooLarge(`${what} exceeds the limit of ${max} bytes`));
      else done(null, chunk);
    },
  });
}

function decoderFor(encoding: string | undefined): Transform | null {
  const name = (encoding ?? '').trim().toLowerCase();
  switch (name) {
    case '':
    case 'identity':
      return null;
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlibOrRawInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      throw new ClientError(415, `unsupported Content-Encoding "${name}"; use gzip, deflate or br`);
  }
}

/**
 * HTTP "deflate" is zlib-wrapped by the spec, but some clients send raw deflate; the first byte
 * tells them apart (a zlib header has compression method 8 in its low nibble and a valid check).
 */
function zlibOrRawInflate(): Transform {
  let inner: zlib.Inflate | zlib.InflateRaw | null = null;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (!inner) {
        const isZlib = chunk.length >= 2 && (chunk[0]! & 0x0f) === 8 && ((chunk[0]! << 8) | chunk[1]!) % 31 === 0;
        inner = isZlib ? zlib.createInflate() : zlib.createInflateRaw();
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
