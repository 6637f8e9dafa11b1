// The embedded metadata engine: one SQLite file per region (dataDir/regions/<name>/meta.db).
//
// Two connections. Transactions run on the writer, one at a time (a queue: SQLite has one write
// lock, and the transaction bodies await between statements). Reads outside a transaction go to
// the reader, which in WAL mode sees only committed data, so a request can never observe another
// request's transaction half-way, or one that is about to roll back. Every statement is
// synchronous underneath (better-sqlite3); the promises only give both engines one interface.
import Database from 'better-sqlite3';
import { openDatabase, FileSyncer, type Db } from '../db.ts';
import { maxUtf8 } from '../key-order.ts';
import type { BucketRow, ListRow, ObjectRow, PartRow, UploadRow, VersionRow } from '../object-rows.ts';
import { VersionClock } from '../versions.ts';
import type { BlobReference, BucketField, MetaReads, MetaTx, RegionMetadata, RequesterCharge } from './metadata.ts';
import type { OutboxEntry } from '../../outbox/outbox.ts';
import { createOutboxTables, SqliteOutbox, SqliteOutboxWriter } from '../../outbox/sqlite-tables.ts';

type Usage = { bytes: number; objects: number };

function readStatements(db: Db) {
  return {
    bucket: db.prepare<[string], BucketRow>('SELECT * FROM buckets WHERE name = ?'),
    bucketsOf: db.prepare<[string], BucketRow>('SELECT * FROM buckets WHERE owner_org = ? ORDER BY name'),
    allBuckets: db.prepare<[], BucketRow>('SELECT * FROM buckets ORDER BY name'),
    object: db.prepare<[string, string], ObjectRow>('SELECT * FROM objects WHERE bucket = ? AND key = ?'),
    newestVersion: db.prepare<[string, string], VersionRow>('SELECT * FROM object_versions WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1'),
    versionBySeq: db.prepare<[string, string, number], VersionRow>('SELECT * FROM object_versions WHERE bucket = ? AND key = ? AND seq = ?'),
    nullVersion: db.prepare<[string, string], VersionRow>('SELECT * FROM object_versions WHERE bucket = ? AND key = ? AND version_id IS NULL'),
    // The key ranges below have one lower bound, key >= from (from = the greater of `after` and
    // `lower`; key <> after excludes `after` itself). Given key > ? AND key >= ?, SQLite seeks by
    // one and tests every row against the other: a prefix listing walked all the keys before the
    // prefix, and each common-prefix re-seek walked all the keys under it.
    listPage: db.prepare<[string, string, string, string, number], ListRow>(
      // Only what a listing shows: the storage class is read in SQL, not by parsing every row's metadata.
      `SELECT key, size, etag, last_modified, owner_org, json_extract(meta, '$.storageClass') AS storage_class
       FROM objects WHERE bucket = ? AND key >= ? AND key <> ? AND key < ? ORDER BY key LIMIT ?`,
    ),
    currentWithin: db.prepare<[string, string, number, number], ObjectRow>('SELECT * FROM objects WHERE bucket = ? AND key = ? AND seq < ? LIMIT ?'),
    currentFrom: db.prepare<[string, string, string, string, number], ObjectRow>('SELECT * FROM objects WHERE bucket = ? AND key >= ? AND key <> ? AND key < ? ORDER BY key LIMIT ?'),
    historyWithin: db.prepare<[string, string, number, number], VersionRow>('SELECT * FROM object_versions WHERE bucket = ? AND key = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
    historyFrom: db.prepare<[string, string, string, string, number], VersionRow>(
      'SELECT * FROM object_versions WHERE bucket = ? AND key >= ? AND key <> ? AND key < ? ORDER BY key, seq DESC LIMIT ?',
    ),
    upload: db.prepare<[string], UploadRow>('SELECT * FROM uploads WHERE upload_id = ?'),
    part: db.prepare<[string, number], PartRow>('SELECT * FROM parts WHERE upload_id = ? AND part_number = ?'),
    parts: db.prepare<[string, number, number], PartRow>('SELECT * FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?'),
    allParts: db.prepare<[string], PartRow>('SELECT * FROM parts WHERE upload_id = ? ORDER BY part_number'),
    uploadsPage: db.prepare<[string, string, string, string, string, string, number], UploadRow>(
      `SELECT * FROM uploads WHERE bucket = ? AND (key > ? OR (key = ? AND upload_id > ?)) AND key >= ? AND key < ?
       ORDER BY key, upload_id LIMIT ?`,
    ),
    usage: db.prepare<[string], Usage>('SELECT bytes, objects FROM usage WHERE org = ?'),
    quota: db.prepare<[string], { bytes: number }>('SELECT bytes FROM quotas WHERE org = ?'),
    allUsage: db.prepare<[], { org: string; bytes: number; objects: number; quota: number | null }>(
      `SELECT o.org AS org, COALESCE(u.bytes, 0) AS bytes, COALESCE(u.objects, 0) AS objects, q.bytes AS quota
       FROM (SELECT org FROM usage UNION SELECT org FROM quotas) o
       LEFT JOIN usage u ON u.org = o.org LEFT JOIN quotas q ON q.org = o.org ORDER BY o.org`,
    ),
    inlineBlob: db.prepare<[string], { data: Buffer }>('SELECT data FROM inline_blobs WHERE id = ?'),
    requesterCharges: db.prepare<[], RequesterCharge>(
      `SELECT payer_org AS payerOrg, owner_org AS ownerOrg, bucket, requests, bytes_in AS bytesIn, bytes_out AS bytesOut
       FROM requester_charges ORDER BY payer_org, owner_org, bucket`,
    ),
  };
}

/** MetaReads over one connection's statements. */
class SqliteReads implements MetaReads {
  protected readonly r;
  constructor(db: Db) {
    this.r = readStatements(db);
  }
  async bucket(name: string) {
    return this.r.bucket.get(name);
  }
  async buckets(ownerOrg?: string) {
    return ownerOrg === undefined ? this.r.allBuckets.all() : this.r.bucketsOf.all(ownerOrg);
  }
  async object(bucket: string, key: string) {
    return this.r.object.get(bucket, key);
  }
  async newestVersion(bucket: string, key: string) {
    return this.r.newestVersion.get(bucket, key);
  }
  async versionBySeq(bucket: string, key: string, seq: number) {
    return this.r.versionBySeq.get(bucket, key, seq);
  }
  async nullVersion(bucket: string, key: string) {
    return this.r.nullVersion.get(bucket, key);
  }
  async listPage(bucket: string, after: string, lower: string, upper: string, limit: number) {
    return this.r.listPage.all(bucket, maxUtf8(after, lower), after, upper, limit);
  }
  async currentWithin(bucket: string, key: string, belowSeq: number, limit: number) {
    return this.r.currentWithin.all(bucket, key, belowSeq, limit);
  }
  async currentFrom(bucket: string, after: string, lower: string, upper: string, limit: number) {
    return this.r.currentFrom.all(bucket, maxUtf8(after, lower), after, upper, limit);
  }
  async historyWithin(bucket: string, key: string, belowSeq: number, limit: number) {
    return this.r.historyWithin.all(bucket, key, belowSeq, limit);
  }
  async historyFrom(bucket: string, after: string, lower: string, upper: string, limit: number) {
    return this.r.historyFrom.all(bucket, maxUtf8(after, lower), after, upper, limit);
  }
  async upload(uploadId: string) {
    return this.r.upload.get(uploadId);
  }
  async part(uploadId: string, partNumber: number) {
    return this.r.part.get(uploadId, partNumber);
  }
  async parts(uploadId: string, afterPart: number, limit: number) {
    return this.r.parts.all(uploadId, afterPart, limit);
  }
  async allParts(uploadId: string) {
    return this.r.allParts.all(uploadId);
  }
  async uploadsPage(bucket: string, keyMarker: string, uploadIdMarker: string, lower: string, upper: string, limit: number) {
    // The seek bound is the greater of the marker and the prefix (see listPage).
    return this.r.uploadsPage.all(bucket, keyMarker, keyMarker, uploadIdMarker, maxUtf8(keyMarker, lower), upper, limit);
  }
  async usage(org: string) {
    return this.r.usage.get(org);
  }
  async quota(org: string) {
    return this.r.quota.get(org)?.bytes;
  }
  async allUsage() {
    return this.r.allUsage.all();
  }
  async requesterCharges() {
    return this.r.requesterCharges.all();
  }
  async inlineBlob(id: string) {
    return this.r.inlineBlob.get(id)?.data;
  }
}

function writeStatements(db: Db) {
  return {
    insertBucket: db.prepare('INSERT INTO buckets (name, owner_org, created_at, acl) VALUES (?, ?, ?, ?)'),
    deleteBucket: db.prepare('DELETE FROM buckets WHERE name = ?'),
    bucketHasObject: db.prepare<[string, string], { one: number }>(
      'SELECT 1 AS one FROM objects WHERE bucket = ? UNION ALL SELECT 1 FROM object_versions WHERE bucket = ? LIMIT 1',
    ),
    bucketUploads: db.prepare<[string], { upload_id: string }>('SELECT upload_id FROM uploads WHERE bucket = ?'),
    setBucketField: {
      acl: db.prepare<[string | null, string]>('UPDATE buckets SET acl = ? WHERE name = ?'),
      policy: db.prepare<[string | null, string]>('UPDATE buckets SET policy = ? WHERE name = ?'),
      tags: db.prepare<[string | null, string]>('UPDATE buckets SET tags = ? WHERE name = ?'),
      config: db.prepare<[string | null, string]>('UPDATE buckets SET config = ? WHERE name = ?'),
    } satisfies Record<BucketField, Database.Statement<[string | null, string]>>,
    putObject: db.prepare(
      `INSERT OR REPLACE INTO objects (bucket, key, size, etag, last_modified, owner_org, meta, blob, manifest, sse, version_id, seq)
       VALUES (@bucket, @key, @size, @etag, @last_modified, @owner_org, @meta, @blob, @manifest, @sse, @version_id, @seq)`,
    ),
    deleteObject: db.prepare('DELETE FROM objects WHERE bucket = ? AND key = ?'),
    setObjectMeta: db.prepare('UPDATE objects SET meta = ? WHERE bucket = ? AND key = ?'),
    insertVersion: db.prepare(
      `INSERT INTO object_versions (bucket, key, seq, version_id, delete_marker, size, etag, last_modified, owner_org, meta, blob, manifest, sse)
       VALUES (@bucket, @key, @seq, @version_id, @delete_marker, @size, @etag, @last_modified, @owner_org, @meta, @blob, @manifest, @sse)`,
    ),
    deleteVersion: db.prepare('DELETE FROM object_versions WHERE bucket = ? AND key = ? AND seq = ?'),
    setVersionMeta: db.prepare('UPDATE object_versions SET meta = ? WHERE bucket = ? AND key = ? AND seq = ?'),
    insertUpload: db.prepare(
      `INSERT INTO uploads (upload_id, bucket, key, initiated, owner_org, initiator, meta, sse)
       VALUES (@upload_id, @bucket, @key, @initiated, @owner_org, @initiator, @meta, @sse)`,
    ),
    deleteUpload: db.prepare('DELETE FROM uploads WHERE upload_id = ?'),
    putPart: db.prepare(
      `INSERT OR REPLACE INTO parts (upload_id, part_number, size, stored_size, etag, last_modified, blob, checksum, sse)
       VALUES (@upload_id, @part_number, @size, @stored_size, @etag, @last_modified, @blob, @checksum, @sse)`,
    ),
    deleteParts: db.prepare('DELETE FROM parts WHERE upload_id = ?'),
    addDead: db.prepare('INSERT OR IGNORE INTO dead_blobs (blob) VALUES (?)'),
    addUsage: db.prepare(
      `INSERT INTO usage (org, bytes, objects) VALUES (?, ?, ?)
       ON CONFLICT(org) DO UPDATE SET bytes = bytes + excluded.bytes, objects = objects + excluded.objects`,
    ),
    setUsage: db.prepare('INSERT INTO usage (org, bytes, objects) VALUES (?, ?, ?) ON CONFLICT(org) DO UPDATE SET bytes = excluded.bytes, objects = excluded.objects'),
    deleteQuota: db.prepare('DELETE FROM quotas WHERE org = ?'),
    setQuota: db.prepare('INSERT INTO quotas (org, bytes) VALUES (?, ?) ON CONFLICT(org) DO UPDATE SET bytes = excluded.bytes'),
    insertInline: db.prepare('INSERT INTO inline_blobs (id, data) VALUES (?, ?)'),
    addRequesterCharge: db.prepare(
      `INSERT INTO requester_charges (payer_org, owner_org, bucket, requests, bytes_in, bytes_out) VALUES (?, ?, ?, 1, ?, ?)
       ON CONFLICT(payer_org, owner_org, bucket) DO UPDATE SET requests = requests + 1, bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out`,
    ),
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
  };
}

class SqliteTx extends SqliteReads implements MetaTx {
  private readonly w;
  private readonly outbox: SqliteOutboxWriter;
  private savepoints = 0;

  constructor(private readonly db: Db, private readonly clock: VersionClock) {
    super(db);
    this.w = writeStatements(db);
    this.outbox = new SqliteOutboxWriter(db);
  }

  get statements() {
    return this.w;
  }

  // One writer holds SQLite's lock for the whole transaction: locks are plain reads.
  async lockBucket(name: string) {
    return this.r.bucket.get(name);
  }
  async lockKey(bucket: string, key: string) {
    return this.r.object.get(bucket, key);
  }
  async lockUpload(uploadId: string) {
    return this.r.upload.get(uploadId);
  }
  async nextSeq() {
    return this.clock.next();
  }
  async insertBucket(name: string, ownerOrg: string, createdAt: number, acl: string | null) {
    this.w.insertBucket.run(name, ownerOrg, createdAt, acl);
  }
  async deleteBucket(name: string) {
    this.w.deleteBucket.run(name);
  }
  async setBucketField(name: string, field: BucketField, value: string | null) {
    this.w.setBucketField[field].run(value, name);
  }
  async bucketHasObjects(bucket: string) {
    return this.w.bucketHasObject.get(bucket, bucket) !== undefined;
  }
  async bucketUploads(bucket: string) {
    return this.w.bucketUploads.all(bucket).map((r) => r.upload_id);
  }
  async putObject(row: ObjectRow) {
    this.w.putObject.run(row);
  }
  async deleteObject(bucket: string, key: string) {
    this.w.deleteObject.run(bucket, key);
  }
  async setObjectMeta(bucket: string, key: string, meta: string) {
    this.w.setObjectMeta.run(meta, bucket, key);
  }
  async insertVersion(row: VersionRow) {
    this.w.insertVersion.run(row);
  }
  async deleteVersion(bucket: string, key: string, seq: number) {
    this.w.deleteVersion.run(bucket, key, seq);
  }
  async setVersionMeta(bucket: string, key: string, seq: number, meta: string) {
    this.w.setVersionMeta.run(meta, bucket, key, seq);
  }
  async insertUpload(row: UploadRow) {
    this.w.insertUpload.run(row);
  }
  async deleteUpload(uploadId: string) {
    this.w.deleteUpload.run(uploadId);
  }
  async putPart(row: PartRow) {
    this.w.putPart.run(row);
  }
  async deleteParts(uploadId: string) {
    this.w.deleteParts.run(uploadId);
  }
  async addDeadBlob(blob: string) {
    this.w.addDead.run(blob);
  }
  async addUsage(org: string, bytes: number, objects: number) {
    this.w.addUsage.run(org, bytes, objects);
  }
  /** The one writer excludes everyone already. */
  async lockUsage() {}
  async setUsage(org: string, bytes: number, objects: number) {
    this.w.setUsage.run(org, bytes, objects);
  }
  async setQuota(org: string, bytes: number | null) {
    if (bytes === null) this.w.deleteQuota.run(org);
    else this.w.setQuota.run(org, bytes);
  }
  async insertInlineBlob(id: string, data: Buffer) {
    this.w.insertInline.run(id, data);
  }
  async enqueueOutbox(entries: OutboxEntry[]) {
    this.outbox.enqueue(entries);
  }
  async addRequesterCharge(payerOrg: string, ownerOrg: string, bucket: string, bytesIn: number, bytesOut: number) {
    this.w.addRequesterCharge.run(payerOrg, ownerOrg, bucket, bytesIn, bytesOut);
  }
  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const name = `sp${++this.savepoints}`;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (error) {
      this.db.exec(`ROLLBACK TO ${name}`);
      this.db.exec(`RELEASE ${name}`);
      throw error;
    } finally {
      this.savepoints--;
    }
  }
}

