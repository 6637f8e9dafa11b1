// Object versions: version ids and the sequence that orders a key's versions (the rules of a
// key's history are in object-history.ts; the tables in db.ts and meta/postgres-schema.ts).
import { randomBytes } from 'node:crypto';
import { S3Error } from '../errors.ts';
import { toObject, type ObjectRow, type VersionRow } from './object-rows.ts';
import type { VersionEntry } from './types.ts';

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
