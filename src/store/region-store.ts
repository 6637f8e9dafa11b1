// One region's store: its metadata database and its blob files, behind a narrow interface.
// Nothing here knows about HTTP. Every mutation is one SQLite transaction; blobs released by a
// mutation are recorded in dead_blobs inside that transaction and unlinked after it commits.
import { mkdirSync } from 'node:fs';
import { OWNER_DIR_MODE, prepareDatabaseFile } from './file-modes.ts';
import { join } from 'node:path';
import { BlobStore } from './blobs.ts';
import { openDatabase, DataVersionCache, FileSyncer, type Db } from './db.ts';
import type { Acl, BucketConfig, BucketRecord, ObjectMeta, ObjectRecord, PartRecord, UploadRecord, VersionEntry, VersioningStatus } from './types.ts';
import { blobsOf, rowParams, toBucket, toObject, toPart, toUpload, type BucketRow, type ListRow, type ObjectRow, type PartRow, type UploadRow } from './object-rows.ts';
import { VersionClock, VersionTable, newVersionId, parseVersionId, selects, toEntry, type Released } from './versions.ts';
import { compareUtf8, maxUtf8, prefixSuccessor } from './key-order.ts';
import { listVersionPage, type VersionListQuery, type VersionListResult } from './list-versions.ts';
import type { StrataConfig } from '../config.ts';
import { S3Error } from '../errors.ts';

export { compareUtf8, prefixSuccessor };

export interface ListEntry {
  key: string;
  size: number;
  etag: string;
  lastModified: number;
  ownerOrg: string;
  storageClass?: string;
}

export interface ListResult {
  contents: ListEntry[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** last key or common prefix returned: the marker for the next page */
  nextMarker?: string;
}

export interface ListQuery {
  prefix: string;
  delimiter: string;
  /** exclusive lower bound */
  after: string;
  maxKeys: number;
}

export interface CommitResult {
  previous: ObjectRecord | undefined;
  /** the new version's id (null: the null version) */
  versionId: string | null;
}

/** Runs inside a commit's transaction with the previous current object and the bytes the commit frees. */
export type CommitCheck = (previous: ObjectRecord | undefined, freedBytes: number) => void;

export interface DeleteOutcome {
  /** a delete marker was created, or the version removed was one */
  deleteMarker: boolean;
  /** the marker's or the removed version's id ("null" for the null version); undefined if unversioned */
  versionId: string | undefined;
  /** the version that went away (or stopped being current) */
  removed: ObjectRecord | undefined;
}

/** Does writing over `prev` replace it for good (rather than keep it as a noncurrent version)? */
function replacesPrevious(status: VersioningStatus | undefined, prev: ObjectRow): boolean {
  return status === undefined || (status === 'Suspended' && prev.version_id === null);
}

function noSuchVersion(key: string, versionId: string): S3Error {
  return new S3Error('NoSuchVersion', undefined, { Key: key, VersionId: versionId });
}

/** If-None-Match / If-Match against the current version. */
function checkPrecondition(precondition: ObjectPrecondition, current: ObjectRow | undefined): void {
  if (precondition.mustNotExist && current) throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-None-Match' });
  if (precondition.ifMatch !== undefined) {
    if (!current) throw new S3Error('NoSuchKey');
    if (!etagMatches(precondition.ifMatch, current.etag)) throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Match' });
  }
}

interface QueuedCommit {
  record: ObjectRecord;
  precondition: ObjectPrecondition;
  check: CommitCheck | undefined;
  resolve: (result: CommitResult) => void;
  reject: (error: unknown) => void;
}

export interface ObjectPrecondition {
  /** If-None-Match: * — the key must not exist */
  mustNotExist?: boolean;
  /** If-Match: the current ETag must equal this (quoted) */
  ifMatch?: string;
}

export interface StoreOptions {
  /** fsync blobs and the WAL before a write is acknowledged */
  fsync: boolean;
  /** bodies declared at most this long are stored in the database instead of a file (0: never) */
  inlineMaxBytes: number;
}

/** The store of region `name` under the configured data root (dataDir/regions/<name>). */
export function openRegionStore(config: Pick<StrataConfig, 'dataDir' | 'fsync' | 'inlineMaxBytes'>, name: string): RegionStore {
  return new RegionStore(name, join(config.dataDir, 'regions', name), { fsync: config.fsync, inlineMaxBytes: config.inlineMaxBytes });
}

export class RegionStore {
  readonly db: Db;
  readonly blobs: BlobStore;
  private readonly wal: FileSyncer;
  private readonly stmts;
  private readonly versions: VersionTable;
  private readonly clock: VersionClock;
  /** Every request loads its bucket; records are cached. Callers must not modify a record. */
  private readonly bucketCache: DataVersionCache<BucketRecord | undefined>;