export class SqliteRegionMetadata implements RegionMetadata {
  readonly engine = 'sqlite';
  readonly batchesCommits = true;
  /** the writer connection (migrations ran on it) */
  readonly db: Db;
  readonly read: MetaReads;
  readonly outbox: SqliteOutbox;
  readonly topics: SqliteOutbox;
  private readonly reader: Db;
  private readonly tx: SqliteTx;
  private readonly wal: FileSyncer;
  private readonly dataVersion: Database.Statement;
  /** the tail of the queue of transactions waiting for the writer */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, fsync: boolean) {
    this.db = openDatabase(path);
    createOutboxTables(this.db);
    this.reader = new Database(path, { readonly: true });
    this.reader.pragma('busy_timeout = 5000');
    this.reader.pragma('cache_size = -65536');
    this.read = new SqliteReads(this.reader);
    const highest = this.db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM (SELECT MAX(seq) AS seq FROM objects UNION ALL SELECT MAX(seq) FROM object_versions)').get();
    this.tx = new SqliteTx(this.db, new VersionClock(highest?.seq ?? 0));
    this.wal = new FileSyncer(`${path}-wal`, fsync);
    // PRAGMA data_version on the reader moves whenever another connection (our writer, or the
    // CLI in another process) commits: a cheap, exact "has anything changed" for caches.
    this.dataVersion = this.reader.prepare('PRAGMA data_version').pluck();
    this.outbox = this.topics = new SqliteOutbox(this.db, this.reader, (fn) => this.transaction(async () => fn()));
  }

  transaction<T>(fn: (tx: MetaTx) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      const st = this.tx.statements;
      st.begin.run();
      try {
        const result = await fn(this.tx);
        st.commit.run();
        return result;
      } catch (error) {
        if (this.db.inTransaction) st.rollback.run();
        throw error;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  changeCounter(): number {
    return this.dataVersion.get() as number;
  }

  durable(): Promise<void> {
    return this.wal.sync();
  }

  async forgetDeadBlobs(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.transaction(async () => {
      const remove = this.db.prepare('DELETE FROM dead_blobs WHERE blob = ?');
      for (const id of ids) remove.run(id);
    });
  }

  async deadBlobQueue(): Promise<{ depth: number }> {
    return { depth: this.reader.prepare<[], { n: number }>('SELECT count(*) AS n FROM dead_blobs').get()!.n };
  }

  async deadBlobs(limit: number): Promise<string[]> {
    return this.reader.prepare<[number], { blob: string }>('SELECT blob FROM dead_blobs LIMIT ?').all(limit).map((r) => r.blob);
  }

  async *blobReferences(): AsyncIterable<BlobReference> {
    yield* this.reader.prepare<[], BlobReference>('SELECT blob, manifest FROM objects').iterate();
    yield* this.reader.prepare<[], BlobReference>('SELECT blob, manifest FROM object_versions').iterate();
    yield* this.reader.prepare<[], BlobReference>('SELECT blob, NULL AS manifest FROM parts').iterate();
  }

  async *inlineBlobIds(): AsyncIterable<string> {
    for (const row of this.reader.prepare<[], { id: string }>('SELECT id FROM inline_blobs').all()) yield row.id;
  }

  async removeInlineBlob(id: string): Promise<void> {
    await this.transaction(async () => {
      this.db.prepare('DELETE FROM inline_blobs WHERE id = ?').run(id);
    });
  }

  async bucketStats(bucket: string): Promise<{ objects: number; bytes: number }> {
    const row = this.reader
      .prepare<[string, string], { objects: number; bytes: number | null }>(
        `SELECT SUM(n) AS objects, SUM(b) AS bytes FROM (SELECT COUNT(*) AS n, SUM(size) AS b FROM objects WHERE bucket = ?
         UNION ALL SELECT COUNT(*), SUM(size) FROM object_versions WHERE bucket = ? AND delete_marker = 0)`,
      )
      .get(bucket, bucket);
    return { objects: row?.objects ?? 0, bytes: row?.bytes ?? 0 };
  }

  async countUsage(): Promise<Map<string, Usage>> {
    const counted = new Map<string, Usage>();
    const add = (org: string, bytes: number, objects: number) => {
      const c = counted.get(org) ?? { bytes: 0, objects: 0 };
      c.bytes += bytes;
      c.objects += objects;
      counted.set(org, c);
    };
    const rows = this.reader
      .prepare<[], { org: string; bytes: number; n: number }>(
        // Noncurrent versions count like current ones; delete markers cost nothing; parts count bytes.
        `SELECT owner_org AS org, SUM(size) AS bytes, COUNT(*) AS n FROM objects GROUP BY owner_org
         UNION ALL SELECT owner_org, SUM(size), COUNT(*) FROM object_versions WHERE delete_marker = 0 GROUP BY owner_org
         UNION ALL SELECT u.owner_org, SUM(p.size), 0 FROM parts p JOIN uploads u ON u.upload_id = p.upload_id GROUP BY u.owner_org`,
      )
      .all();
    for (const r of rows) add(r.org, r.bytes, r.n);
    return counted;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.wal.close();
    this.reader.close();
    this.db.close();
  }
}
