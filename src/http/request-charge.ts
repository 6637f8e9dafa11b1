// Requester-pays accounting at the HTTP layer: once a charged request is over, the region counts
// it and its bytes for the organisation that pays (see src/access/request-payment.ts for who pays,
// and `strata usage` for the report).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RegionStore } from '../store/region-store.ts';

/** Byte length of a chunk handed to write()/end() (a string in its encoding, else a buffer). */
function lengthOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

/**
 * Counts a request another organisation pays for, exactly once, when its answer is complete or
 * its connection closes first (a client that hangs up mid-download is still counted): the body
 * bytes actually received from it and the body bytes actually handed to its connection, whatever
 * the declared lengths say. Only charged requests are wrapped, so other requests pay nothing.
 * A failure to count is reported to `onError`, never the request's failure.
 */
export function countCharge(res: ServerResponse, store: RegionStore, payerOrg: string, bucket: string, raw: IncomingMessage, isHead: boolean, onError: (err: unknown) => void): void {
  // Body bytes already buffered before this point count too; later ones as the parser pushes them.
  let bytesIn = raw.readableLength;
  const push = raw.push;
  raw.push = function (this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding) {
    if (chunk !== null) bytesIn += lengthOf(chunk, encoding);
    return push.call(this, chunk, encoding);
  } as IncomingMessage['push'];
  let bytesOut = 0;
  const write = res.write;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    bytesOut += lengthOf(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  const end = res.end;
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    if (typeof chunk !== 'function') bytesOut += lengthOf(chunk, rest[0]);
    return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse['end'];
  let counted = false;
  const count = () => {
    if (counted) return;
    counted = true;
    // aws-chunked bodies carry their framing (chunk signatures, trailers): the payload is at most
    // the declared decoded length, which the upload itself was checked against.
    const decoded = Number(raw.headers['x-amz-decoded-content-length']);
    const payload = Number.isSafeInteger(decoded) && decoded >= 0 ? Math.min(decoded, bytesIn) : bytesIn;
    store.chargeRequester(payerOrg, bucket, payload, isHead ? 0 : bytesOut).catch(onError);
  };
  res.once('finish', count);
  res.once('close', count);
}
