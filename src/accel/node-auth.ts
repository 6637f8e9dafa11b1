// Authentication between Strata nodes for the internal accelerated-read endpoint.
//
// Every node of a deployment shares the identity data root, hence the master key
// (<data>/master.key). The node key is derived from it with HKDF-SHA256 (salt and info below,
// 32 bytes), so the master key itself never signs anything and the node key is useless for
// decrypting stored secrets. A request carries:
//   x-strata-node-date:      milliseconds since the epoch when it was signed
//   x-strata-node-signature: hex HMAC-SHA256(nodeKey, "strata-accel-v1\n" + METHOD + "\n" +
//                            request-target (path and query, exactly as sent) + "\n" + date)
// The receiver recomputes the MAC over the request target it received and compares in constant
// time; a missing or wrong signature, or a date more than MAX_NODE_SKEW_MS away from its clock,
// is refused with 403 AccessDenied. The request target names region, bucket, key, mode and
// range, so a captured signature cannot be moved to another object; it can be replayed for the
// same read within the window, which reveals nothing the capture did not.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { S3Error } from '../errors.ts';

export const NODE_DATE_HEADER = 'x-strata-node-date';
export const NODE_SIGNATURE_HEADER = 'x-strata-node-signature';
/** Largest accepted difference between the signing time and the receiver's clock. */
export const MAX_NODE_SKEW_MS = 5 * 60 * 1000;

const HKDF_SALT = Buffer.from('strata node auth', 'utf8');
const HKDF_INFO = Buffer.from('strata accel v1 node-to-node hmac key', 'utf8');

export function deriveNodeKey(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, HKDF_SALT, HKDF_INFO, 32));
}

function mac(nodeKey: Buffer, method: string, target: string, date: string): Buffer {
  return createHmac('sha256', nodeKey).update(`strata-accel-v1\n${method.toUpperCase()}\n${target}\n${date}`).digest();
}

/** Headers that authenticate `method target` (target = path and query as they will be sent). */
export function signNodeRequest(nodeKey: Buffer, method: string, target: string, now = Date.now()): Record<string, string> {
  const date = String(now);
  return { [NODE_DATE_HEADER]: date, [NODE_SIGNATURE_HEADER]: mac(nodeKey, method, target, date).toString('hex') };
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? undefined : v;
}

/** Throws 403 AccessDenied unless the request carries a valid, recent node signature. */
export function verifyNodeRequest(nodeKey: Buffer, method: string, target: string, headers: Record<string, string | string[] | undefined>, now = Date.now()): void {
  const date = single(headers[NODE_DATE_HEADER]);
  const signature = single(headers[NODE_SIGNATURE_HEADER]);
  if (date === undefined || signature === undefined) throw new S3Error('AccessDenied', 'Internal endpoint: node signature required.');
  if (!/^\d{1,15}$/.test(date) || Math.abs(now - Number(date)) > MAX_NODE_SKEW_MS) throw new S3Error('AccessDenied', 'Internal endpoint: node signature date is missing or too old.');
  if (!/^[0-9a-f]{64}$/.test(signature)) throw new S3Error('AccessDenied', 'Internal endpoint: node signature does not match.');
  const expected = mac(nodeKey, method, target, date);
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) throw new S3Error('AccessDenied', 'Internal endpoint: node signature does not match.');
}
