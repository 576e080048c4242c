// Reads request parameters the way the Bot API accepts them: query string, JSON,
// application/x-www-form-urlencoded and multipart/form-data, all merged into one object.
import type { IncomingMessage } from 'node:http';
import { badRequest } from '../errors.js';
import { boundaryOf, parseMultipart } from './multipart.js';

export type RawParams = Record<string, unknown>;

/** What the fake keeps of an uploaded file (the bytes themselves are not needed by tests). */
export interface UploadedFile {
  filename: string;
  contentType: string;
  size: number;
}

const MAX_BODY_BYTES = 60 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

export function parseParams(url: URL, contentType: string | undefined, body: Buffer): RawParams {
  const params: RawParams = Object.fromEntries(url.searchParams);
  return { ...params, ...parseBody(contentType ?? '', body) };
}

function parseBody(contentType: string, body: Buffer): RawParams {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (body.length === 0) return {};
  if (type === 'application/json') return parseJsonBody(body);
  if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  if (type === 'multipart/form-data') return parseMultipartBody(contentType, body);
  return {};
}

function parseJsonBody(body: Buffer): RawParams {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest("can't parse JSON encoded request body");
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return value as RawParams;
}

function parseMultipartBody(contentType: string, body: Buffer): RawParams {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw badRequest('multipart boundary is missing');
  const params: RawParams = {};
  for (const part of parseMultipart(body, boundary)) {
    if (part.filename === undefined) {
      params[part.name] = part.data.toString('utf8');
    } else {
      const file: UploadedFile = {
        filename: part.filename,
        contentType: part.contentType ?? 'application/octet-stream',
        size: part.data.length,
      };
      params[part.name] = file;
    }
  }
  return params;
}
