// One region's store: its metadata (SQLite by default, or PostgreSQL shared by several nodes;
// see meta/metadata.ts) and its blob files, behind a narrow interface. Nothing here knows about
// HTTP. Every mutation is one metadata transaction; blobs released by a mutation are recorded in
// dead_blobs inside that transaction and unlinked after it commits.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OWNER_DIR_MODE, prepareDatabaseFile } from './file-modes.ts';
import { BlobStore } from './blobs.ts';
import type { MetaTx, RegionMetadata, RequesterCharge } from './meta/metadata.ts';
import { SqliteRegionMetadata } from './meta/sqlite.ts';
import { blobsOf, rowParams, toBucket, toObject } from './object-rows.ts';
import type { Acl, BucketConfig, BucketRecord, ObjectMeta, ObjectRecord, VersionEntry, VersioningStatus } from './types.ts';
import { newVersionId, parseVersionId, selects, toEntry } from './versions.ts';
import { compareUtf8, prefixSuccessor } from './key-order.ts';
import { listVersionPage, type VersionListQuery, type VersionListResult } from './list-versions.ts';
import { listObjectPage, type ListQuery, type ListResult } from './list-objects.ts';
import {
  addMarker,
  checkPrecondition,
  findVersion,
  installCurrent,
  keepNoncurrent,
  lockVersioning,
  promoteNewest,
  release,
  removeNullVersion,
  removeVersion,
  replacesPrevious,
  settle,
  type ObjectPrecondition,
  type Released,
} from './object-history.ts';
import { RegionUploads } from './region-uploads.ts';
import { ChangeCounterCache } from './change-cache.ts';
import { usageProbe, type UsageProbe } from './usage-probe.ts';
import type { ChangeHook, ChangeOrigin } from './change-hook.ts';

export type { UsageProbe } from './usage-probe.ts';
import type { StrataConfig } from '../config.ts';
import { S3Error } from '../errors.ts';

export { compareUtf8, prefixSuccessor };
export type { ListEntry, ListQuery, ListResult } from './list-objects.ts';
export { etagMatches, type ObjectPrecondition } from './object-history.ts';

export interface CommitResult {
  previous: ObjectRecord | undefined;
  /** the new version's id (null: the null version) */
  versionId: string | null;
}

/**
 * Runs inside a commit's transaction with the previous current object, the bytes the commit
 * frees and the owner's usage (quota checks); it may throw to abort.
 */
export type CommitCheck = (previous: ObjectRecord | undefined, freedBytes: number, usage: UsageProbe) => void | Promise<void>;


export interface DeleteOutcome {
  /** a delete marker was created, or the version removed was one */
  deleteMarker: boolean;
  /** the marker's or the removed version's id ("null" for the null version); undefined if unversioned */
  versionId: string | undefined;
  /** the version that went away (or stopped being current) */
  removed: ObjectRecord | undefined;
}

interface QueuedCommit {
  record: ObjectRecord;
  precondition: ObjectPrecondition;
  check: CommitCheck | undefined;
  origin: ChangeOrigin | undefined;
  resolve: (result: CommitResult) => void;
  reject: (error: unknown) => void;
}

export interface StoreOptions {
  /** fsync blobs and the WAL before a write is acknowledged */
  fsync: boolean;
  /** bodies declared at most this long are stored in the database instead of a file (0: never) */
  inlineMaxBytes: number;
  /**
   * Unreferenced blob files younger than this are left alone by recovery: on a shared
   * filesystem another node may be about to commit them (0: remove them all, one process).
   */
  blobGraceMs?: number;
}

/** The store of region `name` under the configured data root (dataDir/regions/<name>), on SQLite. */
export function openRegionStore(config: Pick<StrataConfig, 'dataDir' | 'fsync' | 'inlineMaxBytes'>, name: string): RegionStore {
  return new RegionStore(name, join(config.dataDir, 'regions', name), { fsync: config.fsync, inlineMaxBytes: config.inlineMaxBytes });
}

