// A small multipart/form-data parser. grammY and Telegraf both write headers without a space
// after the colon and grammY leaves filenames unquoted, so header parsing is lenient.

export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export function boundaryOf(contentType: string): string | undefined {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  // Prefixing CRLF makes the first delimiter look like all the others.
  const buffer = Buffer.concat([Buffer.from('\r\n'), body]);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const parts: MultipartPart[] = [];
  let pos = buffer.indexOf(delimiter);
  while (pos >= 0) {
    const afterDelimiter = pos + delimiter.length;
    if (buffer.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') break; // closing delimiter
    const next = buffer.indexOf(delimiter, afterDelimiter);
    if (next < 0) break;
    const part = parsePart(buffer.subarray(afterDelimiter, next));
    if (part) parts.push(part);
    pos = next;
  }
  return parts;
}

function parsePart(raw: Buffer): MultipartPart | undefined {
  const start = raw.subarray(0, 2).toString() === '\r\n' ? 2 : 0;
  const headerEnd = raw.indexOf('\r\n\r\n', start);
  if (headerEnd < 0) return undefined;
  const headers = parseHeaders(raw.subarray(start, headerEnd).toString('utf8'));
  const disposition = headers.get('content-disposition') ?? '';
  const name = dispositionParam(disposition, 'name');
  if (name === undefined) return undefined;
  const part: MultipartPart = { name, data: raw.subarray(headerEnd + 4) };
  const filename = dispositionParam(disposition, 'filename');
  if (filename !== undefined) part.filename = filename;
  const contentType = headers.get('content-type');
  if (contentType !== undefined) part.contentType = contentType;
  return part;
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

function dispositionParam(disposition: string, param: string): string | undefined {
  const match = new RegExp(`(?:^|;)\\s*${param}=(?:"([^"]*)"|([^;]*))`, 'i').exec(disposition);
  if (!match) return undefined;
  return match[1] ?? match[2]?.trim();
}
