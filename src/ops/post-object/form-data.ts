// A streaming multipart/form-data reader (RFC 7578 / RFC 2046) for POST Object. The fields
// before the `file` field are read whole, within size limits; the `file` field is handed out as a
// stream that ends at the next boundary, so the upload is never held in memory. Whatever follows
// the file is ignored, as S3 ignores fields after `file`.
import { Readable } from 'node:stream';
import { S3Error } from '../../errors.ts';

export interface FormLimits {
  /** largest value of one field before the file */
  maxFieldBytes: number;
  /** largest total of everything before the file's bytes (fields, part headers, preamble) */
  maxPreDataBytes: number;
  /** largest header block of one part */
  maxPartHeaderBytes: number;
}

export const defaultFormLimits: FormLimits = {
  maxFieldBytes: 20 * 1024,
  maxPreDataBytes: 1024 * 1024,
  maxPartHeaderBytes: 8 * 1024,
};

export interface FormField {
  /** the name as sent */
  name: string;
  value: string;
}

export interface FilePart {
  name: string;
  /** the filename parameter of the part's Content-Disposition, when sent */
  filename?: string;
  /** the part's own Content-Type header, when sent */
  contentType?: string;
  /** the file's bytes; ends at the part's closing boundary, errors if the body ends before */
  stream: Readable;
}

export interface FormUntilFile {
  fields: FormField[];
  /** undefined when the body ended without a field named `file` */
  file?: FilePart;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const DASH_DASH = Buffer.from('--');

export function malformed(detail?: string): S3Error {
  return new S3Error('MalformedPOSTRequest', detail ? `The body of your POST request is not well-formed multipart/form-data. ${detail}` : undefined);
}

function tooLarge(limit: number): S3Error {
  return new S3Error('MaxPostPreDataLengthExceededError', undefined, { MaxPostPreDataLengthBytes: String(limit) });
}

/**
 * The boundary of a multipart/form-data Content-Type. Any other content type is refused the way
 * S3 refuses it: 412 PreconditionFailed.
 */
export function formBoundary(contentType: string | undefined): string {
  const [type, ...params] = splitParams(contentType ?? '');
  if (type.trim().toLowerCase() !== 'multipart/form-data') {
    throw new S3Error('PreconditionFailed', undefined, { Condition: 'Bucket POST must be of the enclosure-type multipart/form-data' });
  }
  for (const param of params) {
    const [name, value] = param;
    if (name === 'boundary') {
      // RFC 2046: 1 to 70 characters, no trailing space.
      if (value.length === 0 || value.length > 200) break;
      return value;
    }
  }
  throw malformed('The Content-Type has no boundary.');
}

/**
 * `type; a=b; c="d"` → ['type', [['a','b'], ['c','d']]] (names lower-cased, quoted strings
 * unquoted with backslash escapes honoured).
 */
function splitParams(header: string): [string, ...[string, string][]] {
  let i = header.indexOf(';');
  if (i < 0) return [header];
  const out: [string, ...[string, string][]] = [header.slice(0, i)];
  const n = header.length;
  while (i < n) {
    // skip ';' and whitespace
    while (i < n && (header[i] === ';' || header[i] === ' ' || header[i] === '\t')) i++;
    if (i >= n) break;
    const eq = header.indexOf('=', i);
    const semi = header.indexOf(';', i);
    if (eq < 0 || (semi >= 0 && semi < eq)) {
      // a parameter without a value: skip it
      i = semi < 0 ? n : semi;
      continue;
    }
    const name = header.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
    let value = '';
    if (header[i] === '"') {
      i++;
      while (i < n && header[i] !== '"') {
        if (header[i] === '\\' && i + 1 < n && (header[i + 1] === '"' || header[i + 1] === '\\')) i++;
        value += header[i];
        i++;
      }
      i++; // closing quote
      const next = header.indexOf(';', i);
      i = next < 0 ? n : next;
    } else {
      const next = header.indexOf(';', i);
      value = header.slice(i, next < 0 ? n : next).trim();
      i = next < 0 ? n : next;
    }
    out.push([name, value]);
  }
  return out;
}

/** RFC 5987 ext-value: charset'language'percent-encoded; only UTF-8 (and ASCII) is decoded. */
function decodeExtValue(value: string): string | undefined {
  const m = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (!m) return undefined;
  const charset = m[1].toLowerCase();
  if (charset !== 'utf-8' && charset !== 'us-ascii' && charset !== 'iso-8859-1') return undefined;
  const bytes: number[] = [];
  const text = m[2];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes).toString(charset === 'iso-8859-1' ? 'latin1' : 'utf8');
}

