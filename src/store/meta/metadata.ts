// The metadata engine of one region, behind one interface with two implementations: SQLite
// (sqlite.ts, the embedded default: one process owns the data root) and PostgreSQL
// (postgres.ts: any number of stateless nodes share one database). RegionStore writes the S3
// semantics once, against these row-level operations; a backend only says how a row is found,
// written and locked. Both return the same row shapes (object-rows.ts), so nothing above this
// layer knows which engine it runs on.
import type { BucketRow, ListRow, ObjectRow, PartRow, UploadRow, VersionRow } from '../object-rows.ts';
import type { OutboxEntry, OutboxTable } from '../../outbox/outbox.ts';
import type { TopicTable } from '../../notify/topics.ts';

/** One payer's charged requests to one requester-pays bucket. */
export interface RequesterCharge {
  payerOrg: string;
  /** the bucket's owner when the requests were made */
  ownerOrg: string;
  bucket: string;
  requests: number;
  bytesIn: number;
  bytesOut: number;
}

export type BucketField = 'acl' | 'policy' | 'tags' | 'config';

/** Reads of committed state, and the same reads inside a transaction. */
export interface MetaReads {
  bucket(name: string): Promise<BucketRow | undefined>;
  /** every bucket, or those of one owner, by name */
  buckets(ownerOrg?: string): Promise<BucketRow[]>;
  /** the key's current version (objects table) */
  object(bucket: string, key: string): Promise<ObjectRow | undefined>;
  /** the key's newest noncurrent version or delete marker */
  newestVersion(bucket: string, key: string): Promise<VersionRow | undefined>;
  versionBySeq(bucket: string, key: string, seq: number): Promise<VersionRow | undefined>;
  nullVersion(bucket: string, key: string): Promise<VersionRow | undefined>;
  /** current objects with key > after, lower <= key < upper, in key byte order */
  listPage(bucket: string, after: string, lower: string, upper: string, limit: number): Promise<ListRow[]>;
  /** ListObjectVersions' two sources (see list-versions.ts) */
  currentWithin(bucket: string, key: string, belowSeq: number, limit: number): Promise<ObjectRow[]>;
  currentFrom(bucket: string, after: string, lower: string, upper: string, limit: number): Promise<ObjectRow[]>;
  historyWithin(bucket: string, key: string, belowSeq: number, limit: number): Promise<VersionRow[]>;
  historyFrom(bucket: string, after: string, lower: string, upper: string, limit: number): Promise<VersionRow[]>;
  upload(uploadId: string): Promise<UploadRow | undefined>;
  part(uploadId: string, partNumber: number): Promise<PartRow | undefined>;
  parts(uploadId: string, afterPart: number, limit: number): Promise<PartRow[]>;
  allParts(uploadId: string): Promise<PartRow[]>;
  /** unfinished uploads in (key, upload id) order after (keyMarker, uploadIdMarker), lower <= key < upper */
  uploadsPage(bucket: string, keyMarker: string, uploadIdMarker: string, lower: string, upper: string, limit: number): Promise<UploadRow[]>;
  usage(org: string): Promise<{ bytes: number; objects: number } | undefined>;
  quota(org: string): Promise<number | undefined>;
  /** every organisation with usage or a quota */
  allUsage(): Promise<{ org: string; bytes: number; objects: number; quota: number | null }[]>;
  /** what other organisations' requests to this region's requester-pays buckets were charged */
  requesterCharges(): Promise<RequesterCharge[]>;
  inlineBlob(id: string): Promise<Buffer | undefined>;
}

/**
 * Writes, inside one transaction. The lock methods take the row locks a backend with concurrent
 * writers needs (PostgreSQL under READ COMMITTED); SQLite holds its one write lock throughout.
 * Lock order, everywhere: upload, then bucket, then key, so that concurrent transactions cannot
 * wait on each other in a cycle (a backend still retries deadlocks and serialization failures).
 */
export interface MetaTx extends MetaReads {
  /** the bucket row, locked against deletion (shared) or against everything (exclusive) */
  lockBucket(name: string, mode: 'share' | 'exclusive'): Promise<BucketRow | undefined>;
  /** lock the key (whether or not it has rows) and read its current version */
  lockKey(bucket: string, key: string): Promise<ObjectRow | undefined>;
  /** the upload row, locked: parts commit under a shared lock, complete and abort exclusive */
  lockUpload(uploadId: string, mode: 'share' | 'exclusive'): Promise<UploadRow | undefined>;
  /**
   * A sequence number above every version the key has and above every earlier one this node
   * issued. `hasHistory`: the key may have noncurrent versions or markers (its bucket was ever
   * versioned); a bucket never versioned has none, and their number need not be looked up.
   */
  nextSeq(bucket: string, key: string, current: ObjectRow | undefined, hasHistory: boolean): Promise<number>;

