// The shared metadata engine: PostgreSQL (15+), chosen by STRATA_METADATA_URL=postgres://…, so
// that any number of stateless Strata nodes can serve the same regions over one database.
//
// Transactions run under READ COMMITTED with explicit locks: a shared lock on the bucket row
// (DeleteBucket takes it exclusively), a transaction-scoped advisory lock per key (it exists
// whether or not the key has a row yet, so two first writes of one key queue instead of both
// inserting), and the upload row for multipart. A transaction that fails with a serialization
// failure, a deadlock or a unique violation (two nodes creating the same row) is run again from
// the start; RegionStore's transaction bodies only touch the database, so a retry is safe.
import { createHash, randomInt } from 'node:crypto';
import pg from 'pg';
import type { BucketRow, ListRow, ObjectRow, PartRow, UploadRow, VersionRow } from '../object-rows.ts';
import { VersionClock } from '../versions.ts';
import type { BlobReference, BucketField, MetaReads, MetaTx, RegionMetadata } from './metadata.ts';
import { regionMigrations, regionSchema, USAGE_SHARDS } from './postgres-schema.ts';

/** PostgreSQL error codes worth running a transaction again for. */
const RETRYABLE = new Set(['40001', '40P01', '23505']);
const MAX_ATTEMPTS = 12;

/** int8 as a JavaScript number: sizes, times and sequence numbers stay below 2^53. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

type Queryable = pg.Pool | pg.PoolClient;

/** One pool per process and database URL, shared by every region's metadata. */
export class PgDatabase {
  readonly pool: pg.Pool;
  /** for tests: make the next N transactions fail once with a serialization failure */
  injectSerializationFailures = 0;
  /** transactions run again after a retryable failure (observability and tests) */
  retries = 0;

  constructor(readonly url: string, maxConnections = 20) {
    this.pool = new pg.Pool({ connectionString: url, max: maxConnections, types });
    // An idle client that loses its connection must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
  }

