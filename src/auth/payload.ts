// Request-body verification as streams, one per PayloadMode (see ./sigv4.ts):
//
// - sha256: pass-through that hashes; at the end the digest must equal x-amz-content-sha256
//   (else 400 XAmzContentSHA256Mismatch).
// - unsigned: pass-through.
// - streaming-signed (aws-chunked, STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]):
//     <hex-size>;chunk-signature=<64 hex>\r\n<data>\r\n ... 0;chunk-signature=<sig>\r\n
//   then either \r\n (no trailer) or trailer lines `name:value\r\n`, the line
//   `x-amz-trailer-signature:<sig>\r\n` and a closing \r\n. Chunk i is signed over
//     AWS4-HMAC-SHA256-PAYLOAD\n<amzDate>\n<scope>\n<signature of chunk i-1 (seed for the first)>\n
//     <sha256('')>\n<sha256(chunk data)>
//   and the trailer over
//     AWS4-HMAC-SHA256-TRAILER\n<amzDate>\n<scope>\n<signature of the final 0-size chunk>\n
//     <sha256(canonical trailer headers: sorted, `name:value\n` each)>
//   (AWS "sigv4-streaming" and "sigv4-streaming-trailers"; the trailer canonical form is
//   aws-c-auth's canonical header block, which the published example reproduces.)
// - streaming-unsigned-trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER): the same framing without
//   signatures: `<hex>\r\n<data>\r\n ... 0\r\n<trailer lines>\r\n\r\n`. A chunk-signature
//   extension or an x-amz-trailer-signature line, if present, is ignored.
//
// Design choices:
// - Chunk data is passed downstream as it arrives (subarray slices, no per-chunk accumulation)
//   and hashed incrementally; a chunk's signature can only be checked once its last byte has
//   been seen, so bytes of a chunk whose signature turns out wrong HAVE been emitted. The
//   stream then errors (SignatureDoesNotMatch), so a consumer must treat the body as valid only
//   once the stream has ended cleanly (the store writes to a temp file and discards it on
//   error). The same holds for the sha256 mode and for the decoded-length check.
// - Buffering is bounded: only a chunk-header or trailer line is accumulated, at most
//   MAX_LINE bytes, and the whole trailer section at most MAX_TRAILER_BYTES.
// - Errors: a body that ends early (truncated chunk, missing final chunk) or whose decoded
//   size differs from x-amz-decoded-content-length → 400 IncompleteBody; framing that is
//   syntactically wrong (bad hex size, missing CRLF after data, over-long line, bad trailer
//   line, bytes after the end) → 400 InvalidArgument; a missing or wrong chunk/trailer
//   signature in signed mode → 403 SignatureDoesNotMatch.
// - Leniency: no minimum chunk size (AWS wants ≥ 8 KiB except the last); a bare LF is accepted
//   as a line end; the final CRLF may be missing; the blank line the AWS documentation puts
//   between the final chunk and the trailer is accepted as well as the SDK framing without it;
//   a trailer-mode body with no trailer at all is valid (AWS accepts it too).
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from '../errors.ts';
import { EMPTY_SHA256, canonicalHeaderValue, hmacHex, sha256Hex, signaturesEqual, type PayloadMode } from './sigv4.ts';

export interface PayloadDecoder {
  /** pipe the raw request body in; the decoded, verified payload comes out */
  stream: Transform;
  /** trailing headers (lower-case names), resolved once the body has ended and verified */
  trailers: Promise<Record<string, string>>;
  /** x-amz-decoded-content-length of an aws-chunked body, when the client sent it */
  decodedLength: number | undefined;
  /**
   * With `deferSha256`, the hex x-amz-content-sha256 the caller itself must compare with the
   * SHA-256 of the body (the stream then passes the bytes through unhashed).
   */
  deferredSha256?: string;
}

export interface PayloadDecoderOptions {
  /** the caller hashes the body where it is written and verifies it (see deferredSha256) */
  deferSha256?: boolean;
}

type Headers = Record<string, string | string[] | undefined>;

/** Longest chunk-header or trailer line accepted (without its CRLF). */
export const MAX_LINE = 4096;
/** Largest trailer section accepted. */
export const MAX_TRAILER_BYTES = 16 * 1024;
const MAX_TRAILER_LINES = 64;

const CR = 0x0d;
const LF = 0x0a;