interface PartHeaders {
  name: string;
  filename?: string;
  contentType?: string;
}

function parsePartHeaders(block: string): PartHeaders {
  const lines = block.split('\r\n');
  // The first line is what followed the boundary on its line: only transport padding may be there.
  if (!/^[ \t]*$/.test(lines[0])) throw malformed();
  let disposition: string | undefined;
  let contentType: string | undefined;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed('A part header is not of the form name: value.');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') disposition = value;
    else if (name === 'content-type') contentType = value;
  }
  if (disposition === undefined) throw malformed('A part has no Content-Disposition header.');
  const [type, ...params] = splitParams(disposition);
  if (type.trim().toLowerCase() !== 'form-data') throw malformed('A part is not form-data.');
  let name: string | undefined;
  let filename: string | undefined;
  let filenameExt: string | undefined;
  for (const [k, v] of params) {
    if (k === 'name') name = v;
    else if (k === 'filename') filename = v;
    else if (k === 'filename*') filenameExt = decodeExtValue(v);
  }
  if (name === undefined) throw malformed('A part has no name.');
  return { name, filename: filenameExt ?? filename, contentType };
}

/**
 * Pulls chunks from a readable stream on demand ('readable' + read()), so that nothing is read
 * ahead of need and the stream can be handed back (released) for draining at any point.
 */
export class PullReader {
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private released = false;
  private readonly onEnd = () => {
    this.ended = true;
    this.notify();
  };
  private readonly onError = (err: Error) => {
    this.failure ??= err;
    this.notify();
  };
  private readonly onClose = () => {
    if (!this.ended) this.failure ??= new S3Error('IncompleteBody');
    this.notify();
  };
  private readonly onReadable = () => this.notify();

  constructor(private readonly source: Readable) {
    source.on('end', this.onEnd);
    source.on('error', this.onError);
    source.on('close', this.onClose);
    if (source.readableEnded) this.ended = true;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** The next chunk, or null at the end of the body. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.released) throw new Error('PullReader used after release');
      if (this.failure) throw this.failure;
      const chunk = this.source.read() as Buffer | string | null;
      if (chunk !== null) return typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (this.ended || this.source.readableEnded) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.source.once('readable', this.onReadable);
      });
      this.source.removeListener('readable', this.onReadable);
    }
  }

  /** Stop reading: remove every listener, so that the owner can drain (resume) the stream. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.source.removeListener('end', this.onEnd);
    this.source.removeListener('error', this.onError);
    this.source.removeListener('close', this.onClose);
    this.source.removeListener('readable', this.onReadable);
    this.notify();
  }
}

/** Reads one multipart/form-data body: the fields up to `file`, then the file as a stream. */
export class FormReader {
  /** Unconsumed bytes. Starts with a virtual CRLF so that the first boundary reads like the others. */
  private buf: Buffer = CRLF;
  private readonly delimiter: Buffer;
  /** bytes consumed before the file's content (checked against maxPreDataBytes) */
  private preData = 0;

