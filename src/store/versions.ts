// Object versions: version ids, the sequence that orders a key's versions, and the
// object_versions table (noncurrent versions and delete markers; see the migration in db.ts).
// Everything here runs inside a RegionStore transaction; nothing commits on its own.
import { randomBytes } from 'node:crypto';
import { S3Error } from '../errors.ts';
import type { Db } from './db.ts';
import { blobsOf, rowParams, toObject, type ObjectRow, type VersionRow } from './object-rows.ts';
import type { ObjectRecord, VersionEntry } from './types.ts';

/** Width of the sequence number at the front of a version id (base 36; 2^53 needs 11 digits). */
const SEQ_DIGITS = 11;
const VERSION_ID = /^[0-9a-z]{11}[A-Za-z0-9_-]{21}$/;

/**
 * A version id: the sequence number (so a lookup by id is a primary-key seek) and 21 random
 * URL-safe characters (so ids cannot be guessed from one another). 32 characters, opaque to
 * clients, unique per key because sequence numbers are.
 */
export function newVersionId(seq: number): string {
  return seq.toString(36).padStart(SEQ_DIGITS, '0') + randomBytes(16).toString('base64url').slice(0, 21);
}

/** What a versionId parameter names: the null version, or a sequence number (with the id to match). */
export type VersionSelector = { kind: 'null' } | { kind: 'id'; seq: number; id: string };

/** Parse a versionId parameter; InvalidArgument for one this server cannot have issued. */
export function parseVersionId(id: string): VersionSelector {
  if (id === 'null') return { kind: 'null' };
  if (!VERSION_ID.test(id)) throw new S3Error('InvalidArgument', 'Invalid version id specified', { ArgumentName: 'versionId', ArgumentValue: id });
  return { kind: 'id', seq: parseInt(id.slice(0, SEQ_DIGITS), 36), id };
}

/**
 * Sequence numbers: microseconds since the epoch, strictly increasing within the process and
 * starting above everything stored, so a new version is always the newest of its key.
 */
export class VersionClock {
  private last: number;
  constructor(highestStored: number) {
    this.last = highestStored;
  }
  next(): number {
    this.last = Math.max(Date.now() * 1000, this.last + 1);
    return this.last;
  }
}

/** Is `row` the version `v` names? */
export function selects(row: ObjectRow, v: VersionSelector): boolean {
  return v.kind === 'null' ? row.version_id === null : row.seq === v.seq && row.version_id === v.id;
}

export function toEntry(row: ObjectRow | VersionRow, isLatest: boolean): VersionEntry {
  return { record: toObject(row), isDeleteMarker: 'delete_marker' in row && row.delete_marker === 1, isLatest, seq: row.seq };
}

/** What a change to a key's history released: blob ids, and bytes/objects per organisation. */
export interface Released {
  blobs: string[];
  usage: { org: string; bytes: number; objects: number }[];
}

export class VersionTable {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO object_versions (bucket, key, seq, version_id, delete_marker, size, etag, last_modified, owner_org, meta, blob, manifest, sse)
         VALUES (@bucket, @key, @seq, @version_id, @delete_marker, @size, @etag, @last_modified, @owner_org, @meta, @blob, @manifest, @sse)`,
      ),
      newest: db.prepare<[string, string], VersionRow>('SELECT * FROM object_versions WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1'),
      bySeq: db.prepare<[string, string, number], VersionRow>('SELECT * FROM object_versions WHERE bucket = ? AND key = ? AND seq = ?'),
      nullOf: db.prepare<[string, string], VersionRow>('SELECT * FROM object_versions WHERE bucket = ? AND key = ? AND version_id IS NULL'),
      remove: db.prepare('DELETE FROM object_versions WHERE bucket = ? AND key = ? AND seq = ?'),
      updateMeta: db.prepare('UPDATE object_versions SET meta = ? WHERE bucket = ? AND key = ? AND seq = ?'),
      anyIn: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM object_versions WHERE bucket = ? LIMIT 1'),
      highestSeq: db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM object_versions'),
    };
  }

  highestSeq(): number {
    return this.stmts.highestSeq.get()?.seq ?? 0;
  }

  bucketHasVersions(bucket: string): boolean {
    return this.stmts.anyIn.get(bucket) !== undefined;
  }

  /** The key's newest row here (a delete marker when the key has no current object). */
  newest(bucket: string, key: string): VersionRow | undefined {
    return this.stmts.newest.get(bucket, key);
  }

  /** The row `selector` names, if it is here. */
  find(bucket: string, key: string, selector: VersionSelector): VersionRow | undefined {
    const row = selector.kind === 'null' ? this.stmts.nullOf.get(bucket, key) : this.stmts.bySeq.get(bucket, key, selector.seq);
    return row && selects(row, selector) ? row : undefined;
  }

  /** Keep a version that stops being current (its blobs stay referenced, its bytes counted). */
  keepNoncurrent(row: ObjectRow): void {
    this.stmts.insert.run({ ...row, delete_marker: 0 });
  }

  /** Add a delete marker, newest of its key. */
  addMarker(bucket: string, key: string, seq: number, versionId: string | null, ownerOrg: string, now: number): void {
    const marker: ObjectRecord = { bucket, key, size: 0, etag: '', lastModified: now, ownerOrg, meta: { user: {} }, blob: null, manifest: null, sse: null, versionId };
    this.stmts.insert.run({ ...rowParams(marker, seq), delete_marker: 1 });
  }

  /** Remove a row for good: its blobs are released, its bytes credited (markers have none). */
  remove(row: VersionRow, released: Released): void {
    this.stmts.remove.run(row.bucket, row.key, row.seq);
    if (row.delete_marker) return;
    released.blobs.push(...blobsOf(row));
    released.usage.push({ org: row.owner_org, bytes: -row.size, objects: -1 });
  }

  /** Remove the key's null version from here, if it has one (a suspended write replaces it). */
  removeNull(bucket: string, key: string, released: Released): void {
    const row = this.stmts.nullOf.get(bucket, key);
    if (row) this.remove(row, released);
  }

  /**
   * After the current version went away: the newest remaining version becomes current, unless it
   * is a delete marker (then the key stays hidden behind it). Returns the row to make current.
   */
  takeNewestIfVersion(bucket: string, key: string): VersionRow | undefined {
    const row = this.stmts.newest.get(bucket, key);
    if (!row || row.delete_marker) return undefined;
    this.stmts.remove.run(bucket, key, row.seq);
    return row;
  }

  updateMeta(row: VersionRow, meta: string): void {
    this.stmts.updateMeta.run(meta, row.bucket, row.key, row.seq);
  }
}
