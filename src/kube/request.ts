// What a resource handler gets from the router, and gives back.
import type { IncomingMessage } from 'node:http';
import type { AdminToken } from '../identity/admin-tokens.ts';
import type { Scope } from '../identity/admin-scope.ts';
import type { IdentityStore } from '../identity/identity-store.ts';
import type { UserDirectory } from '../identity/users.ts';
import type { JsonObject } from './objects.ts';

export interface KubeContext {
  identity: IdentityStore;
  users: UserDirectory;
  token: AdminToken;
  /** what the token may act on for this request (access.ts authorize) */
  scope: Scope;
  req: IncomingMessage;
  query: URLSearchParams;
  /** undefined for a list across all namespaces, or a cluster-scoped resource */
  namespace?: string;
  name?: string;
  /** the request body as a JSON object (400 BadRequest otherwise) */
  body(): Promise<JsonObject>;
  /** did kubectl ask for a Table (human output)? */
  table: boolean;
  /** sent back as `Warning: 299 - "…"` headers, which kubectl prints as `Warning: …` */
  warnings: string[];
}

export interface KubeReply {
  status: number;
  body: unknown;
}

export interface ResourceHandlers {
  get?(c: KubeContext): Promise<KubeReply>;
  list?(c: KubeContext): Promise<KubeReply>;
  create?(c: KubeContext): Promise<KubeReply>;
  update?(c: KubeContext): Promise<KubeReply>;
  patch?(c: KubeContext): Promise<KubeReply>;
  delete?(c: KubeContext): Promise<KubeReply>;
}
