// Requester-pays accounting at the HTTP layer: once the answer to a charged request is sent, the
// region counts the request and its bytes for the organisation that pays (see
// src/access/request-payment.ts for who pays, and `strata usage` for the report).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RegionStore } from '../store/region-store.ts';

/**
 * Counts a request another organisation pays for once its answer is sent: the request, the body
 * bytes received and the body bytes answered. A failure to count is reported to `onError`, never
 * the request's failure.
 */
export function countCharge(res: ServerResponse, store: RegionStore, payerOrg: string, bucket: string, raw: IncomingMessage, isHead: boolean, onError: (err: unknown) => void): void {
  res.once('finish', () => {
    // The body's own size: aws-chunked uploads say it apart from their framing.
    const bytesIn = Number(raw.headers['x-amz-decoded-content-length'] ?? raw.headers['content-length'] ?? 0) || 0;
    const bytesOut = isHead ? 0 : Number(res.getHeader('content-length') ?? 0) || 0;
    store.chargeRequester(payerOrg, bucket, bytesIn, bytesOut).catch(onError);
  });
}
