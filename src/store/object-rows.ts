// Rows as the metadata backends return them (objects and object_versions share the columns;
// both backends give the same shapes), and their conversion to the records the rest of the
// program sees.
import type { Acl, BucketConfig, BucketRecord, ObjectMeta, ObjectRecord, PartRecord, PartRef, UploadRecord } from './types.ts';

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

export interface ListRow {
  key: string;
  size: number;
  etag: string;
  last_modified: number;
  owner_org: string;
  storage_class: string | null;
}

export interface BucketRow {
  name: string;
  owner_org: string;
  created_at: number;
  acl: string | null;
  policy: string | null;
  tags: string | null;
  config: string;
}

export interface UploadRow {
  upload_id: string;
  bucket: string;
  key: string;
  initiated: number;
  owner_org: string;
  initiator: string;
  meta: string;
  sse: string | null;
}

export interface PartRow {
  upload_id: string;
  part_number: number;
  size: number;
  stored_size: number;
  etag: string;
  last_modified: number;
  blob: string;
  checksum: string | null;
  sse: string | null;
}

export function toBucket(row: BucketRow): BucketRecord {
  return {
    name: row.name,
    ownerOrg: row.owner_org,
    createdAt: row.created_at,
    acl: row.acl ? (JSON.parse(row.acl) as Acl) : null,
    policy: row.policy,
    tags: row.tags ? (JSON.parse(row.tags) as [string, string][]) : null,
    config: !row.config || row.config === '{}' ? {} : (JSON.parse(row.config) as BucketConfig),
  };
}

export function toUpload(row: UploadRow): UploadRecord {
  return {
    uploadId: row.upload_id,
    bucket: row.bucket,
    key: row.key,
    initiated: row.initiated,
    ownerOrg: row.owner_org,
    initiator: row.initiator,
    meta: JSON.parse(row.meta) as UploadRecord['meta'],
    sse: row.sse,
  };
}

export function toPart(row: PartRow): PartRecord {
  return {
    uploadId: row.upload_id,
    partNumber: row.part_number,
    size: row.size,
    storedSize: row.stored_size,
    etag: row.etag,
    lastModified: row.last_modified,
    blob: row.blob,
    checksum: row.checksum,
    sse: row.sse,
  };
}
