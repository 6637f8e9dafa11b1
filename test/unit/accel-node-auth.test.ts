import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveNodeKey, MAX_NODE_SKEW_MS, signNodeRequest, verifyNodeRequest } from '../../src/accel/node-auth.ts';
import { S3Error } from '../../src/errors.ts';

const master = randomBytes(32);
const key = deriveNodeKey(master);
const target = '/_strata/accel/v1/object?region=ord1&bucket=b&key=a+b&mode=full';

function code(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof S3Error ? `${err.status} ${err.code}` : 'other';
  }
}

describe('node-to-node authentication', () => {
  it('derives a key distinct from the master key, deterministically', () => {
    expect(key.length).toBe(32);
    expect(key.equals(master)).toBe(false);
    expect(deriveNodeKey(master).equals(key)).toBe(true);
  });

  it('accepts its own signature and refuses any change of method, target, date or key', () => {
    const now = Date.now();
    const headers = signNodeRequest(key, 'GET', target, now);
    expect(code(() => verifyNodeRequest(key, 'GET', target, headers, now))).toBeUndefined();
    expect(code(() => verifyNodeRequest(key, 'HEAD', target, headers, now))).toBe('403 AccessDenied');
    expect(code(() => verifyNodeRequest(key, 'GET', target.replace('key=a', 'key=c'), headers, now))).toBe('403 AccessDenied');
    expect(code(() => verifyNodeRequest(key, 'GET', target, { ...headers, 'x-strata-node-date': String(now + 1) }, now))).toBe('403 AccessDenied');
    expect(code(() => verifyNodeRequest(deriveNodeKey(randomBytes(32)), 'GET', target, headers, now))).toBe('403 AccessDenied');
    expect(code(() => verifyNodeRequest(key, 'GET', target, {}, now))).toBe('403 AccessDenied');
    expect(code(() => verifyNodeRequest(key, 'GET', target, { ...headers, 'x-strata-node-signature': 'zz' }, now))).toBe('403 AccessDenied');
  });

  it('refuses signatures older or newer than the allowed skew', () => {
    const now = Date.now();
    const old = signNodeRequest(key, 'GET', target, now - MAX_NODE_SKEW_MS - 1);
    expect(code(() => verifyNodeRequest(key, 'GET', target, old, now))).toBe('403 AccessDenied');
    const future = signNodeRequest(key, 'GET', target, now + MAX_NODE_SKEW_MS + 1);
    expect(code(() => verifyNodeRequest(key, 'GET', target, future, now))).toBe('403 AccessDenied');
    const recent = signNodeRequest(key, 'GET', target, now - MAX_NODE_SKEW_MS + 1000);
    expect(code(() => verifyNodeRequest(key, 'GET', target, recent, now))).toBeUndefined();
  });
});
