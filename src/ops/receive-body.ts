// Receiving object bytes (PutObject, UploadPart): stream the decoded body into a new blob while
// counting, hashing (MD5 for the ETag, plus any flexible checksum the client declared) and
// optionally encrypting; then verify every digest the client sent. Any failure removes the blob,
// so a rejected upload leaves nothing behind. storeBytes does the storing for bytes that are not
// a request body (copies, POST form files).
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { checksumHeaderName, checksumTransform, type ChecksumAlgorithm } from '../checksum/algorithms.ts';
import { contentMd5, declaredChecksum, verifyDeclaredChecksum } from '../checksum/declared.ts';
import { S3Error } from '../errors.ts';
import { signaturesEqual } from '../auth/sigv4.ts';
import { decodedBody, isChunkedPayload } from './control-body.ts';
import type { RequestContext } from './operation.ts';
import type { WriteEncryption } from './sse.ts';
import type { BlobWriteResult } from '../store/blobs.ts';

export interface ReceivedBody {
  blob: string;
  /** plaintext bytes received */
  size: number;
  /** bytes written to disk (differs from size when encrypted) */
  storedSize: number;
  md5: Buffer;
  /** the flexible checksum the client declared, verified */
  checksum?: { algorithm: ChecksumAlgorithm; value: string; raw: Buffer };
}

export interface ReceiveOptions {
  maxBytes: number;
  /** checksum algorithm required by the multipart upload this part belongs to */
  requiredAlgorithm?: ChecksumAlgorithm;
  /** SSE-C data key: the bytes are sealed at rest, after hashing the plaintext (BlobStore.write) */
  encryptWith?: Buffer;
  /** called with the declared length before any byte is read (quota checks) */
  beforeRead?: (declaredLength: number | undefined) => void;
  /** called as bytes arrive, with the running total (quota checks for undeclared lengths) */
  onProgress?: (bytesSoFar: number) => void;
}

class LimitStream extends Transform {
  bytes = 0;
  constructor(private readonly max: number, private readonly onProgress?: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) return done(new S3Error('EntityTooLarge', undefined, { MaxSizeAllowed: String(this.max) }));
    try {
      this.onProgress?.(this.bytes);
    } catch (err) {
      return done(err as Error);
    }
    done(null, chunk);
  }
}

export async function receiveBody(ctx: RequestContext, opts: ReceiveOptions): Promise<ReceivedBody> {
  const expectedMd5 = contentMd5(ctx.headers);
  const declared = declaredChecksum(ctx.headers, isChunkedPayload(ctx));
  if (opts.requiredAlgorithm && declared && declared.algorithm !== opts.requiredAlgorithm) {
    throw new S3Error('InvalidRequest', `Checksum Type mismatch occurred, expected checksum Type: ${opts.requiredAlgorithm.toLowerCase()}, actual checksum Type: ${declared.algorithm.toLowerCase()}`);
  }
  // The blob writer computes MD5 and the payload SHA-256 of the plaintext where it writes (a
  // worker thread for files, which also seals SSE-C bodies), off the event loop.
  const body = decodedBody(ctx, { deferSha256: true });
  if (body.declaredLength === undefined && !isChunkedPayload(ctx) && ctx.headers['transfer-encoding'] === undefined) throw new S3Error('MissingContentLength');
  if (body.declaredLength !== undefined) {
    if (!Number.isSafeInteger(body.declaredLength) || body.declaredLength < 0) throw new S3Error('InvalidArgument', 'Invalid Content-Length');
    if (body.declaredLength > opts.maxBytes) throw new S3Error('EntityTooLarge', undefined, { ProposedSize: String(body.declaredLength), MaxSizeAllowed: String(opts.maxBytes) });
  }
  opts.beforeRead?.(body.declaredLength);

  const algorithms = new Set<ChecksumAlgorithm>();
  if (declared) algorithms.add(declared.algorithm);
  if (opts.requiredAlgorithm) algorithms.add(opts.requiredAlgorithm);
  const limit = new LimitStream(opts.maxBytes, opts.onProgress);
  // Flexible checksums are computed here.
  const hashing = algorithms.size > 0 ? checksumTransform([...algorithms]) : undefined;
  const transforms: Transform[] = [limit];
  if (hashing) transforms.push(hashing);

  const written = await ctx.store.blobs.write(body.stream, transforms, {
    declaredSize: body.declaredLength,
    md5: true,
    sha256: body.deferredSha256 !== undefined,
    encryptWith: opts.encryptWith,
  });
  try {
    if (body.deferredSha256 !== undefined) {
      const computed = written.sha256!.toString('hex');
      if (!signaturesEqual(computed, body.deferredSha256)) {
        throw new S3Error('XAmzContentSHA256Mismatch', undefined, { ClientComputedContentSHA256: body.deferredSha256, S3ComputedContentSHA256: computed });
      }
    }
    if (body.declaredLength !== undefined && limit.bytes !== body.declaredLength) throw new S3Error('IncompleteBody');
    const md5 = written.md5!;
    if (expectedMd5 && !md5.equals(expectedMd5)) throw new S3Error('BadDigest');
    let checksum: ReceivedBody['checksum'];
    const digests = hashing?.digests() ?? new Map<ChecksumAlgorithm, Buffer>();
    if (declared) {
      const trailers = declared.inTrailer ? await body.trailers : {};
      const sent = declared.inTrailer ? trailers[checksumHeaderName(declared.algorithm)] : declared.headerValue;
      const computed = digests.get(declared.algorithm)!;
      verifyDeclaredChecksum(declared, sent, computed);
      checksum = { algorithm: declared.algorithm, value: computed.toString('base64'), raw: computed };
    } else if (opts.requiredAlgorithm) {
      const computed = digests.get(opts.requiredAlgorithm)!;
      checksum = { algorithm: opts.requiredAlgorithm, value: computed.toString('base64'), raw: computed };
    }
    return { blob: written.id, size: limit.bytes, storedSize: written.size, md5, checksum };
  } catch (err) {
    await ctx.store.blobs.remove(written.id);
    throw err;
  }
}

/** A blob written by storeBytes, with the flexible checksum asked for. */
export interface StoredBytes extends BlobWriteResult {
  checksum?: Buffer;
}

/**
 * Store `source` (a copy's source range, a POST form's file) as a new blob: MD5 of the plaintext
 * and SSE-C sealing where the bytes are written (a writer thread), the flexible checksum
 * `algorithm` on the way, after the transforms in `before` (size limits).
 */
export async function storeBytes(
  ctx: RequestContext,
  source: Readable,
  opts: { algorithm?: ChecksumAlgorithm; encryption?: WriteEncryption; before?: Transform[] },
): Promise<StoredBytes> {
  const hashing = opts.algorithm ? checksumTransform([opts.algorithm]) : undefined;
  const transforms = hashing ? [...(opts.before ?? []), hashing] : (opts.before ?? []);
  const written = await ctx.store.blobs.write(source, transforms, { md5: true, encryptWith: opts.encryption?.dataKey });
  return { ...written, checksum: opts.algorithm ? hashing!.digests().get(opts.algorithm) : undefined };
}