  /** Create the region's schema and run its migrations (once per cluster: nodes may race here). */
  async prepareRegion(region: string): Promise<string> {
    const schema = regionSchema(region);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Serialise concurrent start-ups of several nodes on one key of the advisory lock space.
      await client.query('SELECT pg_advisory_xact_lock($1)', [lockId('strata-migrations')]);
      await client.query(LEASES_TABLE);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_version (version integer NOT NULL)`);
      const current = (await client.query<{ version: number }>(`SELECT version FROM ${schema}.schema_version`)).rows[0]?.version ?? 0;
      for (let i = current; i < regionMigrations.length; i++) await client.query(regionMigrations[i].replaceAll('S.', `${schema}.`));
      if (current === 0) await client.query(`INSERT INTO ${schema}.schema_version VALUES ($1)`, [regionMigrations.length]);
      else await client.query(`UPDATE ${schema}.schema_version SET version = $1`, [regionMigrations.length]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    return schema;
  }

  /**
   * Take or renew the lease `name` for `holder` until `ttlMs` from now, unless another holder's
   * lease is still running. Times are the database's, so nodes' clocks do not matter. Background
   * work that must run once per cluster (blob collection) runs only while its lease is held; a
   * node that dies stops renewing, and another takes over when the lease expires.
   */
  async tryLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const result = await this.pool.query(
      `INSERT INTO strata_leases (name, holder, expires_at) VALUES ($1, $2, ${DB_NOW_MS} + $3)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE strata_leases.holder = excluded.holder OR strata_leases.expires_at < ${DB_NOW_MS}
       RETURNING holder`,
      [name, holder, ttlMs],
    );
    return result.rows.length === 1;
  }

  /** Give up a lease (a node shutting down cleanly), so another node need not wait for it to expire. */
  async releaseLease(name: string, holder: string): Promise<void> {
    await this.pool.query('DELETE FROM strata_leases WHERE name = $1 AND holder = $2', [name, holder]);
  }

  /** Run `fn` in a transaction on one connection, again from the start after a retryable failure. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        if (this.injectSerializationFailures > 0) {
          this.injectSerializationFailures--;
          throw Object.assign(new Error('injected serialization failure'), { code: '40001' });
        }
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (error as { code?: string }).code;
        if (attempt >= MAX_ATTEMPTS || code === undefined || !RETRYABLE.has(code)) throw error;
        this.retries++;
        await new Promise((resolve) => setTimeout(resolve, randomInt(1, 5 * attempt + 2)));
      } finally {
        client.release();
      }
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** The database's clock in milliseconds since the epoch. */
const DB_NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** Leases of work that runs once per cluster (see tryLease); shared by all regions. */
const LEASES_TABLE = `CREATE TABLE IF NOT EXISTS strata_leases (name text PRIMARY KEY, holder text NOT NULL, expires_at bigint NOT NULL)`;

/** A 64-bit advisory lock id for a name (collisions only make two unrelated writes queue). */
function lockId(name: string | Buffer): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');

/** Rows come back with bytea keys: give them the string keys every caller expects. */
function keyed<R extends { key: unknown }>(row: R): R {
  if (Buffer.isBuffer(row.key)) (row as { key: unknown }).key = row.key.toString('utf8');
  return row;
}

function first<R extends { key: unknown }>(result: pg.QueryResult<R>): R | undefined {
  const row = result.rows[0];
  return row ? keyed(row) : undefined;
}

const OBJECT_COLUMNS = 'bucket, key, size, etag, last_modified, owner_org, meta, blob, manifest, sse, version_id, seq';
const VERSION_COLUMNS = 'bucket, key, seq, version_id, delete_marker, size, etag, last_modified, owner_org, meta, blob, manifest, sse';

/** The SQL of one region, with its schema written in. */
function regionSql(S: string) {
  return {
    bucket: `SELECT * FROM ${S}.buckets WHERE name = $1`,
    allBuckets: `SELECT * FROM ${S}.buckets ORDER BY name`,
    bucketsOf: `SELECT * FROM ${S}.buckets WHERE owner_org = $1 ORDER BY name`,
    object: `SELECT ${OBJECT_COLUMNS} FROM ${S}.objects WHERE bucket = $1 AND key = $2`,
    newestVersion: `SELECT * FROM ${S}.object_versions WHERE bucket = $1 AND key = $2 ORDER BY seq DESC LIMIT 1`,
    versionBySeq: `SELECT * FROM ${S}.object_versions WHERE bucket = $1 AND key = $2 AND seq = $3`,
    nullVersion: `SELECT * FROM ${S}.object_versions WHERE bucket = $1 AND key = $2 AND version_id IS NULL`,
    listPage: `SELECT key, size, etag, last_modified, owner_org, storage_class FROM ${S}.objects
               WHERE bucket = $1 AND key > $2 AND key >= $3 AND key < $4 ORDER BY key LIMIT $5`,
    currentWithin: `SELECT ${OBJECT_COLUMNS} FROM ${S}.objects WHERE bucket = $1 AND key = $2 AND seq < $3 LIMIT $4`,
    currentFrom: `SELECT ${OBJECT_COLUMNS} FROM ${S}.objects WHERE bucket = $1 AND key > $2 AND key >= $3 AND key < $4 ORDER BY key LIMIT $5`,
    historyWithin: `SELECT * FROM ${S}.object_versions WHERE bucket = $1 AND key = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4`,
    historyFrom: `SELECT * FROM ${S}.object_versions WHERE bucket = $1 AND key > $2 AND key >= $3 AND key < $4 ORDER BY key, seq DESC LIMIT $5`,
    upload: `SELECT * FROM ${S}.uploads WHERE upload_id = $1`,
    part: `SELECT * FROM ${S}.parts WHERE upload_id = $1 AND part_number = $2`,
    parts: `SELECT * FROM ${S}.parts WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3`,
    allParts: `SELECT * FROM ${S}.parts WHERE upload_id = $1 ORDER BY part_number`,
    uploadsPage: `SELECT * FROM ${S}.uploads WHERE bucket = $1 AND (key > $2 OR (key = $2 AND upload_id > $3)) AND key >= $4 AND key < $5
                  ORDER BY key, upload_id LIMIT $6`,
    usage: `SELECT SUM(bytes) AS bytes, SUM(objects) AS objects FROM ${S}.usage WHERE org = $1`,
    quota: `SELECT bytes FROM ${S}.quotas WHERE org = $1`,
    allUsage: `SELECT o.org AS org, COALESCE(u.bytes, 0)::bigint AS bytes, COALESCE(u.objects, 0)::bigint AS objects, q.bytes AS quota
               FROM (SELECT org FROM ${S}.usage UNION SELECT org FROM ${S}.quotas) o
               LEFT JOIN (SELECT org, SUM(bytes) AS bytes, SUM(objects) AS objects FROM ${S}.usage GROUP BY org) u ON u.org = o.org
               LEFT JOIN ${S}.quotas q ON q.org = o.org ORDER BY o.org`,
    inlineBlob: `SELECT data FROM ${S}.inline_blobs WHERE id = $1`,

    lockBucketShare: `SELECT * FROM ${S}.buckets WHERE name = $1 FOR SHARE`,
    lockBucketExclusive: `SELECT * FROM ${S}.buckets WHERE name = $1 FOR UPDATE`,
    // Two statements: under READ COMMITTED a statement reads the snapshot taken when it began,
    // so a read in the statement that waited for the lock would miss the holder's commit.
    lockKey: `SELECT pg_advisory_xact_lock($1::bigint)`,
    lockUploadShare: `SELECT * FROM ${S}.uploads WHERE upload_id = $1 FOR SHARE`,
    lockUploadExclusive: `SELECT * FROM ${S}.uploads WHERE upload_id = $1 FOR UPDATE`,
    highestVersionSeq: `SELECT MAX(seq) AS seq FROM ${S}.object_versions WHERE bucket = $1 AND key = $2`,
    insertBucket: `INSERT INTO ${S}.buckets (name, owner_org, created_at, acl) VALUES ($1, $2, $3, $4)`,
    deleteBucket: `DELETE FROM ${S}.buckets WHERE name = $1`,
    setBucketField: (field: BucketField) => `UPDATE ${S}.buckets SET ${field} = $1 WHERE name = $2`,
    bucketHasObject: `SELECT 1 AS one FROM ${S}.objects WHERE bucket = $1 UNION ALL SELECT 1 FROM ${S}.object_versions WHERE bucket = $1 LIMIT 1`,
    bucketUploads: `SELECT upload_id FROM ${S}.uploads WHERE bucket = $1`,
    putObject: `INSERT INTO ${S}.objects (${OBJECT_COLUMNS}, storage_class)
                VALUES ($1, $2, $3, $4, $5, $6, $7::text, $8, $9, $10, $11, $12, $7::text::jsonb ->> 'storageClass')
                ON CONFLICT (bucket, key) DO UPDATE SET size = excluded.size, etag = excluded.etag, last_modified = excluded.last_modified,
                  owner_org = excluded.owner_org, meta = excluded.meta, blob = excluded.blob, manifest = excluded.manifest, sse = excluded.sse,
                  version_id = excluded.version_id, seq = excluded.seq, storage_class = excluded.storage_class`,
    deleteObject: `DELETE FROM ${S}.objects WHERE bucket = $1 AND key = $2`,
    setObjectMeta: `UPDATE ${S}.objects SET meta = $1::text, storage_class = $1::text::jsonb ->> 'storageClass' WHERE bucket = $2 AND key = $3`,
    insertVersion: `INSERT INTO ${S}.object_versions (${VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    deleteVersion: `DELETE FROM ${S}.object_versions WHERE bucket = $1 AND key = $2 AND seq = $3`,
    setVersionMeta: `UPDATE ${S}.object_versions SET meta = $1 WHERE bucket = $2 AND key = $3 AND seq = $4`,
    insertUpload: `INSERT INTO ${S}.uploads (upload_id, bucket, key, initiated, owner_org, initiator, meta, sse) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    deleteUpload: `DELETE FROM ${S}.uploads WHERE upload_id = $1`,
    putPart: `INSERT INTO ${S}.parts (upload_id, part_number, size, stored_size, etag, last_modified, blob, checksum, sse)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
              ON CONFLICT (upload_id, part_number) DO UPDATE SET size = excluded.size, stored_size = excluded.stored_size, etag = excluded.etag,
                last_modified = excluded.last_modified, blob = excluded.blob, checksum = excluded.checksum, sse = excluded.sse`,
    deleteParts: `DELETE FROM ${S}.parts WHERE upload_id = $1`,
    addDead: `INSERT INTO ${S}.dead_blobs (blob, dead_since) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    addUsage: `INSERT INTO ${S}.usage (org, shard, bytes, objects) VALUES ($1, $2, $3, $4)
               ON CONFLICT (org, shard) DO UPDATE SET bytes = ${S}.usage.bytes + excluded.bytes, objects = ${S}.usage.objects + excluded.objects`,
    clearUsage: `DELETE FROM ${S}.usage WHERE org = $1`,
    setUsage: `INSERT INTO ${S}.usage (org, shard, bytes, objects) VALUES ($1, 0, $2, $3)`,
    deleteQuota: `DELETE FROM ${S}.quotas WHERE org = $1`,
    setQuota: `INSERT INTO ${S}.quotas (org, bytes) VALUES ($1, $2) ON CONFLICT (org) DO UPDATE SET bytes = excluded.bytes`,
    insertInline: `INSERT INTO ${S}.inline_blobs (id, data) VALUES ($1, $2)`,
    removeInline: `DELETE FROM ${S}.inline_blobs WHERE id = $1`,
    deadBlobs: `SELECT blob FROM ${S}.dead_blobs ORDER BY dead_since LIMIT $1`,
    forgetDead: `DELETE FROM ${S}.dead_blobs WHERE blob = ANY($1)`,
    inlineIds: `SELECT id FROM ${S}.inline_blobs WHERE id > $1 ORDER BY id LIMIT 1000`,
    objectRefs: `SELECT bucket, key, blob, manifest FROM ${S}.objects WHERE (bucket, key) > ($1, $2) ORDER BY bucket, key LIMIT 1000`,
    versionRefs: `SELECT bucket, key, seq, blob, manifest FROM ${S}.object_versions WHERE (bucket, key, seq) > ($1, $2, $3) ORDER BY bucket, key, seq LIMIT 1000`,
    partRefs: `SELECT upload_id, part_number, blob FROM ${S}.parts WHERE (upload_id, part_number) > ($1, $2) ORDER BY upload_id, part_number LIMIT 1000`,
    countUsage: `SELECT owner_org AS org, SUM(size)::bigint AS bytes, COUNT(*)::bigint AS n FROM ${S}.objects GROUP BY owner_org
                 UNION ALL SELECT owner_org, SUM(size)::bigint, COUNT(*)::bigint FROM ${S}.object_versions WHERE delete_marker = 0 GROUP BY owner_org
                 UNION ALL SELECT u.owner_org, SUM(p.size)::bigint, 0::bigint FROM ${S}.parts p JOIN ${S}.uploads u ON u.upload_id = p.upload_id GROUP BY u.owner_org`,
  };
}

type RegionSql = ReturnType<typeof regionSql>;

class PgReads implements MetaReads {
  constructor(protected readonly db: Queryable, protected readonly sql: RegionSql) {}

  protected async one<R extends { key: unknown }>(text: string, values: unknown[]): Promise<R | undefined> {
    return first(await this.db.query<R>(text, values));
  }
  protected async many<R extends { key: unknown }>(text: string, values: unknown[]): Promise<R[]> {
    return (await this.db.query<R>(text, values)).rows.map(keyed);
  }
  async bucket(name: string) {
    return (await this.db.query<BucketRow>(this.sql.bucket, [name])).rows[0];
  }
  async buckets(ownerOrg?: string) {
    const result = ownerOrg === undefined ? await this.db.query<BucketRow>(this.sql.allBuckets) : await this.db.query<BucketRow>(this.sql.bucketsOf, [ownerOrg]);
    return result.rows;
  }
  object(bucket: string, key: string) {
    return this.one<ObjectRow>(this.sql.object, [bucket, utf8(key)]);
  }
  newestVersion(bucket: string, key: string) {
    return this.one<VersionRow>(this.sql.newestVersion, [bucket, utf8(key)]);
  }
  versionBySeq(bucket: string, key: string, seq: number) {
    return this.one<VersionRow>(this.sql.versionBySeq, [bucket, utf8(key), seq]);
  }
  nullVersion(bucket: string, key: string) {
    return this.one<VersionRow>(this.sql.nullVersion, [bucket, utf8(key)]);
  }
  listPage(bucket: string, after: string, lower: string, upper: string, limit: number) {
    return this.many<ListRow>(this.sql.listPage, [bucket, utf8(after), utf8(lower), utf8(upper), limit]);
  }
  currentWithin(bucket: string, key: string, belowSeq: number, limit: number) {
    return this.many<ObjectRow>(this.sql.currentWithin, [bucket, utf8(key), belowSeq, limit]);
  }
  currentFrom(bucket: string, after: string, lower: string, upper: string, limit: number) {
    return this.many<ObjectRow>(this.sql.currentFrom, [bucket, utf8(after), utf8(lower), utf8(upper), limit]);
  }
  historyWithin(bucket: string, key: string, belowSeq: number, limit: number) {
    return this.many<VersionRow>(this.sql.historyWithin, [bucket, utf8(key), belowSeq, limit]);
  }
  historyFrom(bucket: string, after: string, lower: string, upper: string, limit: number) {
    return this.many<VersionRow>(this.sql.historyFrom, [bucket, utf8(after), utf8(lower), utf8(upper), limit]);
  }
  upload(uploadId: string) {
    return this.one<UploadRow>(this.sql.upload, [uploadId]);
  }
  async part(uploadId: string, partNumber: number) {
    return (await this.db.query<PartRow>(this.sql.part, [uploadId, partNumber])).rows[0];
  }
  async parts(uploadId: string, afterPart: number, limit: number) {
    return (await this.db.query<PartRow>(this.sql.parts, [uploadId, afterPart, limit])).rows;
  }
  async allParts(uploadId: string) {
    return (await this.db.query<PartRow>(this.sql.allParts, [uploadId])).rows;
  }
  uploadsPage(bucket: string, keyMarker: string, uploadIdMarker: string, lower: string, upper: string, limit: number) {
    return this.many<UploadRow>(this.sql.uploadsPage, [bucket, utf8(keyMarker), uploadIdMarker, utf8(lower), utf8(upper), limit]);
  }
  async usage(org: string) {
    const row = (await this.db.query<{ bytes: string | null; objects: string | null }>(this.sql.usage, [org])).rows[0];
    // SUM over bigint is numeric, which comes back as a string.
    return row?.bytes === null || row === undefined ? undefined : { bytes: Number(row.bytes), objects: Number(row.objects) };
  }
  async quota(org: string) {
    return (await this.db.query<{ bytes: number }>(this.sql.quota, [org])).rows[0]?.bytes;
  }
  async allUsage() {
    return (await this.db.query<{ org: string; bytes: number; objects: number; quota: number | null }>(this.sql.allUsage)).rows;
  }
  async inlineBlob(id: string) {
    return (await this.db.query<{ data: Buffer }>(this.sql.inlineBlob, [id])).rows[0]?.data;
  }
}

class PgTx extends PgReads implements MetaTx {
  /** the usage shard this transaction adds to (one per transaction, so it never waits on itself) */
  private readonly shard = randomInt(USAGE_SHARDS);
  private savepoints = 0;

  constructor(private readonly client: pg.PoolClient, sql: RegionSql, private readonly schema: string, private readonly clock: VersionClock) {
    super(client, sql);
  }

  async lockBucket(name: string, mode: 'share' | 'exclusive') {
    return (await this.client.query<BucketRow>(mode === 'share' ? this.sql.lockBucketShare : this.sql.lockBucketExclusive, [name])).rows[0];
  }
  async lockKey(bucket: string, key: string) {
    const id = lockId(Buffer.concat([utf8(this.schema), Buffer.from([0]), utf8(bucket), Buffer.from([0]), utf8(key)]));
    await this.client.query(this.sql.lockKey, [id]);
    return this.object(bucket, key);
  }
  lockUpload(uploadId: string, mode: 'share' | 'exclusive') {
    return this.one<UploadRow>(mode === 'share' ? this.sql.lockUploadShare : this.sql.lockUploadExclusive, [uploadId]);
  }
  async nextSeq(bucket: string, key: string, current: ObjectRow | undefined) {
    // Nodes' clocks differ: with the key locked, the stored history is the floor.
    const stored = (await this.client.query<{ seq: number | null }>(this.sql.highestVersionSeq, [bucket, utf8(key)])).rows[0]?.seq ?? 0;
    return Math.max(this.clock.next(), (current?.seq ?? 0) + 1, stored + 1);
  }
  async insertBucket(name: string, ownerOrg: string, createdAt: number, acl: string | null) {
    await this.client.query(this.sql.insertBucket, [name, ownerOrg, createdAt, acl]);
  }
  async deleteBucket(name: string) {
    await this.client.query(this.sql.deleteBucket, [name]);
  }
  async setBucketField(name: string, field: BucketField, value: string | null) {
    await this.client.query(this.sql.setBucketField(field), [value, name]);
  }
  async bucketHasObjects(bucket: string) {
    return (await this.client.query(this.sql.bucketHasObject, [bucket])).rows.length > 0;
  }
  async bucketUploads(bucket: string) {
    return (await this.client.query<{ upload_id: string }>(this.sql.bucketUploads, [bucket])).rows.map((r) => r.upload_id);
  }
  async putObject(r: ObjectRow) {
    await this.client.query(this.sql.putObject, [r.bucket, utf8(r.key), r.size, r.etag, r.last_modified, r.owner_org, r.meta, r.blob, r.manifest, r.sse, r.version_id, r.seq]);
  }
  async deleteObject(bucket: string, key: string) {
    await this.client.query(this.sql.deleteObject, [bucket, utf8(key)]);
  }
  async setObjectMeta(bucket: string, key: string, meta: string) {
    await this.client.query(this.sql.setObjectMeta, [meta, bucket, utf8(key)]);
  }
  async insertVersion(r: VersionRow) {
    await this.client.query(this.sql.insertVersion, [r.bucket, utf8(r.key), r.seq, r.version_id, r.delete_marker, r.size, r.etag, r.last_modified, r.owner_org, r.meta, r.blob, r.manifest, r.sse]);
  }
  async deleteVersion(bucket: string, key: string, seq: number) {
    await this.client.query(this.sql.deleteVersion, [bucket, utf8(key), seq]);
  }
  async setVersionMeta(bucket: string, key: string, seq: number, meta: string) {
    await this.client.query(this.sql.setVersionMeta, [meta, bucket, utf8(key), seq]);
  }
  async insertUpload(r: UploadRow) {
    await this.client.query(this.sql.insertUpload, [r.upload_id, r.bucket, utf8(r.key), r.initiated, r.owner_org, r.initiator, r.meta, r.sse]);
  }
  async deleteUpload(uploadId: string) {
    await this.client.query(this.sql.deleteUpload, [uploadId]);
  }
  async putPart(r: PartRow) {
    await this.client.query(this.sql.putPart, [r.upload_id, r.part_number, r.size, r.stored_size, r.etag, r.last_modified, r.blob, r.checksum, r.sse]);
  }
  async deleteParts(uploadId: string) {
    await this.client.query(this.sql.deleteParts, [uploadId]);
  }
  async addDeadBlob(blob: string) {
    await this.client.query(this.sql.addDead, [blob, Date.now()]);
  }
  async addUsage(org: string, bytes: number, objects: number) {
    await this.client.query(this.sql.addUsage, [org, this.shard, bytes, objects]);
  }
  async lockUsage(org: string) {
    await this.client.query(this.sql.lockKey, [lockId(Buffer.concat([utf8(this.schema), Buffer.from([1]), utf8(org)]))]);
  }
  async setUsage(org: string, bytes: number, objects: number) {
    await this.client.query(this.sql.clearUsage, [org]);
    await this.client.query(this.sql.setUsage, [org, bytes, objects]);
  }
  async setQuota(org: string, bytes: number | null) {
    if (bytes === null) await this.client.query(this.sql.deleteQuota, [org]);
    else await this.client.query(this.sql.setQuota, [org, bytes]);
  }
  async insertInlineBlob(id: string, data: Buffer) {
    await this.client.query(this.sql.insertInline, [id, data]);
  }
  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const name = `sp${++this.savepoints}`;
    await this.client.query(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      await this.client.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (error) {
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw error;
    } finally {
      this.savepoints--;
    }
  }
}

export class PgRegionMetadata implements RegionMetadata {
  readonly engine = 'postgres';
  readonly batchesCommits = false;
  readonly read: MetaReads;
  private readonly sql: RegionSql;
  private readonly clock = new VersionClock(0);

  private constructor(private readonly database: PgDatabase, private readonly schema: string) {
    this.sql = regionSql(schema);
    this.read = new PgReads(database.pool, this.sql);
  }

  static async open(database: PgDatabase, region: string): Promise<PgRegionMetadata> {
    return new PgRegionMetadata(database, await database.prepareRegion(region));
  }

  transaction<T>(fn: (tx: MetaTx) => Promise<T>): Promise<T> {
    return this.database.transaction((client) => fn(new PgTx(client, this.sql, this.schema, this.clock)));
  }

  /** No cheap counter across nodes: callers read committed rows every time. */
  changeCounter(): undefined {
    return undefined;
  }

  /** A COMMIT that returned is durable (synchronous_commit is the operator's setting). */
  async durable(): Promise<void> {}

  async forgetDeadBlobs(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.database.pool.query(this.sql.forgetDead, [ids]);
  }

  async deadBlobs(limit: number): Promise<string[]> {
    return (await this.database.pool.query<{ blob: string }>(this.sql.deadBlobs, [limit])).rows.map((r) => r.blob);
  }

  async *blobReferences(): AsyncIterable<BlobReference> {
    const pool = this.database.pool;
    // Keyset pages, so that a large store is never read into memory at once.
    let bucket = '';
    let key: Buffer = Buffer.alloc(0);
    for (;;) {
      const rows = (await pool.query<BlobReference & { bucket: string; key: Buffer }>(this.sql.objectRefs, [bucket, key])).rows;
      yield* rows;
      if (rows.length < 1000) break;
      ({ bucket, key } = rows[rows.length - 1]);
    }
    bucket = '';
    key = Buffer.alloc(0);
    let seq = -1;
    for (;;) {
      const rows = (await pool.query<BlobReference & { bucket: string; key: Buffer; seq: number }>(this.sql.versionRefs, [bucket, key, seq])).rows;
      yield* rows;
      if (rows.length < 1000) break;
      ({ bucket, key, seq } = rows[rows.length - 1]);
    }
    let uploadId = '';
    let partNumber = -1;
    for (;;) {
      const rows = (await pool.query<{ upload_id: string; part_number: number; blob: string }>(this.sql.partRefs, [uploadId, partNumber])).rows;
      for (const r of rows) yield { blob: r.blob, manifest: null };
      if (rows.length < 1000) break;
      ({ upload_id: uploadId, part_number: partNumber } = rows[rows.length - 1]);
    }
  }

  async *inlineBlobIds(): AsyncIterable<string> {
    let after = '';
    for (;;) {
      const rows = (await this.database.pool.query<{ id: string }>(this.sql.inlineIds, [after])).rows;
      for (const r of rows) yield r.id;
      if (rows.length < 1000) break;
      after = rows[rows.length - 1].id;
    }
  }

  async removeInlineBlob(id: string): Promise<void> {
    await this.database.pool.query(this.sql.removeInline, [id]);
  }

  async countUsage(): Promise<Map<string, { bytes: number; objects: number }>> {
    const counted = new Map<string, { bytes: number; objects: number }>();
    for (const r of (await this.database.pool.query<{ org: string; bytes: number; n: number }>(this.sql.countUsage)).rows) {
      const c = counted.get(r.org) ?? { bytes: 0, objects: 0 };
      c.bytes += r.bytes;
      c.objects += r.n;
      counted.set(r.org, c);
    }
    return counted;
  }

  /** The pool belongs to the PgDatabase, which the server closes once for all regions. */
  async close(): Promise<void> {}
}
