// CORS headers on actual answers (not preflights), errors included so that a page can read why
// its request failed. The pipeline (src/app.ts, src/accel/edge.ts) calls these just before the
// answer is written; the rules come from the bucket record the request loaded, or, for an error
// raised before the bucket was loaded (a bad signature, say), from a fresh look at the bucket.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { BucketRecord } from '../store/types.ts';
import { actualResponseHeaders, corsVary } from './match.ts';

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The method an actual request is matched with. Ceph RGW matches an actual request that carries
 * Access-Control-Request-Method with that method instead of its own (ceph/s3-tests
 * test_cors_origin_response asserts it); AWS ignores the header outside preflights. We follow
 * Ceph: browsers send that header only on preflights, so only hand-made requests see this.
 */
function matchedMethod(method: string, headers: IncomingHttpHeaders): string {
  return single(headers['access-control-request-method']) ?? method;
}

/** Set the CORS headers for an answer about `bucket` (nothing when it has no CORS rules). */
export function setCorsHeaders(res: ServerResponse, method: string, headers: IncomingHttpHeaders, bucket: Pick<BucketRecord, 'config'> | undefined): void {
  const rules = bucket?.config?.cors;
  if (!rules || method === 'OPTIONS' || res.headersSent) return;
  const found = actualResponseHeaders(rules, single(headers.origin), matchedMethod(method, headers));
  // The answer depends on Origin whenever the bucket has rules, also for a request without one:
  // a shared cache must not hand a CORS-less copy to a page (AWS omits Vary then; we do not).
  found.Vary ??= corsVary;
  for (const [name, value] of Object.entries(found)) res.setHeader(name, value);
}

/**
 * For an error answer: the bucket's CORS headers, looking the bucket up when the request failed
 * before loading it. Only requests with an Origin pay for the look-up, and a failing look-up
 * never replaces the error being answered.
 */
export async function setCorsHeadersOnError(
  res: ServerResponse,
  method: string,
  headers: IncomingHttpHeaders,
  bucket: () => Promise<Pick<BucketRecord, 'config'> | undefined>,
): Promise<void> {
  if (headers.origin === undefined || method === 'OPTIONS' || res.headersSent) return;
  try {
    setCorsHeaders(res, method, headers, await bucket());
  } catch {
    // The error answered is the one that matters; without the rules it goes out without CORS headers.
  }
}
