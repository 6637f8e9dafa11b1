// Object rows as SQLite stores them (objects and object_versions share the columns), and their
// conversion to the records the rest of the program sees.
import type { ObjectMeta, ObjectRecord, PartRef } from './types.ts';

export interface ObjectRow {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  last_modified: number;
  owner_org: string;
  meta: string;
  blob: string | null;
  manifest: string | null;
  sse: string | null;
  version_id: string | null;
  seq: number;
}

/** A row of object_versions: an object row that may be a delete marker. */
export interface VersionRow extends ObjectRow {
  delete_marker: number;
}

export function toObject(row: ObjectRow): ObjectRecord {
  return {
    bucket: row.bucket,
    key: row.key,
    size: row.size,
    etag: row.etag,
    lastModified: row.last_modified,
    ownerOrg: row.owner_org,
    meta: JSON.parse(row.meta) as ObjectMeta,
    blob: row.blob,
    manifest: row.manifest ? (JSON.parse(row.manifest) as PartRef[]) : null,
    sse: row.sse,
    versionId: row.version_id,
  };
}

/** The named parameters of an INSERT of `record` with sequence number `seq`. */
export function rowParams(record: ObjectRecord, seq: number): ObjectRow {
  return {
    bucket: record.bucket,
    key: record.key,
    size: record.size,
    etag: record.etag,
    last_modified: record.lastModified,
    owner_org: record.ownerOrg,
    meta: JSON.stringify(record.meta),
    blob: record.blob,
    manifest: record.manifest ? JSON.stringify(record.manifest) : null,
    sse: record.sse,
    version_id: record.versionId ?? null,
    seq,
  };
}

export function blobsOf(row: { blob: string | null; manifest: string | null }): string[] {
  if (row.blob) return [row.blob];
  if (row.manifest) return (JSON.parse(row.manifest) as PartRef[]).map((p) => p.blob);
  return [];
}
