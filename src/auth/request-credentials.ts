// SigV4 verification (sigv4.ts) is synchronous and asks for the signer's secret through a
// synchronous lookup, while the identity store may need a database round trip to answer
// (PostgreSQL, on a cache miss). authenticateRequest bridges the two without parsing the
// request twice on the hot path: verification runs against this node's cache; only when the
// cache does not hold the key that the request names is the key loaded, and verification runs
// once more with it. Both passes are the same pure function of the request, so the answer
// (and which error comes first) is exactly what one pass with a synchronous store would give.
import type { Credentials, Principal } from '../identity/identity-store.ts';
import { authenticate, type AuthInput, type AuthOptions, type AuthResult } from './sigv4.ts';

export interface CredentialSource {
  /** cached credentials, without a database round trip; undefined on a miss */
  peekCredentials(accessKey: string): Credentials | undefined;
  credentialsFor(accessKey: string): Promise<Credentials | undefined>;
}

/** Thrown through authenticate() when the cache cannot answer; never escapes this module. */
class CacheMiss {
  constructor(readonly accessKey: string) {}
}

export async function authenticateRequest(input: AuthInput, source: CredentialSource, opts: AuthOptions): Promise<{ auth: AuthResult; principal?: Principal }> {
  let loaded: { accessKey: string; found: Credentials | undefined } | undefined;
  // Two passes at most: the request names one access key, and the second pass knows its answer.
  for (let pass = 0; pass < 2; pass++) {
    let used: Credentials | undefined;
    try {
      const auth = authenticate(
        input,
        (accessKey) => {
          if (loaded?.accessKey === accessKey) used = loaded.found;
          else {
            used = source.peekCredentials(accessKey);
            if (!used) throw new CacheMiss(accessKey);
          }
          return used ? { secretKey: used.secret } : undefined;
        },
        opts,
      );
      return { auth, principal: auth.kind === 'signed' ? used?.principal : undefined };
    } catch (err) {
      if (!(err instanceof CacheMiss)) throw err;
      loaded = { accessKey: err.accessKey, found: await source.credentialsFor(err.accessKey) };
    }
  }
  throw new Error('authenticateRequest: the request named a second access key');
}
