// The rules of a key's history, applied inside a metadata transaction: what a write does to the
// version it makes noncurrent, what a delete leaves behind, and what their preconditions are.
// RegionStore (PUT, COPY, POST, DELETE) and the multipart store (Complete) share them, on either
// metadata engine.
import { S3Error } from '../errors.ts';
import type { MetaTx } from './meta/metadata.ts';
import { blobsOf, rowParams, toBucket, toObject, type ObjectRow, type VersionRow } from './object-rows.ts';
import type { ObjectRecord, VersioningStatus } from './types.ts';
import { newVersionId, selects, type VersionSelector } from './versions.ts';

export interface ObjectPrecondition {
  /** If-None-Match: * — the key must not exist */
  mustNotExist?: boolean;
  /** If-Match: the current ETag must equal this (quoted) */
  ifMatch?: string;
  /** If-None-Match with ETags: the current version, if any, must have none of them */
  ifNoneMatch?: string;
  /** the current version must be the one with this sequence number (the lifecycle worker expires what it examined) */
  currentSeq?: number;
}

/** What a change to a key's history released: blob ids, and bytes/objects per organisation. */
export interface Released {
  blobs: string[];
  usage: { org: string; bytes: number; objects: number }[];
}

export function etagMatches(condition: string, etag: string): boolean {
  const strip = (s: string) => s.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  const target = strip(etag);
  return condition.split(',').some((c) => c.trim() === '*' || strip(c) === target);
}

/** If-None-Match / If-Match against the current version. */
export function checkPrecondition(precondition: ObjectPrecondition, current: ObjectRow | undefined): void {
  if (precondition.mustNotExist && current) throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-None-Match' });
  if (precondition.ifNoneMatch !== undefined && current && etagMatches(precondition.ifNoneMatch, current.etag)) {
    throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-None-Match' });
  }
  if (precondition.currentSeq !== undefined && current?.seq !== precondition.currentSeq) throw new S3Error('PreconditionFailed');
  if (precondition.ifMatch !== undefined) {
    if (!current) throw new S3Error('NoSuchKey');
    if (!etagMatches(precondition.ifMatch, current.etag)) throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Match' });
  }
}

/** Does writing over `prev` replace it for good (rather than keep it as a noncurrent version)? */
export function replacesPrevious(status: VersioningStatus | undefined, prev: ObjectRow): boolean {
  return status === undefined || (status === 'Suspended' && prev.version_id === null);
}

/**
 * The bucket's versioning state, with the bucket locked against deletion for the rest of the
 * transaction (a write into a bucket being deleted waits, then finds it gone).
 */
export async function lockVersioning(tx: MetaTx, bucket: string): Promise<VersioningStatus | undefined> {
  const row = await tx.lockBucket(bucket, 'share');
  if (!row) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
  return !row.config || row.config === '{}' ? undefined : toBucket(row).config?.versioning;
}

/** The version row `selector` names among the key's noncurrent versions and markers. */
export async function findVersion(tx: MetaTx, bucket: string, key: string, selector: VersionSelector): Promise<VersionRow | undefined> {
  const row = selector.kind === 'null' ? await tx.nullVersion(bucket, key) : await tx.versionBySeq(bucket, key, selector.seq);
  return row && selects(row, selector) ? row : undefined;
}

/** Release what a removed row held: its blobs, and its bytes (markers hold neither). */
export function release(row: ObjectRow | VersionRow, released: Released): void {
  if ('delete_marker' in row && row.delete_marker) return;
  released.blobs.push(...blobsOf(row));
  released.usage.push({ org: row.owner_org, bytes: -row.size, objects: -1 });
}

export async function removeVersion(tx: MetaTx, row: VersionRow, released: Released): Promise<void> {
  await tx.deleteVersion(row.bucket, row.key, row.seq);
  release(row, released);
}

/** Keep a version that stops being current (its blobs stay referenced, its bytes counted). */
export function keepNoncurrent(tx: MetaTx, row: ObjectRow): Promise<void> {
  return tx.insertVersion({ ...row, delete_marker: 0 });
}

/** Remove the key's null version from the history, if it has one (a suspended write replaces it). */
export async function removeNullVersion(tx: MetaTx, bucket: string, key: string, released: Released): Promise<void> {
  const row = await tx.nullVersion(bucket, key);
  if (row) await removeVersion(tx, row, released);
}

/**
 * Write `record` as its key's newest version, with the version id the bucket's state gives it
 * (set on `record`). What stops being current is released (never versioned; the null version
 * while suspended) or kept as noncurrent. Usage of what was released is credited here; the new
 * record's is the caller's. Returns the blobs to unlink after the commit.
 */
export async function installCurrent(tx: MetaTx, record: ObjectRecord, prevRow: ObjectRow | undefined, status: VersioningStatus | undefined): Promise<string[]> {
  const seq = await tx.nextSeq(record.bucket, record.key, prevRow, status !== undefined);
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
      await keepNoncurrent(tx, prevRow);
    }
  }
  if (status === 'Suspended') await removeNullVersion(tx, record.bucket, record.key, released);
  await tx.putObject(rowParams(record, seq));
  return settle(tx, released);
}

/** Record released blobs as dead and credit released usage (inside the transaction). */
export async function settle(tx: MetaTx, released: Released): Promise<string[]> {
  for (const b of released.blobs) await tx.addDeadBlob(b);
  for (const u of released.usage) await tx.addUsage(u.org, u.bytes, u.objects);
  return released.blobs;
}

/** Add a delete marker, newest of its key. */
export function addMarker(tx: MetaTx, bucket: string, key: string, seq: number, versionId: string | null, ownerOrg: string): Promise<void> {
  const marker: ObjectRecord = { bucket, key, size: 0, etag: '', lastModified: Date.now(), ownerOrg, meta: { user: {} }, blob: null, manifest: null, sse: null, versionId };
  return tx.insertVersion({ ...rowParams(marker, seq), delete_marker: 1 });
}

/**
 * After the current version went away: the newest remaining version becomes current, unless it
 * is a delete marker (then the key stays hidden behind it).
 */
export async function promoteNewest(tx: MetaTx, bucket: string, key: string): Promise<void> {
  const row = await tx.newestVersion(bucket, key);
  if (!row || row.delete_marker) return;
  await tx.deleteVersion(bucket, key, row.seq);
  await tx.putObject(rowParams(toObject(row), row.seq));
}
