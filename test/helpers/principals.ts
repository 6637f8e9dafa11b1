// Callers of a test server other than its bootstrap admin: keys added straight to its identity
// store, and raw requests sent as one of them, as the admin, or anonymously.
import { generateCredentials, type AccessLevel } from '../../src/identity/identity-store.ts';
import { rawRequest, type RawResponse } from './raw.ts';
import type { TestServer } from './server.ts';

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A key of its own, the bootstrap admin key, or no signature at all. */
export type Who = Creds | 'admin' | 'anonymous';

export interface SendOptions {
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A new access key for `user` of organisation `org` (namespace = org) at `level`. */
export async function addTestKey(server: TestServer, org: string, user: string, level: AccessLevel): Promise<Creds> {
  const { accessKey, secretKey } = generateCredentials();
  await server.services.identity.addKey({ org, user, namespace: org, level, accessKey, secretKey, secretName: `${org}-${user}-obj-store-creds` });
  return { accessKeyId: accessKey, secretAccessKey: secretKey };
}

/** A raw request to `server` as `who`. */
export function sendAs(server: TestServer, who: Who, method: string, path: string, opts: SendOptions = {}): Promise<RawResponse> {
  const sign = who === 'admin' ? undefined : who === 'anonymous' ? false : who;
  return rawRequest(server.port, { method, path, headers: opts.headers, body: opts.body, sign });
}
