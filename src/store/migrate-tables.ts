// The tables `strata migrate` copies from a region's SQLite file (db.ts) into its PostgreSQL
// schema (meta/postgres-schema.ts), and how each row is read, written and checksummed.
//
// Order: every table is read in its primary-key order, which is also the checksum's order. In
// SQLite every key column is TEXT with the BINARY collation (memcmp of the UTF-8 bytes) or an
// integer; in PostgreSQL object keys are bytea (memcmp as well) and the other text keys are
// ordered with COLLATE "C" (byte order in a UTF-8 database), so both sides list rows in the same
// order whatever the database's default collation is.
import { createHash, type Hash } from 'node:crypto';

/** SQLite schema version (PRAGMA user_version, db.ts) whose tables this file describes. */
export const SQLITE_SCHEMA_VERSION = 5;

export type KeyType = 'text' | 'bytea' | 'int';

export interface TableSpec {
  name: string;
  /** columns read from SQLite, in order (the same names in PostgreSQL) */
  columns: readonly string[];
  /** the primary key, in the order rows are copied and checksummed */
  key: readonly (readonly [column: string, type: KeyType])[];
  /** columns that are bytea in PostgreSQL and TEXT in SQLite: object keys */
  bytea?: readonly string[];
  /** rows per batch (a transaction in PostgreSQL) when not set from the command line */
  batchRows: number;
  /** PostgreSQL columns the copy fills besides `columns`, as SQL over the row's parameters */
  extra?: readonly { column: string; sql: (param: (column: string) => string) => string; value?: () => unknown }[];
  /** the checksum's select list in SQLite (default: `columns`) */
  sqliteChecksum?: string;
  /** the checksum's select list in PostgreSQL (default: `columns`) */
  pgChecksum?: string;
  /** the checksum's FROM and GROUP BY in PostgreSQL, before the ORDER BY (default: the table) */
  pgChecksumFrom?: (schema: string) => string;
}

const OBJECT = ['bucket', 'key', 'size', 'etag', 'last_modified', 'owner_org', 'meta', 'blob', 'manifest', 'sse', 'version_id', 'seq'];

export const TABLES: readonly TableSpec[] = [
  { name: 'buckets', columns: ['name', 'owner_org', 'created_at', 'acl', 'policy', 'tags', 'config'], key: [['name', 'text']], batchRows: 1000 },
  {
    name: 'objects',
    columns: OBJECT,
    key: [['bucket', 'text'], ['key', 'bytea']],
    bytea: ['key'],
    batchRows: 1000,
    // postgres.ts keeps the storage class in a column of its own, for listings; computed as it does.
    extra: [{ column: 'storage_class', sql: (p) => `${p('meta')}::text::jsonb ->> 'storageClass'` }],
    sqliteChecksum: `${OBJECT.join(', ')}, json_extract(meta, '$.storageClass')`,
    pgChecksum: `${OBJECT.join(', ')}, storage_class`,
  },
  {
    name: 'object_versions',
    columns: ['bucket', 'key', 'seq', 'version_id', 'delete_marker', 'size', 'etag', 'last_modified', 'owner_org', 'meta', 'blob', 'manifest', 'sse'],
    key: [['bucket', 'text'], ['key', 'bytea'], ['seq', 'int']],
    bytea: ['key'],
    batchRows: 1000,
  },
  {
    name: 'uploads',
    columns: ['upload_id', 'bucket', 'key', 'initiated', 'owner_org', 'initiator', 'meta', 'sse'],
    key: [['upload_id', 'text']],
    bytea: ['key'],
    batchRows: 1000,
  },
  {
    name: 'parts',
    columns: ['upload_id', 'part_number', 'size', 'stored_size', 'etag', 'last_modified', 'blob', 'checksum', 'sse'],
    key: [['upload_id', 'text'], ['part_number', 'int']],
    batchRows: 1000,
  },
  {
    name: 'dead_blobs',
    columns: ['blob'],
    key: [['blob', 'text']],
    batchRows: 1000,
    // SQLite does not record when a blob was released: the grace period starts at the migration.
    extra: [{ column: 'dead_since', sql: (p) => p('dead_since'), value: () => Date.now() }],
  },
  {
    name: 'usage',
    columns: ['org', 'bytes', 'objects'],
    key: [['org', 'text']],
    batchRows: 1000,
    // One SQLite counter becomes shard 0 of the sharded counter; compared as the shards' sum.
    extra: [{ column: 'shard', sql: () => '0' }],
    pgChecksum: 'org, SUM(bytes)::bigint, SUM(objects)::bigint',
    pgChecksumFrom: (S) => `${S}.usage GROUP BY org`,
  },
  { name: 'quotas', columns: ['org', 'bytes'], key: [['org', 'text']], batchRows: 1000 },
  {
    name: 'requester_charges',
    columns: ['payer_org', 'owner_org', 'bucket', 'requests', 'bytes_in', 'bytes_out'],
    key: [['payer_org', 'text'], ['owner_org', 'text'], ['bucket', 'text']],
    batchRows: 1000,
    // Like usage: one SQLite row becomes shard 0, compared as the shards' sum.
    extra: [{ column: 'shard', sql: () => '0' }],
    pgChecksum: 'payer_org, owner_org, bucket, SUM(requests)::bigint, SUM(bytes_in)::bigint, SUM(bytes_out)::bigint',
    pgChecksumFrom: (S) => `${S}.requester_charges GROUP BY payer_org, owner_org, bucket`,
  },
  // Rows of up to inlineMaxBytes each: smaller batches keep a transaction's size modest.
  { name: 'inline_blobs', columns: ['id', 'data'], key: [['id', 'text']], batchRows: 100 },
];

