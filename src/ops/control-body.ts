// Request bodies. Object data is streamed through the payload decoder (which verifies
// x-amz-content-sha256 or chunk signatures); control documents (Delete, Complete, Tagging,
// ACL and policy documents) are read whole, but only up to a hard cap.
import type { Readable } from 'node:stream';
import { createPayloadDecoder, type PayloadDecoderOptions } from '../auth/payload.ts';
import { declaredDigests, verifyWholeBody } from '../checksum/declared.ts';
import { S3Error } from '../errors.ts';
import type { RequestContext } from './operation.ts';

/** Largest control document accepted (S3 caps DeleteObjects at 1000 keys, about 1 MB). */
export const maxControlDocumentBytes = 2 * 1024 * 1024;

export interface DecodedBody {
  stream: Readable;
  /** trailing headers of an aws-chunked body (lower-case names), once the body has ended */
  trailers: Promise<Record<string, string>>;
  /** the object's byte length when the client declared it */
  declaredLength: number | undefined;
  /** set when the caller asked to verify x-amz-content-sha256 itself: the expected hex digest */
  deferredSha256?: string;
}

/** The body as the client meant it: aws-chunked framing removed, signatures verified. */
export function decodedBody(ctx: RequestContext, options: PayloadDecoderOptions = {}): DecodedBody {
  const decoder = createPayloadDecoder(ctx.payload, ctx.headers, options);
  // An operation may refuse the request (quota, preconditions) without consuming the body; a
  // verification error the decoder raises later must not become an uncaught exception. Consumers
  // (pipelines, iterators) attach their own listeners and still see it.
  decoder.stream.on('error', () => undefined);
  // Errors on the socket side must reach the decoder so that pipelines fail instead of hanging.
  ctx.raw.on('error', (err) => decoder.stream.destroy(err));
  ctx.raw.on('aborted', () => decoder.stream.destroy(new S3Error('IncompleteBody')));
  const stream = ctx.raw.pipe(decoder.stream);
  const contentLength = ctx.headers['content-length'];
  const declaredLength = decoder.decodedLength ?? (isChunkedPayload(ctx) ? undefined : contentLength !== undefined ? Number(contentLength) : undefined);
  return { stream, trailers: decoder.trailers, declaredLength, deferredSha256: decoder.deferredSha256 };
}

export function isChunkedPayload(ctx: RequestContext): boolean {
  return ctx.payload.kind === 'streaming-signed' || ctx.payload.kind === 'streaming-unsigned-trailer';
}

/**
 * Read a whole control document, refusing anything over `limit` bytes, and verify every digest
 * the client declared for it (Content-MD5, an x-amz-checksum-* header or trailer), as PutObject
 * does for object bytes. With UNSIGNED-PAYLOAD over plain HTTP the digest is the only thing that
 * binds the body to the request, so no operation may read a document without this check.
 */
export async function readControlBody(ctx: RequestContext, limit = maxControlDocumentBytes, opts: { objectChecksumHeaders?: boolean } = {}): Promise<Buffer> {
  const declared = Number(ctx.headers['content-length'] ?? 0);
  if (!isChunkedPayload(ctx) && declared > limit) throw new S3Error('MaxMessageLengthExceeded');
  const digests = declaredDigests(ctx.headers, isChunkedPayload(ctx), opts.objectChecksumHeaders);
  const { stream, trailers } = decodedBody(ctx);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      stream.destroy();
      throw new S3Error('MaxMessageLengthExceeded');
    }
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  verifyWholeBody(digests, body, await trailers);
  return body;
}
