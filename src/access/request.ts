// What authorization reads of a request. The operations' RequestContext is one (it has more);
// this module names only these fields so that access/ depends on nothing above it.
import type { IncomingMessage } from 'node:http';
import type { Principal } from '../identity/identity-store.ts';
import type { ObjectRecord, VersionEntry } from '../store/types.ts';
import type { AuthorizeTrace } from './authorize.ts';

export interface AccessRequest {
  raw: IncomingMessage;
  headers: IncomingMessage['headers'];
  method: string;
  query: Map<string, string>;
  principal: Principal | undefined;
  secureTransport: boolean;
  sourceIp: string;
  /** where the ACL and tags of the object a decision needs are read from */
  store: {
    getObject(bucket: string, key: string): Promise<ObjectRecord | undefined>;
    getVersion(bucket: string, key: string, versionId: string): Promise<VersionEntry | undefined>;
  };
  /** proxies whose X-Forwarded-For is believed */
  services: { config: { trustedProxies: readonly string[] } };
  /** set by `strata policy explain` only: authorize() records there how it decided */
  authorizeTrace?: AuthorizeTrace;
}