/** The table's primary-key values of a row read from SQLite: the resume point after it. */
export function keyOf(spec: TableSpec, row: Record<string, unknown>): unknown[] {
  return spec.key.map(([column]) => row[column]);
}

/** One page of SQLite rows after `after` (a key, or null for the first page), in key order. */
export function sqlitePageSql(spec: TableSpec, after: unknown[] | null): string {
  const keys = spec.key.map(([column]) => column);
  const where = after ? ` WHERE (${keys.join(', ')}) > (${keys.map(() => '?').join(', ')})` : '';
  return `SELECT ${spec.columns.join(', ')} FROM ${spec.name}${where} ORDER BY ${keys.join(', ')} LIMIT ?`;
}

export function sqliteChecksumSql(spec: TableSpec): string {
  return `SELECT ${spec.sqliteChecksum ?? spec.columns.join(', ')} FROM ${spec.name} ORDER BY ${spec.key.map(([c]) => c).join(', ')}`;
}

export function pgChecksumSql(spec: TableSpec, schema: string): string {
  const order = spec.key.map(([column, type]) => (type === 'text' ? `${column} COLLATE "C"` : column)).join(', ');
  const from = spec.pgChecksumFrom ? spec.pgChecksumFrom(schema) : `${schema}.${spec.name}`;
  return `SELECT ${spec.pgChecksum ?? spec.columns.join(', ')} FROM ${from} ORDER BY ${order}`;
}

/**
 * A multi-row INSERT of `rows` (read from SQLite) into the PostgreSQL table. ON CONFLICT DO
 * NOTHING is the safety net of a resumed copy: the progress row commits with the batch, so a
 * batch is never copied twice, but a row already there must not fail the run.
 */
export function pgInsert(spec: TableSpec, schema: string, rows: Record<string, unknown>[]): { text: string; values: unknown[] } {
  const bytea = new Set(spec.bytea ?? []);
  const extra = spec.extra ?? [];
  const columns = [...spec.columns, ...extra.map((e) => e.column)];
  const values: unknown[] = [];
  const tuples: string[] = [];
  for (const row of rows) {
    const params = new Map<string, string>();
    for (const column of spec.columns) {
      const value = row[column];
      values.push(bytea.has(column) && typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
      params.set(column, `$${values.length}`);
    }
    for (const e of extra) {
      if (e.value) {
        values.push(e.value());
        params.set(e.column, `$${values.length}`);
      }
    }
    const param = (column: string) => params.get(column)!;
    tuples.push(`(${[...spec.columns.map(param), ...extra.map((e) => e.sql(param))].join(', ')})`);
  }
  return { text: `INSERT INTO ${schema}.${spec.name} (${columns.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING`, values };
}

/** PostgreSQL caps a statement at 65535 parameters. */
export function maxBatchRows(spec: TableSpec): number {
  const perRow = spec.columns.length + (spec.extra ?? []).filter((e) => e.value).length;
  return Math.floor(65_000 / perRow);
}

/**
 * A checksum of rows in order: every value with its type and length, so that no two different
 * row sequences hash alike. A string and a bytea of the same UTF-8 bytes are the same value (an
 * object key is TEXT in SQLite, bytea in PostgreSQL); integers are compared as numbers.
 */
export class RowChecksum {
  private readonly hash: Hash = createHash('sha256');
  rows = 0;

  add(row: unknown[]): void {
    this.rows++;
    const parts: Buffer[] = [];
    for (const value of row) {
      if (value === null || value === undefined) parts.push(Buffer.from('N'));
      else if (typeof value === 'number' || typeof value === 'bigint') parts.push(Buffer.from(`I${value};`));
      else if (typeof value === 'string' || Buffer.isBuffer(value)) {
        const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
        parts.push(Buffer.from(`S${bytes.length}:`), bytes);
      } else throw new Error(`cannot checksum a value of type ${typeof value}`);
    }
    parts.push(Buffer.from('\n'));
    for (const p of parts) this.hash.update(p);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
