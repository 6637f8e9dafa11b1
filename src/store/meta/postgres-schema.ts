// The PostgreSQL schema of one region: the same tables as the SQLite file (db.ts), in a schema of
// their own per region. Object keys are bytea, so that the index order is S3's byte order and
// every key SQLite can hold (NUL included) can be held here; names and ids are ASCII text with
// the "C" collation. Usage counters are sharded so that concurrent writes of one organisation
// do not all queue on one row. No sequences: ids come from the nodes.

/** The schema's name for `region` (region names are [a-z0-9-]; quoted, so '-' is fine). */
export function regionSchema(region: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(region)) throw new Error(`region name ${region} cannot name a PostgreSQL schema`);
  return `"strata_region_${region}"`;
}

/** Shards of each organisation's usage counter; a transaction adds to one of them at random. */
export const USAGE_SHARDS = 16;

/** Migrations, in order; `S` is replaced by the region's schema. Each runs once, in a transaction. */
export const regionMigrations: string[] = [
  `CREATE TABLE S.buckets (
     name text COLLATE "C" PRIMARY KEY,
     owner_org text NOT NULL,
     created_at bigint NOT NULL,
     acl text,
     policy text,
     tags text,
     config text NOT NULL DEFAULT '{}'
   );
   CREATE INDEX buckets_by_owner ON S.buckets (owner_org, name);

   CREATE TABLE S.objects (
     bucket text COLLATE "C" NOT NULL,
     key bytea NOT NULL,
     size bigint NOT NULL,
     etag text NOT NULL,
     last_modified bigint NOT NULL,
     owner_org text NOT NULL,
     meta text NOT NULL,
     storage_class text,
     blob text,
     manifest text,
     sse text,
     version_id text,
     seq bigint NOT NULL,
     PRIMARY KEY (bucket, key)
   );

   CREATE TABLE S.object_versions (
     bucket text COLLATE "C" NOT NULL,
     key bytea NOT NULL,
     seq bigint NOT NULL,
     version_id text,
     delete_marker smallint NOT NULL DEFAULT 0,
     size bigint NOT NULL,
     etag text NOT NULL,
     last_modified bigint NOT NULL,
     owner_org text NOT NULL,
     meta text NOT NULL,
     blob text,
     manifest text,
     sse text,
     PRIMARY KEY (bucket, key, seq)
   );

   CREATE TABLE S.uploads (
     upload_id text COLLATE "C" PRIMARY KEY,
     bucket text COLLATE "C" NOT NULL,
     key bytea NOT NULL,
     initiated bigint NOT NULL,
     owner_org text NOT NULL,
     initiator text NOT NULL,
     meta text NOT NULL,
     sse text
   );
   CREATE INDEX uploads_by_key ON S.uploads (bucket, key, upload_id);

   CREATE TABLE S.parts (
     upload_id text COLLATE "C" NOT NULL,
     part_number integer NOT NULL,
     size bigint NOT NULL,
     stored_size bigint NOT NULL,
     etag text NOT NULL,
     last_modified bigint NOT NULL,
     blob text NOT NULL,
     checksum text,
     sse text,
     PRIMARY KEY (upload_id, part_number)
   );

   -- Blobs no longer referenced, with the time they were released: collected by any node.
   CREATE TABLE S.dead_blobs (blob text PRIMARY KEY, dead_since bigint NOT NULL);

   CREATE TABLE S.usage (
     org text NOT NULL,
     shard smallint NOT NULL,
     bytes bigint NOT NULL DEFAULT 0,
     objects bigint NOT NULL DEFAULT 0,
     PRIMARY KEY (org, shard)
   );
   CREATE TABLE S.quotas (org text PRIMARY KEY, bytes bigint NOT NULL);
   CREATE TABLE S.inline_blobs (id text PRIMARY KEY, data bytea NOT NULL);`,
  // Requester-pays accounting (db.ts migration 5), sharded like usage so that one payer's
  // concurrent requests on several nodes do not all queue on one row.
  `CREATE TABLE S.requester_charges (
     payer_org text COLLATE "C" NOT NULL,
     owner_org text COLLATE "C" NOT NULL,
     bucket text COLLATE "C" NOT NULL,
     shard smallint NOT NULL,
     requests bigint NOT NULL DEFAULT 0,
     bytes_in bigint NOT NULL DEFAULT 0,
     bytes_out bigint NOT NULL DEFAULT 0,
     PRIMARY KEY (payer_org, owner_org, bucket, shard)
   );`
];
