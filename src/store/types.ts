// Records kept in a region's metadata database, as the rest of the program sees them.
import type { ChecksumAlgorithm } from '../checksum/algorithms.ts';
import type { LifecycleConfiguration } from '../lifecycle/rules.ts';
import type { LifecycleProgress } from '../lifecycle/progress.ts';
import type { NotificationConfig } from '../notify/config.ts';
import type { LoggingConfig } from '../access-log/config.ts';
import type { ReplicationConfig } from '../replication/config.ts';

export type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';

export interface StoredChecksum {
  algorithm: ChecksumAlgorithm;
  /** base64 value as S3 returns it; COMPOSITE values end in -N */
  value: string;
  type: ChecksumType;
}

/** An ACL as stored: the owner plus explicit grants (canned ACLs are expanded when set). */
export interface Grant {
  grantee: { type: 'CanonicalUser'; id: string } | { type: 'Group'; uri: string };
  permission: 'FULL_CONTROL' | 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP';
}
export interface Acl {
  owner: string;
  grants: Grant[];
}

export interface ObjectMeta {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
  /** x-amz-meta-* with the prefix removed, names lower-cased */
  user: Record<string, string>;
  tags?: [string, string][];
  acl?: Acl;
  checksum?: StoredChecksum;
  storageClass?: string;
  /** parts count of a multipart object, for partNumber GETs and the ETag suffix */
  partsCount?: number;
  /** the multipart upload that created the object, so that a repeated Complete can be answered */
  uploadId?: string;
  /** x-amz-replication-status: PENDING, COMPLETED or FAILED on a source, REPLICA on a replica */
  replicationStatus?: 'PENDING' | 'COMPLETED' | 'FAILED' | 'REPLICA';
  /** x-amz-website-redirect-location: website endpoints answer 301 to it (src/website) */
  websiteRedirectLocation?: string;
  /** BitTorrent piece hashes, computed on the first ?torrent request and kept (src/ops/torrent.ts) */
  torrent?: TorrentPieces;
}

export interface TorrentPieces {
  /** the ETag of the bytes hashed: pieces of other bytes (a replaced object) are never used */
  etag: string;
  pieceLength: number;
  /** concatenated 20-byte SHA-1 hashes, base64 */
  pieces: string;
}

export interface PartRef {
  partNumber: number;
  blob: string;
  /** plaintext size */
  size: number;
  /** bytes on disk (differs from size when encrypted) */
  storedSize: number;
  etag: string;
  checksum?: string;
  sse?: string;
}

export interface ObjectRecord {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  lastModified: number;
  ownerOrg: string;
  meta: ObjectMeta;
  /** single-blob object */
  blob: string | null;
  /** multipart object: parts in order */
  manifest: PartRef[] | null;
  /** SSE-C record (JSON) of a single-blob object; multipart parts carry their own */
  sse: string | null;
  /** the version id; null or absent: the "null" version (unversioned buckets, suspended writes) */
  versionId?: string | null;
}

/** A bucket's versioning state; absent while it was never enabled (it can never return there). */
export type VersioningStatus = 'Enabled' | 'Suspended';

/** One entry of a key's history: a version (the record) or a delete marker (size 0, no bytes). */
export interface VersionEntry {
  record: ObjectRecord;
  isDeleteMarker: boolean;
  /** the key's current version (a marker may be current) */
  isLatest: boolean;
  /** orders the key's versions (higher is newer); internal, never shown to clients */
  seq: number;
}

/** A bucket's public access block (PutPublicAccessBlock); absent settings are false. */
export interface PublicAccessBlock {
  blockPublicAcls: boolean;
  ignorePublicAcls: boolean;
  blockPublicPolicy: boolean;
  restrictPublicBuckets: boolean;
}

/** Bucket settings kept as JSON in the buckets.config column; each field absent until set. */
/** Transfer acceleration of a bucket: absent (never configured) is served like Enabled. */
export type AccelerateStatus = 'Enabled' | 'Suspended';

export interface BucketConfig {
  publicAccessBlock?: PublicAccessBlock;
  versioning?: VersioningStatus;
  accelerate?: AccelerateStatus;
  /** who pays for requests: absent is BucketOwner */
  requestPayment?: 'BucketOwner' | 'Requester';
  /** event notifications (src/notify) */
  notification?: NotificationConfig;
  /** server access logging into a target bucket (src/access-log) */
  logging?: LoggingConfig;
  /** replication of new versions to buckets of other regions (src/replication) */
  replication?: ReplicationConfig;
  /** CORS rules in the order they were put (src/cors); absent when never configured or deleted */
  cors?: CorsRule[];
  /** static website hosting (PutBucketWebsite), served on the website hosts by src/website */
  website?: WebsiteConfiguration;
  /** PutBucketLifecycleConfiguration's rules (src/lifecycle) */
  lifecycle?: LifecycleConfiguration;
  /** where the lifecycle worker's unfinished pass over the bucket stands (resumed after a restart) */
  lifecycleProgress?: LifecycleProgress;
}

/** One CORSRule of PutBucketCors, as validated (values kept as sent: their case and spaces). */
export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

/** A website redirect: every part absent keeps what the request had (301, its protocol, host, key). */
export interface WebsiteRedirect {
  protocol?: 'http' | 'https';
  hostName?: string;
  replaceKeyPrefixWith?: string;
  replaceKeyWith?: string;
  httpRedirectCode?: number;
}

export interface WebsiteRoutingRule {
  condition?: { keyPrefixEquals?: string; httpErrorCodeReturnedEquals?: number };
  redirect: WebsiteRedirect;
}

/** Either redirectAllRequestsTo alone, or an index suffix with an optional error key and rules. */
export interface WebsiteConfiguration {
  indexSuffix?: string;
  errorKey?: string;
  redirectAllRequestsTo?: { hostName: string; protocol?: 'http' | 'https' };
  routingRules?: WebsiteRoutingRule[];
}

export interface BucketRecord {
  name: string;
  ownerOrg: string;
  createdAt: number;
  acl: Acl | null;
  policy: string | null;
  tags: [string, string][] | null;
  /** the buckets.config column; optional so that records built elsewhere (accel wire) still type-check */
  config?: BucketConfig;
}

export interface UploadRecord {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: number;
  ownerOrg: string;
  initiator: string;
  meta: ObjectMeta & { checksumAlgorithm?: ChecksumAlgorithm; checksumType?: ChecksumType };
  sse: string | null;
}

export interface PartRecord {
  uploadId: string;
  partNumber: number;
  size: number;
  storedSize: number;
  etag: string;
  lastModified: number;
  blob: string;
  checksum: string | null;
  sse: string | null;
}
