import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { ClientError } from '../lib/errors.js';
import { BodyBudget } from './body-budget.js';
import { readBody } from './body.js';

const limits = { maxBodyBytes: 64 * 1024, maxDecompressedBytes: 256 * 1024 };
const text = Buffer.from('{"type":"event"}\n'.repeat(100));
const read = (data: Buffer, encoding?: string, l = limits) => readBody(Readable.from(chunks(data)), encoding, l);

function* chunks(data: Buffer, size = 1000) {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function rejectsWith(promise: Promise<unknown>, status: number, pattern: RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ClientError, `expected a ClientError, got ${String(err)}`);
    assert.equal(err.status, status);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('readBody', () => {
  it('passes a plain body through', async () => {
    assert.deepEqual(await read(text), text);
    assert.deepEqual(await read(text, 'identity'), text);
  });

  for (const [encoding, compress] of [
    ['gzip', zlib.gzipSync],
    ['x-gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
    ['br', zlib.brotliCompressSync],
  ] as const) {
    it(`decodes ${encoding}`, async () => {
      assert.deepEqual(await read(compress(text), encoding), text);
    });
  }

  it('decodes raw deflate sent as Content-Encoding: deflate', async () => {
    assert.deepEqual(await read(zlib.deflateRawSync(text), 'deflate'), text);
  });

  it('stops a gzip bomb at the decompressed cap with 413, without inflating it whole', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(200 * 1024 * 1024)); // 200 MiB of zeros, ~200 KB compressed
    const before = process.memoryUsage().rss;
    await rejectsWith(read(bomb, 'gzip', { maxBodyBytes: 1024 * 1024, maxDecompressedBytes: 1024 * 1024 }), 413, /decompressed body exceeds/);
    const grownMb = (process.memoryUsage().rss - before) / 1024 / 1024;
    assert.ok(grownMb < 100, `memory grew by ${grownMb.toFixed(0)} MB while refusing a bomb`);
  });

  it('refuses a body over the compressed cap with 413', async () => {
    await rejectsWith(read(Buffer.alloc(100 * 1024), undefined), 413, /request body exceeds the limit of 65536 bytes/);
  });

  it('answers 400 for corrupt compressed data and 415 for an unknown encoding', async () => {
    await rejectsWith(read(Buffer.from('not gzip at all'), 'gzip'), 400, /not valid gzip data/);
    await rejectsWith(read(Buffer.from('garbage'), 'br'), 400, /not valid br data/);
    await rejectsWith(read(text, 'zstd'), 415, /unsupported Content-Encoding "zstd"/);
  });
  it('inflates in steps of inflateChunkBytes: one step for a log batch instead of one per 16 KiB', async () => {
    // Each step is a thread-pool round trip waiting for a turn of the event loop (slow when saturated).
    const batch = Buffer.from(Array.from({ length: 1000 }, (_, i) => `{"message":"update ${i} handled","level":"info","user_id":${i * 7919}}`).join('\n'));
    const big = { maxBodyBytes: 1024 * 1024, maxDecompressedBytes: 1024 * 1024 };
    const steps = async (inflateChunkBytes?: number) => {
      const account = new BodyBudget(16 * 1024 * 1024).open();
      let n = 0;
      const inflated = account.inflated.bind(account);
      account.inflated = (bytes) => (n++, inflated(bytes));
      const body = await readBody(Readable.from([zlib.gzipSync(batch)]), 'gzip', big, { account, ...(inflateChunkBytes ? { inflateChunkBytes } : {}) });
      assert.deepEqual(body, batch);
      return n;
    };
    assert.ok(batch.length > 64 * 1024 && batch.length < 256 * 1024);
    assert.ok((await steps()) >= 4);
    assert.equal(await steps(256 * 1024), 1);
  });

  it('still stops a decompression bomb at the cap with large inflate steps', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(4 * 1024 * 1024));
    await rejectsWith(readBody(Readable.from([bomb]), 'gzip', { maxBodyBytes: 1024 * 1024, maxDecompressedBytes: 300 * 1024 }, { inflateChunkBytes: 256 * 1024 }), 413, /decompressed body exceeds/);
  });
});
