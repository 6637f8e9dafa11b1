// The contract between the pipeline and the operation modules. An operation declares its AWS
// name, its IAM action and the access level it needs once, and returns a result; it never
// writes the HTTP response itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { PayloadMode } from '../auth/sigv4.ts';
import type { StrataConfig } from '../config.ts';
import type { IdentityStore, Principal } from '../identity/identity-store.ts';
import type { RegionStore } from '../store/region-store.ts';
import type { BucketRecord } from '../store/types.ts';
import type { ResolvedRequest } from '../addressing.ts';
import type { LevelNeed } from '../access/levels.ts';
import type { EventService } from '../events/service.ts';

export type { LevelNeed };


export interface OperationResult {
  status?: number;
  headers?: Record<string, string | number | undefined>;
  /** an XML document (already rendered) */
  xml?: string;
  /** a JSON document (bucket policies) */
  json?: string;
  body?: Readable | Buffer;
}

/** Serves requests addressed to accel-object.<region> hosts (GetObject/HeadObject from a local read cache). */
export interface AccelService {
  handle(raw: IncomingMessage, res: ServerResponse, target: ResolvedRequest, requestId: string): Promise<void>;
  /** Internal requests between nodes (origin fills and revalidation), under /_strata/; false if not one. */
  handleInternal(raw: IncomingMessage, res: ServerResponse, requestId: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface Services {
  config: StrataConfig;
  identity: IdentityStore;
  regions: Map<string, RegionStore>;
  accel?: AccelService;
  /** outbox workers and access logs (src/events); absent where nothing is delivered */
  events?: EventService;
}

export interface RequestContext {
  requestId: string;
  raw: IncomingMessage;
  headers: IncomingMessage['headers'];
  method: string;
  target: ResolvedRequest;
  query: Map<string, string>;
  bucketName?: string;
  key?: string;
  store: RegionStore;
  services: Services;
  principal: Principal | undefined;
  payload: PayloadMode;
  /** the bucket named by the request, loaded once by the pipeline (undefined when absent) */
  bucket?: BucketRecord;
  secureTransport: boolean;
  sourceIp: string;
}

export interface Operation {
  name: string;
  /** the IAM action evaluated against bucket policies */
  action: string;
  /** the action instead when the request names a version (?versionId=): s3:GetObjectVersion, ... */
  versionAction?: string;
  level: LevelNeed;
  /** whether the request names a bucket that must exist before the operation runs */
  needsBucket: boolean;
  /** operations that read a request body themselves (uploads); all others get a capped body */
  streamsBody?: boolean;
  /**
   * The operation authorizes itself, because what decides is only known inside it: each key of a
   * DeleteObjects request, or the tags in a PutObjectTagging body.
   */
  authorizesItself?: boolean;
  /** never authenticated: CORS preflights come from browsers, unsigned (signature parameters are ignored) */
  unauthenticated?: boolean;
  handle(ctx: RequestContext): Promise<OperationResult>;
}
