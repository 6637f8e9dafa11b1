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
import { maxUtf8 } from '../key-order.ts';
import { VersionClock } from '../versions.ts';
import type { BlobReference, BucketField, MetaReads, MetaTx, RegionMetadata, RequesterCharge } from './metadata.ts';
import { regionMigrations, regionSchema, USAGE_SHARDS } from './postgres-schema.ts';
import { regionSql, type RegionSql } from './postgres-sql.ts';
import type { OutboxEntry } from '../../outbox/outbox.ts';
import { createPgOutboxTables, PgOutbox, pgEnqueue } from '../../outbox/pg-tables.ts';

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
    return this.many<UploadRow>(this.sql.uploadsPage, [bucket, utf8(keyMarker), uploadIdMarker, utf8(maxUtf8(keyMarker, lower)), utf8(upper), limit]);
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
  async requesterCharges() {
    return (await this.db.query<RequesterCharge>(this.sql.requesterCharges)).rows;
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
  async nextSeq(bucket: string, key: string, current: ObjectRow | undefined, hasHistory: boolean) {
    // Nodes' clocks differ: with the key locked, the stored history is the floor.
    const stored = hasHistory ? ((await this.client.query<{ seq: number | null }>(this.sql.highestVersionSeq, [bucket, utf8(key)])).rows[0]?.seq ?? 0) : 0;
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
  enqueueOutbox(entries: OutboxEntry[]) {
    return pgEnqueue(this.client, this.schema, entries);
  }
  async addRequesterCharge(payerOrg: string, ownerOrg: string, bucket: string, bytesIn: number, bytesOut: number) {
    await this.client.query(this.sql.addRequesterCharge, [payerOrg, ownerOrg, bucket, this.shard, bytesIn, bytesOut]);
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
  readonly outbox: PgOutbox;
  readonly topics: PgOutbox;
  private readonly sql: RegionSql;
  private readonly clock = new VersionClock(0);

  private constructor(private readonly database: PgDatabase, private readonly schema: string) {
    this.sql = regionSql(schema);
    this.read = new PgReads(database.pool, this.sql);
    this.outbox = this.topics = new PgOutbox(database.pool, schema);
  }

  static async open(database: PgDatabase, region: string): Promise<PgRegionMetadata> {
    const schema = await database.prepareRegion(region);
    await createPgOutboxTables(database.pool, schema, lockId('strata-migrations'));
    return new PgRegionMetadata(database, schema);
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

  async deadBlobQueue(): Promise<{ depth: number; oldestMs?: number }> {
    const row = (await this.database.pool.query<{ n: string; oldest: string | null }>(this.sql.deadBlobQueue)).rows[0];
    return { depth: Number(row.n), ...(row.oldest !== null ? { oldestMs: Number(row.oldest) } : {}) };
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

  async bucketStats(bucket: string): Promise<{ objects: number; bytes: number }> {
    return (await this.database.pool.query<{ objects: number; bytes: number }>(this.sql.bucketStats, [bucket])).rows[0];
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
