import { Transform, type Readable } from 'node:stream';
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
 *
 * Plain event listeners rather than `stream.pipeline`: on Node 20 every pipeline makes an
 * AbortController and, when it finishes, an AbortError DOMException with a stack trace — a
 * measurable cost per request at ingest rates. The request is never destroyed here, so a 4xx
 * answer can still be written on its socket.
 */
export async function readBody(source: Readable, contentEncoding: string | undefined, limits: BodyLimits): Promise<Buffer> {
  const decoder = decoderFor(contentEncoding);
  const decoderErrors = new WeakSet<object>();
  decoder?.on('error', (err) => decoderErrors.add(err));
  try {
    if (!decoder) return await collect(source, limits.maxBodyBytes, 'request body');
    feedDecoder(source, decoder, limits.maxBodyBytes);
    return await collect(decoder, limits.maxDecompressedBytes, 'decompressed body');
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

/** Gathers a stream's chunks until it ends, failing with 413 once `max` bytes are passed. */
function collect(stream: Readable, max: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: Error | null) => {
      stream.off('data', onData).off('end', onEnd).off('error', finish).off('close', onClose);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) finish(tooLarge(`${what} exceeds the limit of ${max} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(null);
    const onClose = () => finish(new ClientError(400, 'the client closed the connection before the body was complete'));
    stream.on('data', onData).once('end', onEnd).once('error', finish).once('close', onClose);
  });
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