function single(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function malformed(message: string): S3Error {
  return new S3Error('InvalidArgument', `Malformed aws-chunked body: ${message}`);
}

function incomplete(message?: string): S3Error {
  return new S3Error('IncompleteBody', message);
}

/** Build the verifying decoder for a request body. Throws S3Error for bad length headers. */
export function createPayloadDecoder(mode: PayloadMode, headers: Headers, options: PayloadDecoderOptions = {}): PayloadDecoder {
  const streaming = mode.kind === 'streaming-signed' || mode.kind === 'streaming-unsigned-trailer';
  let decodedLength: number | undefined;
  if (streaming) {
    const raw = single(headers, 'x-amz-decoded-content-length');
    if (raw !== undefined) {
      const v = raw.trim();
      if (!/^\d{1,16}$/.test(v) || !Number.isSafeInteger(Number(v))) {
        throw new S3Error('InvalidArgument', 'Invalid x-amz-decoded-content-length', { ArgumentName: 'x-amz-decoded-content-length', ArgumentValue: raw });
      }
      decodedLength = Number(v);
    }
  }

  let resolve!: (t: Record<string, string>) => void;
  let reject!: (e: Error) => void;
  const trailers = new Promise<Record<string, string>>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody has to await the trailers: never let a rejection go unhandled.
  trailers.catch(() => {});
  const settle: Settle = { resolve, reject, done: false };

  let stream: Transform;
  if (mode.kind === 'sha256' && options.deferSha256) {
    return { stream: new PassThroughVerifier(settle), trailers, decodedLength, deferredSha256: mode.expectedHex };
  }
  switch (mode.kind) {
    case 'sha256': stream = new Sha256Verifier(mode.expectedHex, settle); break;
    case 'unsigned': stream = new PassThroughVerifier(settle); break;
    case 'streaming-signed': stream = new AwsChunkedDecoder(settle, decodedLength, { trailer: mode.trailer, signing: mode }); break;
    case 'streaming-unsigned-trailer': stream = new AwsChunkedDecoder(settle, decodedLength, { trailer: true, signing: undefined }); break;
  }
  return { stream, trailers, decodedLength };
}

interface Settle {
  resolve: (t: Record<string, string>) => void;
  reject: (e: Error) => void;
  done: boolean;
}

/** Shared end-of-life handling: the trailers promise settles exactly once. */
abstract class SettlingTransform extends Transform {
  constructor(protected readonly settle: Settle) {
    super();
  }

  protected succeed(trailers: Record<string, string>): void {
    if (this.settle.done) return;
    this.settle.done = true;
    this.settle.resolve(trailers);
  }

  protected fail(err: Error): void {
    if (this.settle.done) return;
    this.settle.done = true;
    this.settle.reject(err);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    // Build the error only when it is needed: a settled body (the usual case) needs none, and an
    // S3Error captures a stack trace.
    if (!this.settle.done) this.fail(err ?? incomplete());
    cb(err);
  }
}

class PassThroughVerifier extends SettlingTransform {
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.succeed({});
    cb();
  }
}

class Sha256Verifier extends SettlingTransform {
  private readonly hash = createHash('sha256');

  constructor(private readonly expectedHex: string, settle: Settle) {
    super(settle);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const computed = this.hash.digest('hex');
    if (!signaturesEqual(computed, this.expectedHex)) {
      const err = new S3Error('XAmzContentSHA256Mismatch', undefined, {
        ClientComputedContentSHA256: this.expectedHex,
        S3ComputedContentSHA256: computed,
      });
      this.fail(err);
      cb(err);
      return;
    }
    this.succeed({});
    cb();
  }
}

type ChunkSigning = Extract<PayloadMode, { kind: 'streaming-signed' }>;

type State =
  | 'header'     // reading `<hex>[;ext...]` up to CRLF
  | 'data'       // passing `remaining` bytes of chunk data through
  | 'data-cr'    // expecting the CR (or a bare LF) after chunk data
  | 'data-lf'    // expecting the LF after chunk data
  | 'trailer'    // after the final chunk: trailer lines / closing blank line
  | 'done';      // body complete; only stray CR/LF tolerated