export class RegionStore {
  readonly meta: RegionMetadata;
  readonly blobs: BlobStore;
  readonly uploads: RegionUploads;
  private readonly blobGraceMs: number;
  /** Told of every change to a key inside its transaction (src/events installs it); none by default. */
  changeHook: ChangeHook | undefined;
  /** Every request loads its bucket; records are cached while the metadata's change counter stands still. */
  private readonly bucketCache: ChangeCounterCache<BucketRecord | undefined>;

  /** `meta` defaults to the SQLite file root/meta.db; blobs always live under `root`. */
  constructor(readonly name: string, root: string, options: StoreOptions, meta?: RegionMetadata) {
    mkdirSync(root, { recursive: true, mode: OWNER_DIR_MODE });
    if (!meta) {
      prepareDatabaseFile(join(root, 'meta.db'));
      meta = new SqliteRegionMetadata(join(root, 'meta.db'), options.fsync);
    }
    this.meta = meta;
    this.blobGraceMs = options.blobGraceMs ?? 0;
    this.bucketCache = new ChangeCounterCache(() => meta.changeCounter());
    this.blobs = new BlobStore(root, options.fsync, { inlineBlob: (id) => meta.read.inlineBlob(id), removeInlineBlob: (id) => meta.removeInlineBlob(id), inlineBlobIds: () => meta.inlineBlobIds() }, options.inlineMaxBytes);
    this.uploads = new RegionUploads(meta, this.blobs, (ids) => this.reap(ids), (tx, change, origin) => this.changeHook?.(tx, change, origin) ?? Promise.resolve());
    // Shared data directory: one bounded retry for a blob another node has just committed.
    if (this.blobGraceMs > 0) this.blobs.retryMissingMs = 200;
  }

  // ---- durability -------------------------------------------------------------------

  /** Wait until everything committed so far is on stable storage. */
  durable(): Promise<void> {
    return this.meta.durable();
  }

  /**
   * Unlink blobs that a committed transaction released. Failures are retried by recovery. On a
   * shared filesystem nothing is unlinked here: another node may still be streaming the blob to
   * a reader, so released blobs wait in dead_blobs for the collector (collect), past the grace period.
   */
  reap(blobIds: string[]): void {
    if (blobIds.length === 0 || this.blobGraceMs > 0) return;
    void (async () => {
      const gone: string[] = [];
      for (const id of blobIds) {
        try {
          await this.blobs.remove(id);
          gone.push(id);
        } catch {
          // left in dead_blobs; collected by the next recovery
        }
      }
      await this.meta.forgetDeadBlobs(gone).catch(() => undefined);
    })();
  }

  /**
   * Recovery (at start-up, and from time to time on a shared filesystem): remove temp files,
   * blobs released by committed transactions, and blobs that were renamed into place but never
   * committed (a process died between the two) once they are older than the grace period.
   */
  async recover(): Promise<{ temporary: number; unreferenced: number }> {
    const temporary = this.blobs.clearTemporary(this.blobGraceMs);
    // Listed before the references are read: a blob committed after this listing is not in it.
    const candidates: string[] = [];
    for await (const id of this.blobs.listAll()) candidates.push(id);
    const referenced = new Set<string>();
    for await (const row of this.meta.blobReferences()) for (const id of blobsOf(row)) referenced.add(id);
    let removed = 0;
    const remaining = new Set<string>();
    for (const id of candidates) {
      if (!referenced.has(id) && (await this.blobs.removeUnreferenced(id, this.blobGraceMs))) removed++;
      else remaining.add(id);
    }
    // dead_blobs rows need no pass of their own: their blobs are unreferenced, so the sweep above
    // removed them, unless they are younger than the grace period (then the row stays).
    await this.meta.forgetDeadBlobs((await this.meta.deadBlobs(1_000_000)).filter((id) => !remaining.has(id)));
    return { temporary, unreferenced: removed };
  }

  async close(): Promise<void> {
    await this.blobs.close();
    await this.meta.close();
  }

  // ---- buckets ----------------------------------------------------------------------

  /** The bucket's record (cached while the metadata's change counter stands still). */
  getBucket(name: string): Promise<BucketRecord | undefined> {
    return this.bucketCache.get(name, async () => {
      const row = await this.meta.read.bucket(name);
      return row ? toBucket(row) : undefined;
    });
  }