  constructor(
    private readonly input: PullReader,
    boundary: string,
    private readonly limits: FormLimits = defaultFormLimits,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  /** Append the next chunk; false at the end of the body. */
  private async fill(): Promise<boolean> {
    const chunk = await this.input.next();
    if (chunk === null) return false;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }

  /** Consume and return the bytes before `pattern` (the pattern itself is consumed too). */
  private async readUntil(pattern: Buffer, max: number, onTooLarge: () => S3Error): Promise<Buffer> {
    let from = 0;
    for (;;) {
      const idx = this.buf.indexOf(pattern, from);
      if (idx >= 0) {
        if (idx > max) throw onTooLarge();
        const out = this.buf.subarray(0, idx);
        this.buf = this.buf.subarray(idx + pattern.length);
        this.countPreData(idx + pattern.length);
        return out;
      }
      // Bytes that can no longer start a match are known to belong to the value.
      if (this.buf.length - (pattern.length - 1) > max) throw onTooLarge();
      from = Math.max(0, this.buf.length - pattern.length + 1);
      if (!(await this.fill())) throw malformed('The body ended before the closing boundary.');
    }
  }

  private countPreData(n: number): void {
    this.preData += n;
    if (this.preData > this.limits.maxPreDataBytes) throw tooLarge(this.limits.maxPreDataBytes);
  }

  private async ensure(n: number): Promise<boolean> {
    while (this.buf.length < n) if (!(await this.fill())) return false;
    return true;
  }

  /**
   * Read the fields up to the one named `file` (case-insensitively). The caller must consume the
   * returned file stream (or release the reader).
   */
  async readUntilFile(): Promise<FormUntilFile> {
    const fields: FormField[] = [];
    const tooLargeField = () => tooLarge(this.limits.maxFieldBytes);
    const tooLargePreamble = () => tooLarge(this.limits.maxPreDataBytes);
    // Preamble, then the first boundary.
    await this.readUntil(this.delimiter, this.limits.maxPreDataBytes, tooLargePreamble);
    for (;;) {
      if (!(await this.ensure(2))) throw malformed('The body ended before the closing boundary.');
      if (this.buf.subarray(0, 2).equals(DASH_DASH)) return { fields };
      const block = await this.readUntil(HEADER_END, this.limits.maxPartHeaderBytes, () => malformed('A part header block is too large.'));
      const headers = parsePartHeaders(block.toString('utf8'));
      if (headers.name.toLowerCase() === 'file') {
        return { fields, file: { name: headers.name, filename: headers.filename, contentType: headers.contentType, stream: this.fileStream() } };
      }
      const value = await this.readUntil(this.delimiter, this.limits.maxFieldBytes, tooLargeField);
      fields.push({ name: headers.name, value: value.toString('utf8') });
    }
  }

  private fileStream(): Readable {
    let pumping = false;
    let finished = false;
    const stream: Readable = new Readable({
      highWaterMark: 1 << 16,
      read: () => {
        if (pumping || finished) return;
        pumping = true;
        this.pumpFile(stream).then(
          (done) => {
            pumping = false;
            if (done) finished = true;
          },
          (err: unknown) => {
            pumping = false;
            finished = true;
            stream.destroy(err as Error);
          },
        );
      },
    });
    return stream;
  }

  /** Push file bytes until the boundary (true) or until the consumer wants no more for now (false). */
  private async pumpFile(stream: Readable): Promise<boolean> {
    const dl = this.delimiter.length;
    for (;;) {
      if (stream.destroyed) return true;
      const idx = this.buf.indexOf(this.delimiter);
      if (idx >= 0) {
        const data = this.buf.subarray(0, idx);
        this.buf = this.buf.subarray(idx + dl);
        if (data.length > 0) stream.push(data);
        stream.push(null);
        return true;
      }
      // Keep the last dl-1 bytes: they may be the start of the boundary.
      const safe = this.buf.length - (dl - 1);
      if (safe > 0) {
        const data = this.buf.subarray(0, safe);
        this.buf = this.buf.subarray(safe);
        if (!stream.push(data)) return false;
      }
      if (!(await this.fill())) throw malformed('The body ended before the end of the file field.');
    }
  }
}