class AwsChunkedDecoder extends SettlingTransform {
  private state: State = 'header';
  /** pieces of a line split across input buffers, and their total length */
  private partial: Buffer[] = [];
  private partialLength = 0;
  private remaining = 0;
  private decoded = 0;
  private chunkHash: Hash | undefined;
  private chunkSignature = '';
  private previousSignature: string;
  private readonly trailerFields = new Map<string, string>();
  private trailerSignature: string | undefined;
  private trailerBytes = 0;
  private trailerLines = 0;

  constructor(
    settle: Settle,
    private readonly declaredLength: number | undefined,
    private readonly opts: { trailer: boolean; signing: ChunkSigning | undefined },
  ) {
    super(settle);
    this.previousSignature = opts.signing?.seedSignature ?? '';
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.consume(chunk);
    } catch (err) {
      this.fail(err as Error);
      cb(err as Error);
      return;
    }
    cb();
  }

  override _flush(cb: TransformCallback): void {
    try {
      const trailers = this.finish();
      this.succeed(trailers);
      cb();
    } catch (err) {
      this.fail(err as Error);
      cb(err as Error);
    }
  }

  private consume(buf: Buffer): void {
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      switch (this.state) {
        case 'data': {
          const n = Math.min(this.remaining, len - pos);
          const piece = buf.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          this.decoded += n;
          if (this.declaredLength !== undefined && this.decoded > this.declaredLength) {
            throw incomplete('The decoded body is longer than x-amz-decoded-content-length.');
          }
          this.chunkHash?.update(piece);
          this.push(piece);
          if (this.remaining === 0) this.state = 'data-cr';
          break;
        }
        case 'data-cr': {
          const b = buf[pos++];
          if (b === CR) this.state = 'data-lf';
          else if (b === LF) this.endChunk();
          else throw malformed('chunk data is longer than its declared size or not followed by CRLF');
          break;
        }
        case 'data-lf': {
          if (buf[pos++] !== LF) throw malformed('chunk data is not followed by CRLF');
          this.endChunk();
          break;
        }
        case 'header':
        case 'trailer': {
          const nl = buf.indexOf(LF, pos);
          if (nl < 0) {
            this.addPartial(buf.subarray(pos));
            pos = len;
            break;
          }
          const line = this.takeLine(buf.subarray(pos, nl));
          pos = nl + 1;
          if (this.state === 'header') this.onChunkHeader(line);
          else this.onTrailerLine(line);
          break;
        }
        case 'done': {
          // Only stray line ends may follow the end of the body.
          for (; pos < len; pos++) {
            const b = buf[pos];
            if (b !== CR && b !== LF) throw malformed('data after the end of the body');
          }
          break;
        }
      }
    }
  }

  private addPartial(piece: Buffer): void {
    if (piece.length === 0) return;
    this.partial.push(piece);
    this.partialLength += piece.length;
    if (this.partialLength > MAX_LINE + 1) throw malformed('chunk header or trailer line too long');
  }

  /** Complete a line ending just before an LF; strips the CR. Returns it as a latin1 string. */
  private takeLine(tail: Buffer): string {
    let line = tail;
    if (this.partialLength > 0) {
      this.partial.push(tail);
      line = Buffer.concat(this.partial, this.partialLength + tail.length);
      this.partial = [];
      this.partialLength = 0;
    }
    let end = line.length;
    if (end > 0 && line[end - 1] === CR) end--;
    if (end > MAX_LINE) throw malformed('chunk header or trailer line too long');
    return line.toString('latin1', 0, end);
  }

  private onChunkHeader(line: string): void {
    const parts = line.split(';');
    const sizeText = parts[0].trim();
    if (!/^[0-9a-fA-F]{1,13}$/.test(sizeText)) throw malformed(`invalid chunk size "${sizeText.slice(0, 32)}"`);
    const size = parseInt(sizeText, 16);
    let signature: string | undefined;
    for (let i = 1; i < parts.length; i++) {
      const ext = parts[i].trim();
      const eq = ext.indexOf('=');
      if (eq > 0 && ext.slice(0, eq).trim() === 'chunk-signature') signature = ext.slice(eq + 1).trim();
    }
    if (this.opts.signing) {
      if (signature === undefined) throw new S3Error('SignatureDoesNotMatch', 'The chunk-signature of an aws-chunked chunk is missing.');
      this.chunkSignature = signature;
    }
    if (size > 0) {
      this.remaining = size;
      this.chunkHash = this.opts.signing ? createHash('sha256') : undefined;
      this.state = 'data';
      return;
    }
    // Final chunk: no data, signed over the empty string.
    if (this.opts.signing) this.verifyChunk(EMPTY_SHA256);
    this.state = 'trailer';
  }

  /** End of a chunk's data (its CRLF seen): check its signature. */
  private endChunk(): void {
    if (this.opts.signing) {
      const hash = this.chunkHash!.digest('hex');
      this.chunkHash = undefined;
      this.verifyChunk(hash);
    }
    this.state = 'header';
  }

  private verifyChunk(dataHash: string): void {
    const s = this.opts.signing!;
    const sts = `AWS4-HMAC-SHA256-PAYLOAD\n${s.amzDate}\n${s.scope}\n${this.previousSignature}\n${EMPTY_SHA256}\n${dataHash}`;
    const expected = hmacHex(s.signingKey, sts);
    if (!signaturesEqual(expected, this.chunkSignature)) {
      throw new S3Error('SignatureDoesNotMatch', 'The chunk signature we calculated does not match the chunk-signature you provided.', {
        StringToSign: sts,
        SignatureProvided: this.chunkSignature,
      });
    }
    this.previousSignature = expected;
  }

  private onTrailerLine(line: string): void {
    if (line.trim() === '') {
      // A blank line before any trailer is the separator some writers (and the AWS example)
      // put after the final chunk; a blank line after trailers, or any blank line when no
      // trailer is expected, closes the body.
      if (this.opts.trailer && this.trailerLines === 0) return;
      this.state = 'done';
      return;
    }
    if (!this.opts.trailer) throw malformed('unexpected data after the final chunk');
    this.trailerBytes += line.length + 2;
    this.trailerLines++;
    if (this.trailerBytes > MAX_TRAILER_BYTES || this.trailerLines > MAX_TRAILER_LINES) throw malformed('trailer section too large');
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed('invalid trailer line');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw malformed('invalid trailer name');
    if (name === 'x-amz-trailer-signature') {
      if (this.trailerSignature !== undefined) throw malformed('repeated x-amz-trailer-signature');
      this.trailerSignature = value;
      return;
    }
    if (this.trailerSignature !== undefined && this.opts.signing) throw malformed('trailer after x-amz-trailer-signature');
    if (this.trailerFields.has(name)) throw malformed(`repeated trailer ${name}`);
    this.trailerFields.set(name, value);
  }

  private finish(): Record<string, string> {
    if (this.state === 'header' || this.state === 'data' || this.state === 'data-cr' || this.state === 'data-lf') {
      throw incomplete('The aws-chunked body ended before its final chunk.');
    }
    if (this.partialLength > 0) {
      // An unterminated last line: accept it as the final line (the closing CRLF is optional).
      const line = this.takeLine(Buffer.alloc(0));
      if (this.state === 'trailer') this.onTrailerLine(line);
      else if (line.trim() !== '') throw malformed('data after the end of the body');
    }
    if (this.declaredLength !== undefined && this.decoded !== this.declaredLength) {
      throw incomplete(`The decoded body has ${this.decoded} bytes but x-amz-decoded-content-length says ${this.declaredLength}.`);
    }
    if (this.opts.signing && this.opts.trailer) this.verifyTrailer();
    return Object.fromEntries(this.trailerFields);
  }

  private verifyTrailer(): void {
    const s = this.opts.signing!;
    if (this.trailerSignature === undefined) {
      if (this.trailerFields.size === 0) return; // no trailer sent at all
      throw new S3Error('SignatureDoesNotMatch', 'The x-amz-trailer-signature of the trailing headers is missing.');
    }
    const names = [...this.trailerFields.keys()].sort();
    const canonical = names.map((n) => `${n}:${canonicalHeaderValue(this.trailerFields.get(n)!)}\n`).join('');
    const sts = `AWS4-HMAC-SHA256-TRAILER\n${s.amzDate}\n${s.scope}\n${this.previousSignature}\n${sha256Hex(canonical, 'latin1')}`;
    const expected = hmacHex(s.signingKey, sts);
    if (!signaturesEqual(expected, this.trailerSignature)) {
      throw new S3Error('SignatureDoesNotMatch', 'The trailer signature we calculated does not match the x-amz-trailer-signature you provided.', {
        StringToSign: sts,
        SignatureProvided: this.trailerSignature,
      });
    }
  }
}