  async listBuckets(ownerOrg?: string): Promise<BucketRecord[]> {
    return (await this.meta.read.buckets(ownerOrg)).map(toBucket);
  }

  async createBucket(name: string, ownerOrg: string, acl: Acl | null): Promise<'created' | 'owned' | 'taken'> {
    try {
      return await this.meta.transaction(async (tx) => {
        const existing = await tx.lockBucket(name, 'exclusive');
        if (existing) return existing.owner_org === ownerOrg ? 'owned' : 'taken';
        await tx.insertBucket(name, ownerOrg, Date.now(), acl ? JSON.stringify(acl) : null);
        return 'created';
      });
    } finally {
      this.bucketCache.delete(name);
    }
  }

  /** Deletes an empty bucket; unfinished multipart uploads are aborted with it. */
  async deleteBucket(name: string): Promise<void> {
    try {
      const released = await this.meta.transaction(async (tx) => {
        const bucket = await tx.lockBucket(name, 'exclusive');
        if (await tx.bucketHasObjects(name)) throw new S3Error('BucketNotEmpty');
        const blobs: string[] = [];
        for (const uploadId of await tx.bucketUploads(name)) blobs.push(...(await this.uploads.drop(tx, uploadId, bucket?.owner_org ?? '')));
        await tx.deleteBucket(name);
        return blobs;
      });
      this.reap(released);
    } finally {
      this.bucketCache.delete(name);
    }
  }

  private async setBucketField(name: string, field: 'acl' | 'policy' | 'tags', value: string | null): Promise<void> {
    try {
      await this.meta.transaction((tx) => tx.setBucketField(name, field, value));
    } finally {
      this.bucketCache.delete(name);
    }
  }

  setBucketAcl(name: string, acl: Acl): Promise<void> {
    return this.setBucketField(name, 'acl', JSON.stringify(acl));
  }

  setBucketPolicy(name: string, policy: string | null): Promise<void> {
    return this.setBucketField(name, 'policy', policy);
  }

  setBucketTags(name: string, tags: [string, string][] | null): Promise<void> {
    return this.setBucketField(name, 'tags', tags ? JSON.stringify(tags) : null);
  }

  /**
   * Read-modify-write of the buckets.config JSON (public access block, versioning, and whatever
   * bucket settings join it), with the bucket row locked, so that concurrent updates of
   * different fields cannot lose each other. Returns the stored config; a missing bucket is left alone.
   */
  async setBucketConfig(name: string, update: (config: BucketConfig) => BucketConfig): Promise<BucketConfig | undefined> {
    try {
      return await this.meta.transaction(async (tx) => {
        const row = await tx.lockBucket(name, 'exclusive');
        if (!row) return undefined;
        const next = update(toBucket(row).config ?? {});
        await tx.setBucketField(name, 'config', JSON.stringify(next));
        return next;
      });
    } finally {
      this.bucketCache.delete(name);
    }
  }

  /** Set the bucket's versioning state (Enabled or Suspended; it never returns to unversioned). */
  async setVersioning(bucket: string, status: VersioningStatus): Promise<void> {
    await this.setBucketConfig(bucket, (config) => ({ ...config, versioning: status }));
  }

  // ---- objects ----------------------------------------------------------------------

