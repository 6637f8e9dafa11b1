// The statements of one region's metadata on PostgreSQL, with the region's schema written in
// (see postgres-schema.ts for the tables and postgres.ts for how they are run and locked).
import type { BucketField } from './metadata.ts';

const OBJECT_COLUMNS = 'bucket, key, size, etag, last_modified, owner_org, meta, blob, manifest, sse, version_id, seq';
const VERSION_COLUMNS = 'bucket, key, seq, version_id, delete_marker, size, etag, last_modified, owner_org, meta, blob, manifest, sse';

/** The SQL of one region, with its schema written in. */
export function regionSql(S: string) {
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
    requesterCharges: `SELECT payer_org AS "payerOrg", owner_org AS "ownerOrg", bucket, SUM(requests)::bigint AS requests,
                       SUM(bytes_in)::bigint AS "bytesIn", SUM(bytes_out)::bigint AS "bytesOut"
                       FROM ${S}.requester_charges GROUP BY payer_org, owner_org, bucket ORDER BY payer_org, owner_org, bucket`,

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
    addRequesterCharge: `INSERT INTO ${S}.requester_charges AS c (payer_org, owner_org, bucket, shard, requests, bytes_in, bytes_out)
                         VALUES ($1, $2, $3, $4, 1, $5, $6)
                         ON CONFLICT (payer_org, owner_org, bucket, shard) DO UPDATE SET requests = c.requests + 1, bytes_in = c.bytes_in + excluded.bytes_in,
                         bytes_out = c.bytes_out + excluded.bytes_out`,
    removeInline: `DELETE FROM ${S}.inline_blobs WHERE id = $1`,
    deadBlobs: `SELECT blob FROM ${S}.dead_blobs ORDER BY dead_since LIMIT $1`,
    forgetDead: `DELETE FROM ${S}.dead_blobs WHERE blob = ANY($1)`,
    inlineIds: `SELECT id FROM ${S}.inline_blobs WHERE id > $1 ORDER BY id LIMIT 1000`,
    objectRefs: `SELECT bucket, key, blob, manifest FROM ${S}.objects WHERE (bucket, key) > ($1, $2) ORDER BY bucket, key LIMIT 1000`,
    versionRefs: `SELECT bucket, key, seq, blob, manifest FROM ${S}.object_versions WHERE (bucket, key, seq) > ($1, $2, $3) ORDER BY bucket, key, seq LIMIT 1000`,
    partRefs: `SELECT upload_id, part_number, blob FROM ${S}.parts WHERE (upload_id, part_number) > ($1, $2) ORDER BY upload_id, part_number LIMIT 1000`,
    bucketStats: `SELECT COALESCE(SUM(n), 0)::bigint AS objects, COALESCE(SUM(b), 0)::bigint AS bytes FROM (
                   SELECT COUNT(*) AS n, SUM(size) AS b FROM ${S}.objects WHERE bucket = $1
                   UNION ALL SELECT COUNT(*), SUM(size) FROM ${S}.object_versions WHERE bucket = $1 AND delete_marker = 0) t`,
    countUsage: `SELECT owner_org AS org, SUM(size)::bigint AS bytes, COUNT(*)::bigint AS n FROM ${S}.objects GROUP BY owner_org
                 UNION ALL SELECT owner_org, SUM(size)::bigint, COUNT(*)::bigint FROM ${S}.object_versions WHERE delete_marker = 0 GROUP BY owner_org
                 UNION ALL SELECT u.owner_org, SUM(p.size)::bigint, 0::bigint FROM ${S}.parts p JOIN ${S}.uploads u ON u.upload_id = p.upload_id GROUP BY u.owner_org`,
  };
}

export type RegionSql = ReturnType<typeof regionSql>;