  insertBucket(name: string, ownerOrg: string, createdAt: number, acl: string | null): Promise<void>;
  deleteBucket(name: string): Promise<void>;
  setBucketField(name: string, field: BucketField, value: string | null): Promise<void>;
  bucketHasObjects(bucket: string): Promise<boolean>;
  bucketUploads(bucket: string): Promise<string[]>;

  /** insert or replace the key's current version */
  putObject(row: ObjectRow): Promise<void>;
  deleteObject(bucket: string, key: string): Promise<void>;
  setObjectMeta(bucket: string, key: string, meta: string): Promise<void>;
  insertVersion(row: VersionRow): Promise<void>;
  deleteVersion(bucket: string, key: string, seq: number): Promise<void>;
  setVersionMeta(bucket: string, key: string, seq: number, meta: string): Promise<void>;

  insertUpload(row: UploadRow): Promise<void>;
  deleteUpload(uploadId: string): Promise<void>;
  putPart(row: PartRow): Promise<void>;
  deleteParts(uploadId: string): Promise<void>;

  /** a blob no row references any more: unlinked after the commit (and by recovery/GC) */
  addDeadBlob(blob: string): Promise<void>;
  addUsage(org: string, bytes: number, objects: number): Promise<void>;
  /** wait for, and then exclude, the organisation's other usage-locking transactions */
  lockUsage(org: string): Promise<void>;
  setUsage(org: string, bytes: number, objects: number): Promise<void>;
  setQuota(org: string, bytes: number | null): Promise<void>;
  addRequesterCharge(payerOrg: string, ownerOrg: string, bucket: string, bytesIn: number, bytesOut: number): Promise<void>;
  insertInlineBlob(id: string, data: Buffer): Promise<void>;

  /** record work to do because this transaction's change committed (src/outbox) */
  enqueueOutbox(entries: OutboxEntry[]): Promise<void>;

  /** run `fn` so that its writes are undone if it throws, without ending the transaction */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
}

/** Every blob id the metadata references (start-up recovery and garbage collection). */
export interface BlobReference {
  blob: string | null;
  manifest: string | null;
}

export interface RegionMetadata {
  readonly engine: 'sqlite' | 'postgres';
  /** committed state (SQLite: a second connection, so an open transaction is never seen) */
  readonly read: MetaReads;
  /** the outbox rows outside any change's transaction (src/outbox), and the notification topics */
  readonly outbox: OutboxTable;
  readonly topics: TopicTable;
  /** run `fn` in one transaction: committed when it resolves, rolled back when it throws */
  transaction<T>(fn: (tx: MetaTx) => Promise<T>): Promise<T>;
  /**
   * Whether commits made close together should share a transaction (SQLite: one WAL write for
   * many small PUTs). PostgreSQL commits concurrently and group-commits its WAL by itself.
   */
  readonly batchesCommits: boolean;
  /**
   * A number that changes whenever committed metadata changes, cheap to read: caches of bucket
   * records compare it before trusting an entry. undefined: no such number (no caching).
   */
  changeCounter(): number | undefined;
  /** wait until what has been committed is on stable storage */
  durable(): Promise<void>;
  /** remove dead_blobs rows of blobs that are gone */
  forgetDeadBlobs(ids: string[]): Promise<void>;
  /** blobs released by committed transactions and not yet unlinked */
  deadBlobs(limit: number): Promise<string[]>;
  /** how many such blobs wait, and since when the oldest (epoch ms; PostgreSQL only: SQLite keeps no time) */
  deadBlobQueue(): Promise<{ depth: number; oldestMs?: number }>;
  /** every reference to a blob from objects, versions and parts */
  blobReferences(): AsyncIterable<BlobReference>;
  inlineBlobIds(): AsyncIterable<string>;
  removeInlineBlob(id: string): Promise<void>;
  /** objects (current and noncurrent, not delete markers) and their bytes in one bucket, counted now */
  bucketStats(bucket: string): Promise<{ objects: number; bytes: number }>;
  /** recount usage from objects, versions and parts */
  countUsage(): Promise<Map<string, { bytes: number; objects: number }>>;
  close(): Promise<void>;
}