  /** The key's current version (never a delete marker). */
  async getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    const row = await this.meta.read.object(bucket, key);
    return row ? toObject(row) : undefined;
  }

  /**
   * The version `versionId` names ("null" or an id this server issued; InvalidArgument for any
   * other), or, without one, the current version, which may be a delete marker.
   */
  async getVersion(bucket: string, key: string, versionId?: string): Promise<VersionEntry | undefined> {
    const read = this.meta.read;
    const current = await read.object(bucket, key);
    if (versionId === undefined) {
      if (current) return toEntry(current, true);
      const newest = await read.newestVersion(bucket, key);
      return newest ? toEntry(newest, true) : undefined;
    }
    const selector = parseVersionId(versionId);
    if (current && selects(current, selector)) return toEntry(current, true);
    const row = selector.kind === 'null' ? await read.nullVersion(bucket, key) : await read.versionBySeq(bucket, key, selector.seq);
    if (!row || !selects(row, selector)) return undefined;
    return toEntry(row, !current && (await read.newestVersion(bucket, key))?.seq === row.seq);
  }

  /**
   * Make `record` the current object for its key, atomically: preconditions are checked and
   * usage updated in the same transaction. In a bucket that was never versioned the previous
   * object's blobs are released; with versioning enabled it becomes noncurrent; while suspended
   * the new object is the null version and replaces only that.
   */
  async commitObject(record: ObjectRecord, precondition: ObjectPrecondition = {}, check?: CommitCheck, origin?: ChangeOrigin): Promise<CommitResult> {
    const { result, released } = await this.meta.transaction((tx) => this.writeObjectRecord(tx, record, precondition, check, origin));
    this.afterObjectCommit(record, released);
    return result;
  }

  /**
   * commitObject, sharing one transaction with the other commits queued in the same turn of
   * the event loop, where the engine gains from it (SQLite). Each commit still succeeds or fails
   * on its own (a savepoint each, checked in order, so each sees the ones before it), but the
   * transaction's WAL write is paid once for all of them: under many concurrent small PUTs that
   * write was the largest single cost of a PUT on the event loop. Settles once the transaction
   * has committed (not yet fsynced: callers still await durable()).
   */
  commitObjectSoon(record: ObjectRecord, precondition: ObjectPrecondition = {}, check?: CommitCheck, origin?: ChangeOrigin): Promise<CommitResult> {
    if (!this.meta.batchesCommits) return this.commitObject(record, precondition, check, origin);
    return new Promise((resolve, reject) => {
      this.commitQueue.push({ record, precondition, check, origin, resolve, reject });
      if (this.commitQueue.length === 1) setImmediate(() => void this.commitQueued());
    });
  }

  private commitQueue: QueuedCommit[] = [];

  private async commitQueued(): Promise<void> {
    const queue = this.commitQueue;
    this.commitQueue = [];
    if (queue.length === 1) {
      // Alone in its turn: no savepoint needed.
      const [item] = queue;
      await this.commitObject(item.record, item.precondition, item.check, item.origin).then(item.resolve, item.reject);
      return;
    }
    type Outcome = { ok: true; result: CommitResult; released: string[] } | { ok: false; error: unknown };
    let outcomes: Outcome[];
    try {
      outcomes = await this.meta.transaction(async (tx) => {
        const done: Outcome[] = [];
        for (const item of queue) {
          try {
            done.push({ ok: true, ...(await tx.savepoint(() => this.writeObjectRecord(tx, item.record, item.precondition, item.check, item.origin))) });
          } catch (error) {
            done.push({ ok: false, error });
          }
        }
        return done;
      });
    } catch (error) {
      for (const item of queue) item.reject(error);
      return;
    }
    queue.forEach((item, i) => {
      const outcome = outcomes[i];
      if (!outcome.ok) return item.reject(outcome.error);
      this.afterObjectCommit(item.record, outcome.released);
      item.resolve(outcome.result);
    });
  }

  /** The object's row and its accounting, inside a transaction. */
  private async writeObjectRecord(tx: MetaTx, record: ObjectRecord, precondition: ObjectPrecondition, check?: CommitCheck, origin?: ChangeOrigin): Promise<{ result: CommitResult; released: string[] }> {
    const status = await lockVersioning(tx, record.bucket);
    const prevRow = await tx.lockKey(record.bucket, record.key);
    const previous = prevRow ? toObject(prevRow) : undefined;
    checkPrecondition(precondition, prevRow);
    const freed = prevRow && replacesPrevious(status, prevRow) ? prevRow.size : 0;
    if (check) await check(previous, freed, usageProbe(tx, record.ownerOrg));
    await this.blobs.persistInline(tx, record.blob);
    const released = await installCurrent(tx, record, prevRow, status);
    await tx.addUsage(record.ownerOrg, record.size, 1);
    await this.changeHook?.(tx, { type: 'created', record }, origin);
    return { result: { previous, versionId: record.versionId ?? null }, released };
  }

  /** After the transaction that wrote `record` committed. */
  private afterObjectCommit(record: ObjectRecord, released: string[]): void {
    this.blobs.committedInline(record.blob);
    this.reap(released);
  }

  /** Change a version's metadata (tags, ACL): the current one, or the one `versionId` names. */
  updateObjectMeta(bucket: string, key: string, update: (meta: ObjectMeta) => ObjectMeta, versionId?: string, origin?: ChangeOrigin): Promise<ObjectRecord> {
    const selector = versionId === undefined ? undefined : parseVersionId(versionId);
    return this.meta.transaction(async (tx) => {
      const row = await tx.lockKey(bucket, key);
      if (row && (!selector || selects(row, selector))) {
        const record = toObject(row);
        record.meta = update(record.meta);
        await tx.setObjectMeta(bucket, key, JSON.stringify(record.meta));
        await this.changeHook?.(tx, { type: 'meta', record }, origin);
        return record;
      }
      const version = selector ? await findVersion(tx, bucket, key, selector) : undefined;
      if (!version) throw selector ? new S3Error('NoSuchVersion', undefined, { Key: key, VersionId: versionId! }) : new S3Error('NoSuchKey', undefined, { Key: key });
      if (version.delete_marker) throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', { Method: 'PUT', ResourceType: 'DeleteMarker' });
      const record = toObject(version);
      record.meta = update(record.meta);
      await tx.setVersionMeta(bucket, key, version.seq, JSON.stringify(record.meta));
      await this.changeHook?.(tx, { type: 'meta', record }, origin);
      return record;
    });
  }

  /**
   * DeleteObject. Without `versionId`: in a never-versioned bucket the object goes (deleting a
   * missing key is not an error); otherwise a delete marker becomes the key's newest version
   * (the null version while suspended). With `versionId`: that version or marker is removed for
   * good, and the newest remaining version becomes current. `ownerOrg` owns a new marker.
   */
  async deleteObject(bucket: string, key: string, opts: { versionId?: string; ownerOrg?: string; precondition?: ObjectPrecondition; origin?: ChangeOrigin } = {}): Promise<DeleteOutcome> {
    const selector = opts.versionId === undefined ? undefined : parseVersionId(opts.versionId);
    const { outcome, released } = await this.meta.transaction(async (tx) => {
      const status = await lockVersioning(tx, bucket);
      const row = await tx.lockKey(bucket, key);
      if (opts.precondition) checkPrecondition(opts.precondition, row);
      const r: Released = { blobs: [], usage: [] };
      let outcome: DeleteOutcome;
      if (selector) {
        outcome = { deleteMarker: false, versionId: opts.versionId, removed: undefined };
        if (row && selects(row, selector)) {
          await tx.deleteObject(bucket, key);
          release(row, r);
          outcome.removed = toObject(row);
          await promoteNewest(tx, bucket, key);
        } else {
          const version = await findVersion(tx, bucket, key, selector);
          if (version) {
            await removeVersion(tx, version, r);
            outcome = { deleteMarker: version.delete_marker === 1, versionId: opts.versionId, removed: toObject(version) };
            // Removing the marker that hid the key brings back the version below it.
            if (!row) await promoteNewest(tx, bucket, key);
          }
        }
      } else if (status === undefined) {
        outcome = { deleteMarker: false, versionId: undefined, removed: row ? toObject(row) : undefined };
        if (row) {
          await tx.deleteObject(bucket, key);
          release(row, r);
        }
      } else {
        const seq = await tx.nextSeq(bucket, key, row, true);
        const markerId = status === 'Enabled' ? newVersionId(seq) : null;
        if (row) {
          await tx.deleteObject(bucket, key);
          if (replacesPrevious(status, row)) release(row, r);
          else await keepNoncurrent(tx, row);
        }
        if (status === 'Suspended') await removeNullVersion(tx, bucket, key, r);
        await addMarker(tx, bucket, key, seq, markerId, opts.ownerOrg ?? row?.owner_org ?? '');
        outcome = { deleteMarker: true, versionId: markerId ?? 'null', removed: row ? toObject(row) : undefined };
      }
      // Deleting what is not there changes nothing and tells no one (AWS sends no event for it).
      if (outcome.removed || outcome.deleteMarker) {
        await this.changeHook?.(tx, { type: 'removed', bucket, key, versionId: outcome.versionId, markerCreated: !selector && outcome.deleteMarker, removed: outcome.removed }, opts.origin);
      }
      return { outcome, released: await settle(tx, r) };
    });
    this.reap(released);
    return outcome;
  }

  /** One page of ListObjectVersions (see list-versions.ts). */
  listVersions(bucket: string, q: VersionListQuery): Promise<VersionListResult> {
    return listVersionPage(this.meta.read, bucket, q);
  }

  /** One page of ListObjects (see list-objects.ts). */
  listObjects(bucket: string, q: ListQuery): Promise<ListResult> {
    return listObjectPage(this.meta.read, bucket, q);
  }

  // ---- usage ------------------------------------------------------------------------

  async usageOf(org: string): Promise<{ bytes: number; objects: number }> {
    return (await this.meta.read.usage(org)) ?? { bytes: 0, objects: 0 };
  }

  /** Every organisation with usage or a quota in this region. */
  allUsage(): Promise<{ org: string; bytes: number; objects: number; quota: number | null }[]> {
    return this.meta.read.allUsage();
  }

  /** Counts one request another organisation paid for on a requester-pays bucket (src/access/request-payment.ts). */
  chargeRequester(payerOrg: string, bucket: string, bytesIn: number, bytesOut: number): Promise<void> {
    return this.meta.transaction(async (tx) => {
      // Charged to the bucket as it is owned now; a bucket deleted meanwhile has no one to bill for.
      const row = await tx.bucket(bucket);
      if (row) await tx.addRequesterCharge(payerOrg, row.owner_org, bucket, bytesIn, bytesOut);
    });
  }

  requesterCharges(): Promise<RequesterCharge[]> {
    return this.meta.read.requesterCharges();
  }

  /** The organisation's quota override in this region, or undefined for the default. */
  quotaOf(org: string): Promise<number | undefined> {
    return this.meta.read.quota(org);
  }

  setQuota(org: string, bytes: number | null): Promise<void> {
    return this.meta.transaction((tx) => tx.setQuota(org, bytes));
  }

  /**
   * Recount usage from the metadata (objects plus unfinished parts) and compare with the
   * counters. Returns the organisations whose counters differ; `repair` rewrites them.
   */
  async checkUsage(repair = false): Promise<{ org: string; counted: { bytes: number; objects: number }; recorded: { bytes: number; objects: number } }[]> {
    const counted = await this.meta.countUsage();
    const recorded = new Map((await this.meta.read.allUsage()).map((r) => [r.org, { bytes: r.bytes, objects: r.objects }]));
    const differences: { org: string; counted: { bytes: number; objects: number }; recorded: { bytes: number; objects: number } }[] = [];
    for (const org of new Set([...counted.keys(), ...recorded.keys()])) {
      const c = counted.get(org) ?? { bytes: 0, objects: 0 };
      const r = recorded.get(org) ?? { bytes: 0, objects: 0 };
      if (c.bytes !== r.bytes || c.objects !== r.objects) differences.push({ org, counted: c, recorded: r });
    }
    if (repair && differences.length > 0) {
      await this.meta.transaction(async (tx) => {
        for (const d of differences) await tx.setUsage(d.org, d.counted.bytes, d.counted.objects);
      });
    }
    return differences;
  }

  // ---- multipart (region-uploads.ts) --------------------------------------------------

  createUpload: RegionUploads['create'] = (u) => this.uploads.create(u);
  getUpload: RegionUploads['get'] = (id) => this.uploads.get(id);
  getPart: RegionUploads['part'] = (id, n) => this.uploads.part(id, n);
  listParts: RegionUploads['listParts'] = (id, after, limit) => this.uploads.listParts(id, after, limit);
  allParts: RegionUploads['allParts'] = (id) => this.uploads.allParts(id);
  commitPart: RegionUploads['commitPart'] = (part, org, check) => this.uploads.commitPart(part, org, check);
  abortUpload: RegionUploads['abort'] = (id) => this.uploads.abort(id);
  completeUpload: RegionUploads['complete'] = (id, build, precondition, origin) => this.uploads.complete(id, build, precondition, origin);
  listUploads: RegionUploads['list'] = (bucket, prefix, keyMarker, uploadIdMarker, limit) => this.uploads.list(bucket, prefix, keyMarker, uploadIdMarker, limit);
}