  constructor(readonly name: string, root: string, options: StoreOptions) {
    const { fsync } = options;
    mkdirSync(root, { recursive: true, mode: OWNER_DIR_MODE });
    prepareDatabaseFile(join(root, 'meta.db'));
    this.db = openDatabase(join(root, 'meta.db'));
    this.bucketCache = new DataVersionCache(this.db);
    this.blobs = new BlobStore(root, fsync, this.db, options.inlineMaxBytes);
    this.wal = new FileSyncer(join(root, 'meta.db-wal'), fsync);
    const db = this.db;
    this.versions = new VersionTable(db);
    const highestCurrent = db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM objects').get()?.seq ?? 0;
    this.clock = new VersionClock(Math.max(highestCurrent, this.versions.highestSeq()));
    this.stmts = {
      bucket: db.prepare<[string], BucketRow>('SELECT * FROM buckets WHERE name = ?'),
      bucketsOf: db.prepare<[string], BucketRow>('SELECT * FROM buckets WHERE owner_org = ? ORDER BY name'),
      allBuckets: db.prepare<[], BucketRow>('SELECT * FROM buckets ORDER BY name'),
      insertBucket: db.prepare('INSERT INTO buckets (name, owner_org, created_at, acl) VALUES (?, ?, ?, ?)'),
      deleteBucket: db.prepare('DELETE FROM buckets WHERE name = ?'),
      bucketHasObject: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM objects WHERE bucket = ? LIMIT 1'),
      bucketHasUpload: db.prepare<[string], { upload_id: string }>('SELECT upload_id FROM uploads WHERE bucket = ?'),
      setBucketField: {
        acl: db.prepare('UPDATE buckets SET acl = ? WHERE name = ?'),
        policy: db.prepare('UPDATE buckets SET policy = ? WHERE name = ?'),
        tags: db.prepare('UPDATE buckets SET tags = ? WHERE name = ?'),
        config: db.prepare('UPDATE buckets SET config = ? WHERE name = ?'),
      },
      object: db.prepare<[string, string], ObjectRow>('SELECT * FROM objects WHERE bucket = ? AND key = ?'),
      upsertObject: db.prepare(
        `INSERT OR REPLACE INTO objects (bucket, key, size, etag, last_modified, owner_org, meta, blob, manifest, sse, version_id, seq)
         VALUES (@bucket, @key, @size, @etag, @last_modified, @owner_org, @meta, @blob, @manifest, @sse, @version_id, @seq)`,
      ),
      updateObjectMeta: db.prepare('UPDATE objects SET meta = ? WHERE bucket = ? AND key = ?'),
      deleteObject: db.prepare('DELETE FROM objects WHERE bucket = ? AND key = ?'),
      listPage: db.prepare<[string, string, string, string, number], ListRow>(
        // Only what a listing shows: the storage class is read in SQL, not by parsing every row's metadata.
        `SELECT key, size, etag, last_modified, owner_org, json_extract(meta, '$.storageClass') AS storage_class
         FROM objects WHERE bucket = ? AND key > ? AND key >= ? AND key < ? ORDER BY key LIMIT ?`,
      ),
      upload: db.prepare<[string], UploadRow>('SELECT * FROM uploads WHERE upload_id = ?'),
      insertUpload: db.prepare(
        'INSERT INTO uploads (upload_id, bucket, key, initiated, owner_org, initiator, meta, sse) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      deleteUpload: db.prepare('DELETE FROM uploads WHERE upload_id = ?'),
      uploadsPage: db.prepare<[string, string, string, string, string, string, number], UploadRow>(
        `SELECT * FROM uploads WHERE bucket = ? AND (key > ? OR (key = ? AND upload_id > ?)) AND key >= ? AND key < ?
         ORDER BY key, upload_id LIMIT ?`,
      ),
      part: db.prepare<[string, number], PartRow>('SELECT * FROM parts WHERE upload_id = ? AND part_number = ?'),
      parts: db.prepare<[string, number, number], PartRow>('SELECT * FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?'),
      allParts: db.prepare<[string], PartRow>('SELECT * FROM parts WHERE upload_id = ? ORDER BY part_number'),
      upsertPart: db.prepare(
        `INSERT OR REPLACE INTO parts (upload_id, part_number, size, stored_size, etag, last_modified, blob, checksum, sse)
         VALUES (@upload_id, @part_number, @size, @stored_size, @etag, @last_modified, @blob, @checksum, @sse)`,
      ),
      deletePartsOf: db.prepare('DELETE FROM parts WHERE upload_id = ?'),
      addDead: db.prepare('INSERT OR IGNORE INTO dead_blobs (blob) VALUES (?)'),
      removeDead: db.prepare('DELETE FROM dead_blobs WHERE blob = ?'),
      usageAdd: db.prepare(
        `INSERT INTO usage (org, bytes, objects) VALUES (?, ?, ?)
         ON CONFLICT(org) DO UPDATE SET bytes = bytes + excluded.bytes, objects = objects + excluded.objects`,
      ),
      usage: db.prepare<[string], { bytes: number; objects: number }>('SELECT bytes, objects FROM usage WHERE org = ?'),
      quota: db.prepare<[string], { bytes: number }>('SELECT bytes FROM quotas WHERE org = ?'),
    };
  }

  // ---- durability -------------------------------------------------------------------

  /** Wait until everything committed so far is on stable storage. */
  durable(): Promise<void> {
    return this.wal.sync();
  }

  /** Unlink blobs that a committed transaction released. Failures are retried at start-up. */
  private reap(blobIds: string[]): void {
    if (blobIds.length === 0) return;
    void (async () => {
      for (const id of blobIds) {
        try {
          await this.blobs.remove(id);
          this.stmts.removeDead.run(id);
        } catch {
          // left in dead_blobs; collected at the next start
        }
      }
    })();
  }

  /**
   * Start-up recovery: remove temp files, blobs released by committed transactions, and blobs
   * that were renamed into place but never committed (the process died between the two).
   */
  recover(): { temporary: number; unreferenced: number } {
    const temporary = this.blobs.clearTemporary();
    // dead_blobs rows need no separate pass: their blobs are unreferenced, so the sweep below removes them.
    const referenced = new Set<string>();
    for (const row of this.db.prepare<[], { blob: string | null; manifest: string | null }>('SELECT blob, manifest FROM objects').iterate()) {
      for (const id of blobsOf(row)) referenced.add(id);
    }
    for (const row of this.db.prepare<[], { blob: string | null; manifest: string | null }>('SELECT blob, manifest FROM object_versions').iterate()) {
      for (const id of blobsOf(row)) referenced.add(id);
    }
    for (const row of this.db.prepare<[], { blob: string }>('SELECT blob FROM parts').iterate()) referenced.add(row.blob);
    const unreferenced = [...this.blobs.listAll()].filter((id) => !referenced.has(id));
    let removed = 0;
    for (const id of unreferenced) if (this.blobs.removeSync(id)) removed++;
    this.db.prepare('DELETE FROM dead_blobs').run();
    return { temporary, unreferenced: removed };
  }

  close(): Promise<void> {
    return Promise.all([this.wal.close(), this.blobs.close()]).finally(() => this.db.close()).then(() => undefined);
  }

  // ---- buckets ----------------------------------------------------------------------

  /** The bucket's record (cached: this process's bucket changes drop their entry). */
  getBucket(name: string): BucketRecord | undefined {
    return this.bucketCache.get(name, () => {
      const row = this.stmts.bucket.get(name);
      return row ? toBucket(row) : undefined;
    });
  }

  listBuckets(ownerOrg?: string): BucketRecord[] {
    const rows = ownerOrg === undefined ? this.stmts.allBuckets.all() : this.stmts.bucketsOf.all(ownerOrg);
    return rows.map(toBucket);
  }

  createBucket(name: string, ownerOrg: string, acl: Acl | null): 'created' | 'owned' | 'taken' {
    this.bucketCache.delete(name);
    return this.db.transaction(() => {
      const existing = this.stmts.bucket.get(name);
      if (existing) return existing.owner_org === ownerOrg ? 'owned' : 'taken';
      this.stmts.insertBucket.run(name, ownerOrg, Date.now(), acl ? JSON.stringify(acl) : null);
      return 'created';
    })();
  }

  /** Deletes an empty bucket; unfinished multipart uploads are aborted with it. */
  deleteBucket(name: string): void {
    const released: string[] = [];
    this.db.transaction(() => {
      if (this.stmts.bucketHasObject.get(name) || this.versions.bucketHasVersions(name)) throw new S3Error('BucketNotEmpty');
      const bucket = this.stmts.bucket.get(name);
      for (const { upload_id } of this.stmts.bucketHasUpload.all(name)) {
        released.push(...this.dropUpload(upload_id, bucket?.owner_org ?? ''));
      }
      this.stmts.deleteBucket.run(name);
    })();
    this.bucketCache.delete(name);
    this.reap(released);
  }

  setBucketAcl(name: string, acl: Acl): void {
    this.stmts.setBucketField.acl.run(JSON.stringify(acl), name);
    this.bucketCache.delete(name);
  }

  setBucketPolicy(name: string, policy: string | null): void {
    this.stmts.setBucketField.policy.run(policy, name);
    this.bucketCache.delete(name);
  }

  setBucketTags(name: string, tags: [string, string][] | null): void {
    this.stmts.setBucketField.tags.run(tags ? JSON.stringify(tags) : null, name);
    this.bucketCache.delete(name);
  }

  /**
   * Read-modify-write of the buckets.config JSON (public access block, and whatever bucket
   * settings join it), in one transaction so that concurrent updates of different fields
   * cannot lose each other. Returns the stored config; a missing bucket is left alone.
   */
  setBucketConfig(name: string, update: (config: BucketConfig) => BucketConfig): BucketConfig | undefined {
    this.bucketCache.delete(name);
    return this.db.transaction(() => {
      const row = this.stmts.bucket.get(name);
      if (!row) return undefined;
      const next = update(toBucket(row).config ?? {});
      this.stmts.setBucketField.config.run(JSON.stringify(next), name);
      return next;
    })();
  }

  // ---- objects ----------------------------------------------------------------------

  /** The key's current version (never a delete marker). */
  getObject(bucket: string, key: string): ObjectRecord | undefined {
    const row = this.stmts.object.get(bucket, key);
    return row ? toObject(row) : undefined;
  }

  /**
   * The version `versionId` names ("null" or an id this server issued; InvalidArgument for any
   * other), or, without one, the current version, which may be a delete marker.
   */
  getVersion(bucket: string, key: string, versionId?: string): VersionEntry | undefined {
    const current = this.stmts.object.get(bucket, key);
    if (versionId === undefined) {
      if (current) return toEntry(current, true);
      const newest = this.versions.newest(bucket, key);
      return newest ? toEntry(newest, true) : undefined;
    }
    const selector = parseVersionId(versionId);
    if (current && selects(current, selector)) return toEntry(current, true);
    const row = this.versions.find(bucket, key, selector);
    return row ? toEntry(row, !current && this.versions.newest(bucket, key)?.seq === row.seq) : undefined;
  }

  /** The bucket's versioning state, read inside the transaction that writes (so a concurrent change is seen). */
  private versioningOf(bucket: string): VersioningStatus | undefined {
    const row = this.stmts.bucket.get(bucket);
    if (!row) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
    return !row.config || row.config === '{}' ? undefined : toBucket(row).config?.versioning;
  }

  /**
   * Make `record` the current object for its key, atomically: preconditions are checked and
   * usage updated in the same transaction. In a bucket that was never versioned the previous
   * object's blobs are released; with versioning enabled it becomes noncurrent; while suspended
   * the new object is the null version and replaces only that. `check` runs inside the
   * transaction with the bytes the commit frees (quota checks); it may throw to abort.
   */
  commitObject(record: ObjectRecord, precondition: ObjectPrecondition = {}, check?: CommitCheck): CommitResult {
    const { result, released } = this.writeObjectRecord(record, precondition, check);
    this.afterObjectCommit(record, released);
    return result;
  }

  /**
   * commitObject, sharing one SQLite transaction with the other commits queued in the same turn
   * of the event loop. Each commit still succeeds or fails on its own (a savepoint each, checked
   * in order, so each sees the ones before it), but the transaction's WAL write is paid once for
   * all of them: under many concurrent small PUTs that write was the largest single cost of a
   * PUT on the event loop. Settles once the transaction has committed (not yet fsynced:
   * callers still await durable()).
   */
  commitObjectSoon(record: ObjectRecord, precondition: ObjectPrecondition = {}, check?: CommitCheck): Promise<CommitResult> {
    return new Promise((resolve, reject) => {
      this.commitQueue.push({ record, precondition, check, resolve, reject });
      if (this.commitQueue.length === 1) setImmediate(() => this.commitQueued());
    });
  }

  private commitQueue: QueuedCommit[] = [];

  private commitQueued(): void {
    const queue = this.commitQueue;
    this.commitQueue = [];
    if (queue.length === 1) {
      // Alone in its turn: no savepoint needed.
      const [item] = queue;
      try {
        item.resolve(this.commitObject(item.record, item.precondition, item.check));
      } catch (error) {
        item.reject(error);
      }
      return;
    }
    const outcomes: ({ ok: true; result: CommitResult; released: string[] } | { ok: false; error: unknown })[] = [];
    try {
      this.db.transaction(() => {
        for (const item of queue) {
          try {
            // Inside a transaction, better-sqlite3 runs a nested one as a savepoint.
            outcomes.push({ ok: true, ...this.writeObjectRecord(item.record, item.precondition, item.check) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      })();
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

  /** The object's row and its accounting, in a transaction (a savepoint inside another). */
  private writeObjectRecord(record: ObjectRecord, precondition: ObjectPrecondition, check?: CommitCheck): { result: CommitResult; released: string[] } {
    return this.db.transaction(() => {
      const prevRow = this.stmts.object.get(record.bucket, record.key);
      const previous = prevRow ? toObject(prevRow) : undefined;
      checkPrecondition(precondition, prevRow);
      const status = this.versioningOf(record.bucket);
      const freed = prevRow && replacesPrevious(status, prevRow) ? prevRow.size : 0;
      check?.(previous, freed);
      this.blobs.persistInline(record.blob);
      const released = this.installCurrent(record, prevRow, status);
      this.stmts.usageAdd.run(record.ownerOrg, record.size, 1);
      return { result: { previous, versionId: record.versionId ?? null }, released };
    })();
  }

  /**
   * Inside a transaction: write `record` as its key's newest version, with the version id the
   * bucket's state gives it (set on `record`). What stops being current is released (never
   * versioned; the null version while suspended) or kept as noncurrent. Returns the blobs to
   * release; usage of what was released is already credited, the new record's is the caller's.
   */
  private installCurrent(record: ObjectRecord, prevRow: ObjectRow | undefined, status: VersioningStatus | undefined): string[] {
    const seq = this.clock.next();
    record.versionId = status === 'Enabled' ? newVersionId(seq) : null;
    const released: Released = { blobs: [], usage: [] };
    if (prevRow) {
      if (replacesPrevious(status, prevRow)) {
        // A metadata-only rewrite (copy onto itself) keeps the same blobs.
        const kept = new Set([record.blob, ...(record.manifest ?? []).map((p) => p.blob)]);
        released.blobs.push(...blobsOf(prevRow).filter((b) => !kept.has(b)));
        released.usage.push({ org: prevRow.owner_org, bytes: -prevRow.size, objects: -1 });
      } else {
        if (blobsOf(prevRow).some((b) => b === record.blob || record.manifest?.some((p) => p.blob === b))) {
          throw new Error('a new version may not share blobs with the version it makes noncurrent');
        }
        this.versions.keepNoncurrent(prevRow);
      }
    }
    if (status === 'Suspended') this.versions.removeNull(record.bucket, record.key, released);
    this.stmts.upsertObject.run(rowParams(record, seq));
    return this.settle(released);
  }

  /** Record released blobs as dead and credit released usage (inside the transaction). */
  private settle(released: Released): string[] {
    for (const b of released.blobs) this.stmts.addDead.run(b);
    for (const u of released.usage) this.stmts.usageAdd.run(u.org, u.bytes, u.objects);
    return released.blobs;
  }

  /** After the transaction that wrote `record` committed. */
  private afterObjectCommit(record: ObjectRecord, released: string[]): void {
    this.blobs.committedInline(record.blob);
    this.reap(released);
  }

  /** Change a version's metadata (tags, ACL): the current one, or the one `versionId` names. */
  updateObjectMeta(bucket: string, key: string, update: (meta: ObjectMeta) => ObjectMeta, versionId?: string): ObjectRecord {
    return this.db.transaction(() => {
      const selector = versionId === undefined ? undefined : parseVersionId(versionId);
      const row = this.stmts.object.get(bucket, key);
      if (row && (!selector || selects(row, selector))) {
        const record = toObject(row);
        record.meta = update(record.meta);
        this.stmts.updateObjectMeta.run(JSON.stringify(record.meta), bucket, key);
        return record;
      }
      const version = selector ? this.versions.find(bucket, key, selector) : undefined;
      if (!version) throw selector ? noSuchVersion(key, versionId!) : new S3Error('NoSuchKey', undefined, { Key: key });
      if (version.delete_marker) throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', { Method: 'PUT', ResourceType: 'DeleteMarker' });
      const record = toObject(version);
      record.meta = update(record.meta);
      this.versions.updateMeta(version, JSON.stringify(record.meta));
      return record;
    })();
  }

  /**
   * DeleteObject. Without `versionId`: in a never-versioned bucket the object goes (deleting a
   * missing key is not an error); otherwise a delete marker becomes the key's newest version
   * (the null version while suspended). With `versionId`: that version or marker is removed for
   * good, and the newest remaining version becomes current. `ownerOrg` owns a new marker.
   */
  deleteObject(bucket: string, key: string, opts: { versionId?: string; ownerOrg?: string; precondition?: ObjectPrecondition } = {}): DeleteOutcome {
    let released: string[] = [];
    const outcome = this.db.transaction((): DeleteOutcome => {
      const status = this.versioningOf(bucket);
      const row = this.stmts.object.get(bucket, key);
      if (opts.precondition) checkPrecondition(opts.precondition, row);
      const r: Released = { blobs: [], usage: [] };
      if (opts.versionId !== undefined) {
        const selector = parseVersionId(opts.versionId);
        let removed: DeleteOutcome = { deleteMarker: false, versionId: opts.versionId, removed: undefined };
        if (row && selects(row, selector)) {
          this.stmts.deleteObject.run(bucket, key);
          r.blobs.push(...blobsOf(row));
          r.usage.push({ org: row.owner_org, bytes: -row.size, objects: -1 });
          removed = { deleteMarker: false, versionId: opts.versionId, removed: toObject(row) };
        } else {
          const version = this.versions.find(bucket, key, selector);
          if (version) {
            this.versions.remove(version, r);
            removed = { deleteMarker: version.delete_marker === 1, versionId: opts.versionId, removed: toObject(version) };
          }
        }
        if (removed.removed && !this.stmts.object.get(bucket, key)) {
          const promoted = this.versions.takeNewestIfVersion(bucket, key);
          if (promoted) this.stmts.upsertObject.run(rowParams(toObject(promoted), promoted.seq));
        }
        released = this.settle(r);
        return removed;
      }
      if (status === undefined) {
        if (!row) return { deleteMarker: false, versionId: undefined, removed: undefined };
        this.stmts.deleteObject.run(bucket, key);
        r.blobs.push(...blobsOf(row));
        r.usage.push({ org: row.owner_org, bytes: -row.size, objects: -1 });
        released = this.settle(r);
        return { deleteMarker: false, versionId: undefined, removed: toObject(row) };
      }
      const seq = this.clock.next();
      const markerId = status === 'Enabled' ? newVersionId(seq) : null;
      if (row) {
        this.stmts.deleteObject.run(bucket, key);
        if (replacesPrevious(status, row)) {
          r.blobs.push(...blobsOf(row));
          r.usage.push({ org: row.owner_org, bytes: -row.size, objects: -1 });
        } else this.versions.keepNoncurrent(row);
      }
      if (status === 'Suspended') this.versions.removeNull(bucket, key, r);
      this.versions.addMarker(bucket, key, seq, markerId, opts.ownerOrg ?? row?.owner_org ?? '', Date.now());
      released = this.settle(r);
      return { deleteMarker: true, versionId: markerId ?? 'null', removed: row ? toObject(row) : undefined };
    })();
    this.reap(released);
    return outcome;
  }

  /** Set the bucket's versioning state (Enabled or Suspended; it never returns to unversioned). */
  setVersioning(bucket: string, status: VersioningStatus): void {
    this.setBucketConfig(bucket, (config) => ({ ...config, versioning: status }));
  }

  /** One page of ListObjectVersions (see list-versions.ts). */
  listVersions(bucket: string, q: VersionListQuery): VersionListResult {
    return listVersionPage(this.db, bucket, q);
  }

  /**
   * One page of keys in UTF-8 byte order, grouping keys that contain `delimiter` after
   * `prefix` into common prefixes. Each common prefix costs one index seek past all of its
   * keys, so a page never scans more rows than it returns (plus one per prefix).
   */
  listObjects(bucket: string, q: ListQuery): ListResult {
    const result: ListResult = { contents: [], commonPrefixes: [], isTruncated: false };
    if (q.maxKeys <= 0) {
      // max-keys=0: an empty page, not truncated (AWS), so that paginating clients stop.
      return result;
    }
    const upper = prefixSuccessor(q.prefix) ?? '\u{10ffff}\u{10ffff}';
    let after = q.after;
    let lowerBound = q.prefix;
    let count = 0;
    outer: while (true) {
      const batch = this.stmts.listPage.all(bucket, after, lowerBound, upper, Math.min(q.maxKeys - count + 1, 1001));
      if (batch.length === 0) break;
      for (const row of batch) {
        if (q.delimiter) {
          const at = row.key.indexOf(q.delimiter, q.prefix.length);
          if (at >= 0) {
            const commonPrefix = row.key.slice(0, at + q.delimiter.length);
            const skipTo = prefixSuccessor(commonPrefix);
            if (compareUtf8(commonPrefix, q.after) <= 0) {
              // The marker lies inside this prefix: it was returned on an earlier page.
              if (skipTo === undefined) break outer;
              after = q.after;
              lowerBound = maxUtf8(skipTo, q.prefix);
              continue outer;
            }
            if (count === q.maxKeys) {
              result.isTruncated = true;
              break outer;
            }
            result.commonPrefixes.push(commonPrefix);
            result.nextMarker = commonPrefix;
            count++;
            if (skipTo === undefined) break outer;
            // Re-seek past every key under this common prefix.
            after = maxUtf8(q.after, commonPrefix);
            lowerBound = maxUtf8(skipTo, q.prefix);
            continue outer;
          }
        }
        if (count === q.maxKeys) {
          result.isTruncated = true;
          break outer;
        }
        result.contents.push({ key: row.key, size: row.size, etag: row.etag, lastModified: row.last_modified, ownerOrg: row.owner_org, storageClass: row.storage_class ?? undefined });
        result.nextMarker = row.key;
        count++;
        after = row.key;
      }
      if (batch.length < Math.min(q.maxKeys - count + 1, 1001) && count < q.maxKeys) break;
    }
    return result;
  }

  // ---- multipart --------------------------------------------------------------------

  createUpload(u: UploadRecord): void {
    if (!this.stmts.bucket.get(u.bucket)) throw new S3Error('NoSuchBucket', undefined, { BucketName: u.bucket });
    this.stmts.insertUpload.run(u.uploadId, u.bucket, u.key, u.initiated, u.ownerOrg, u.initiator, JSON.stringify(u.meta), u.sse);
  }

  getUpload(uploadId: string): UploadRecord | undefined {
    const row = this.stmts.upload.get(uploadId);
    return row ? toUpload(row) : undefined;
  }

  getPart(uploadId: string, partNumber: number): PartRecord | undefined {
    const row = this.stmts.part.get(uploadId, partNumber);
    return row ? toPart(row) : undefined;
  }

  listParts(uploadId: string, afterPart: number, limit: number): PartRecord[] {
    return this.stmts.parts.all(uploadId, afterPart, limit).map(toPart);
  }

  allParts(uploadId: string): PartRecord[] {
    return this.stmts.allParts.all(uploadId).map(toPart);
  }

  /** Record a part (replacing an earlier upload of the same number). Usage counts parts too. */
  commitPart(part: PartRecord, ownerOrg: string, check?: (previous: PartRecord | undefined) => void): void {
    let released: string[] = [];
    this.db.transaction(() => {
      if (!this.stmts.upload.get(part.uploadId)) throw new S3Error('NoSuchUpload', undefined, { UploadId: part.uploadId });
      const prev = this.stmts.part.get(part.uploadId, part.partNumber);
      check?.(prev ? toPart(prev) : undefined);
      this.blobs.persistInline(part.blob);
      this.stmts.upsertPart.run({
        upload_id: part.uploadId,
        part_number: part.partNumber,
        size: part.size,
        stored_size: part.storedSize,
        etag: part.etag,
        last_modified: part.lastModified,
        blob: part.blob,
        checksum: part.checksum,
        sse: part.sse,
      });
      if (prev) {
        released = [prev.blob];
        this.stmts.addDead.run(prev.blob);
        this.stmts.usageAdd.run(ownerOrg, -prev.size, 0);
      }
      this.stmts.usageAdd.run(ownerOrg, part.size, 0);
    })();
    this.blobs.committedInline(part.blob);
    this.reap(released);
  }

  /** Remove an upload's rows inside a transaction; returns the blobs to release. */
  private dropUpload(uploadId: string, ownerOrg: string): string[] {
    const parts = this.stmts.allParts.all(uploadId);
    const bytes = parts.reduce((n, p) => n + p.size, 0);
    for (const p of parts) this.stmts.addDead.run(p.blob);
    this.stmts.deletePartsOf.run(uploadId);
    this.stmts.deleteUpload.run(uploadId);
    if (bytes) this.stmts.usageAdd.run(ownerOrg, -bytes, 0);
    return parts.map((p) => p.blob);
  }

  abortUpload(uploadId: string): void {
    let released: string[] = [];
    this.db.transaction(() => {
      const upload = this.stmts.upload.get(uploadId);
      if (!upload) throw new S3Error('NoSuchUpload', undefined, { UploadId: uploadId });
      released = this.dropUpload(uploadId, upload.owner_org);
    })();
    this.reap(released);
  }

  /**
   * Complete an upload: the object's manifest references the chosen parts' blobs (no bytes are
   * copied); parts not chosen are released. `build` validates and assembles the record inside
   * the transaction, from the parts as they are at commit time.
   */
  completeUpload(uploadId: string, build: (upload: UploadRecord, parts: Map<number, PartRecord>) => ObjectRecord, precondition: ObjectPrecondition = {}): ObjectRecord {
    let released: string[] = [];
    const record = this.db.transaction(() => {
      const uploadRow = this.stmts.upload.get(uploadId);
      if (!uploadRow) throw new S3Error('NoSuchUpload', undefined, { UploadId: uploadId });
      const upload = toUpload(uploadRow);
      const parts = new Map(this.stmts.allParts.all(uploadId).map((r) => [r.part_number, toPart(r)]));
      const rec = build(upload, parts);
      const used = new Set(rec.manifest?.map((p) => p.blob));
      const partBytes = [...parts.values()].reduce((n, p) => n + p.size, 0);
      const prevRow = this.stmts.object.get(rec.bucket, rec.key);
      checkPrecondition(precondition, prevRow ?? undefined);
      const status = this.versioningOf(rec.bucket);
      const unused = [...parts.values()].map((p) => p.blob).filter((b) => !used.has(b));
      for (const b of unused) this.stmts.addDead.run(b);
      released = [...unused, ...this.installCurrent(rec, prevRow, status)];
      this.stmts.deletePartsOf.run(uploadId);
      this.stmts.deleteUpload.run(uploadId);
      // The parts' bytes were already counted; only the unused parts go (the object's size is counted anew).
      this.stmts.usageAdd.run(upload.ownerOrg, rec.size - partBytes, 1);
      return rec;
    })();
    this.reap(released);
    return record;
  }

  /** Unfinished uploads in (key, upload id) order, after the given markers. */
  listUploads(bucket: string, prefix: string, keyMarker: string, uploadIdMarker: string, limit: number): UploadRecord[] {
    const upper = prefixSuccessor(prefix) ?? '\u{10ffff}\u{10ffff}';
    return this.stmts.uploadsPage.all(bucket, keyMarker, keyMarker, uploadIdMarker, prefix, upper, limit).map(toUpload);
  }

  // ---- usage ------------------------------------------------------------------------

  usageOf(org: string): { bytes: number; objects: number } {
    return this.stmts.usage.get(org) ?? { bytes: 0, objects: 0 };
  }

  /** Every organisation with usage or a quota in this region. */
  allUsage(): { org: string; bytes: number; objects: number; quota: number | null }[] {
    return this.db
      .prepare<[], { org: string; bytes: number; objects: number; quota: number | null }>(
        `SELECT o.org AS org, COALESCE(u.bytes, 0) AS bytes, COALESCE(u.objects, 0) AS objects, q.bytes AS quota
         FROM (SELECT org FROM usage UNION SELECT org FROM quotas) o
         LEFT JOIN usage u ON u.org = o.org LEFT JOIN quotas q ON q.org = o.org ORDER BY o.org`,
      )
      .all();
  }

  /** The organisation's quota override in this region, or undefined for the default. */
  quotaOf(org: string): number | undefined {
    return this.stmts.quota.get(org)?.bytes;
  }

  setQuota(org: string, bytes: number | null): void {
    if (bytes === null) this.db.prepare('DELETE FROM quotas WHERE org = ?').run(org);
    else this.db.prepare('INSERT INTO quotas (org, bytes) VALUES (?, ?) ON CONFLICT(org) DO UPDATE SET bytes = excluded.bytes').run(org, bytes);
  }

  /**
   * Recount usage from the metadata (objects plus unfinished parts) and compare with the
   * counters. Returns the organisations whose counters differ; `repair` rewrites them.
   */
  checkUsage(repair = false): { org: string; counted: { bytes: number; objects: number }; recorded: { bytes: number; objects: number } }[] {
    return this.db.transaction(() => {
      const counted = new Map<string, { bytes: number; objects: number }>();
      const add = (org: string, bytes: number, objects: number) => {
        const c = counted.get(org) ?? { bytes: 0, objects: 0 };
        c.bytes += bytes;
        c.objects += objects;
        counted.set(org, c);
      };
      for (const r of this.db.prepare<[], { org: string; bytes: number; n: number }>('SELECT owner_org AS org, SUM(size) AS bytes, COUNT(*) AS n FROM objects GROUP BY owner_org').all()) add(r.org, r.bytes, r.n);
      // Noncurrent versions count like current ones; delete markers cost nothing.
      for (const r of this.db
        .prepare<[], { org: string; bytes: number; n: number }>('SELECT owner_org AS org, SUM(size) AS bytes, COUNT(*) AS n FROM object_versions WHERE delete_marker = 0 GROUP BY owner_org')
        .all()) add(r.org, r.bytes, r.n);
      for (const r of this.db
        .prepare<[], { org: string; bytes: number }>('SELECT u.owner_org AS org, SUM(p.size) AS bytes FROM parts p JOIN uploads u ON u.upload_id = p.upload_id GROUP BY u.owner_org')
        .all()) add(r.org, r.bytes, 0);
      const recorded = new Map(this.db.prepare<[], { org: string; bytes: number; objects: number }>('SELECT org, bytes, objects FROM usage').all().map((r) => [r.org, { bytes: r.bytes, objects: r.objects }]));
      const differences = [];
      for (const org of new Set([...counted.keys(), ...recorded.keys()])) {
        const c = counted.get(org) ?? { bytes: 0, objects: 0 };
        const r = recorded.get(org) ?? { bytes: 0, objects: 0 };
        if (c.bytes !== r.bytes || c.objects !== r.objects) {
          differences.push({ org, counted: c, recorded: r });
          if (repair) this.db.prepare('INSERT INTO usage (org, bytes, objects) VALUES (?, ?, ?) ON CONFLICT(org) DO UPDATE SET bytes = excluded.bytes, objects = excluded.objects').run(org, c.bytes, c.objects);
        }
      }
      return differences;
    })();
  }
}

export function etagMatches(condition: string, etag: string): boolean {
  const strip = (s: string) => s.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  const target = strip(etag);
  return condition.split(',').some((c) => c.trim() === '*' || strip(c) === target);
}
