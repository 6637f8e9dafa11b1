// One page of ListObjectVersions: every version and delete marker in key order (UTF-8 bytes),
// newest first within a key, merged from objects (each key's current version) and
// object_versions (the rest). Both are read in bounded batches from a position; a common prefix
// costs one re-seek past all of its rows, so a page reads what it returns plus one batch per
// source, never a prefix's whole history.
import type { MetaReads } from './meta/metadata.ts';
import { compareUtf8, maxUtf8, prefixSuccessor } from './key-order.ts';
import type { ObjectRow, VersionRow } from './object-rows.ts';
import type { VersionEntry } from './types.ts';
import { toEntry } from './versions.ts';

export interface VersionListQuery {
  prefix: string;
  delimiter: string;
  /** start after this key (all of its versions, unless `afterSeq` says where within it) */
  keyMarker: string;
  /** with keyMarker: start after this version of it (the sequence number of version-id-marker) */
  afterSeq?: number;
  maxKeys: number;
}

export interface VersionListResult {
  entries: VersionEntry[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** where the next page starts: the last key (or common prefix) and version returned */
  nextKeyMarker?: string;
  nextVersionId?: string;
}

const BATCH = 256;
const TOP = '\u{10ffff}\u{10ffff}';

/** Rows from one table at and after a position, refilled in batches. */
class Cursor<R extends ObjectRow> {
  private rows: R[] = [];
  private index = 0;
  private done = false;
  /** key bounds: [lower, upper); and the position: after (key, seq), seq undefined = after the whole key */
  lower = '';
  upper = TOP;
  afterKey = '';
  afterSeq: number | undefined;

  constructor(
    private readonly withinKey: (key: string, seq: number, limit: number) => Promise<R[]>,
    private readonly fromKey: (after: string, lower: string, upper: string, limit: number) => Promise<R[]>,
  ) {}

  /** Move to (after `key`, `seq`) within [lower, upper), dropping what was buffered. */
  seek(afterKey: string, afterSeq: number | undefined, lower: string): void {
    this.afterKey = afterKey;
    this.afterSeq = afterSeq;
    this.lower = lower;
    this.rows = [];
    this.index = 0;
    this.done = false;
  }

  async peek(): Promise<R | undefined> {
    if (this.index < this.rows.length) return this.rows[this.index];
    if (this.done) return undefined;
    this.rows = [];
    this.index = 0;
    if (this.afterSeq !== undefined) {
      if (compareUtf8(this.afterKey, this.lower) >= 0 && compareUtf8(this.afterKey, this.upper) < 0) this.rows = await this.withinKey(this.afterKey, this.afterSeq, BATCH);
      if (this.rows.length === 0) this.afterSeq = undefined;
    }
    if (this.rows.length === 0) this.rows = await this.fromKey(this.afterKey, this.lower, this.upper, BATCH);
    if (this.rows.length === 0) {
      this.done = true;
      return undefined;
    }
    return this.rows[0];
  }

  take(): R {
    const row = this.rows[this.index++];
    this.afterKey = row.key;
    this.afterSeq = row.seq;
    return row;
  }
}

/** Does row `a` come before row `b` (key ascending, then newest first)? */
function before(a: ObjectRow, b: ObjectRow): boolean {
  const c = compareUtf8(a.key, b.key);
  return c < 0 || (c === 0 && a.seq > b.seq);
}

export async function listVersionPage(read: MetaReads, bucket: string, q: VersionListQuery): Promise<VersionListResult> {
  const result: VersionListResult = { entries: [], commonPrefixes: [], isTruncated: false };
  if (q.maxKeys <= 0) return result;
  const current = new Cursor<ObjectRow>(
    (key, seq, limit) => read.currentWithin(bucket, key, seq, limit),
    (after, lower, upper, limit) => read.currentFrom(bucket, after, lower, upper, limit),
  );
  const history = new Cursor<VersionRow>(
    (key, seq, limit) => read.historyWithin(bucket, key, seq, limit),
    (after, lower, upper, limit) => read.historyFrom(bucket, after, lower, upper, limit),
  );
  const upper = prefixSuccessor(q.prefix) ?? TOP;
  for (const c of [current, history]) {
    c.upper = upper;
    c.seek(q.keyMarker, q.afterSeq, q.prefix);
  }
  // The key whose rows are being read, and whether its newest row has been seen (it is the
  // latest unless the key has a current object, which always comes first).
  let keyInProgress: string | undefined = q.afterSeq !== undefined ? q.keyMarker : undefined;
  let count = 0;
  while (true) {
    const a = await current.peek();
    const b = await history.peek();
    if (!a && !b) break;
    const fromCurrent = a !== undefined && (b === undefined || before(a, b));
    const row = (fromCurrent ? a : b)!;
    if (q.delimiter) {
      const at = row.key.indexOf(q.delimiter, q.prefix.length);
      if (at >= 0) {
        const commonPrefix = row.key.slice(0, at + q.delimiter.length);
        const skipTo = prefixSuccessor(commonPrefix);
        if (compareUtf8(commonPrefix, q.keyMarker) > 0) {
          if (count === q.maxKeys) {
            result.isTruncated = true;
            break;
          }
          result.commonPrefixes.push(commonPrefix);
          result.nextKeyMarker = commonPrefix;
          result.nextVersionId = undefined;
          count++;
        }
        if (skipTo === undefined) break;
        // Re-seek both sources past every row under this common prefix.
        for (const c of [current, history]) c.seek(commonPrefix, undefined, maxUtf8(skipTo, q.prefix));
        keyInProgress = undefined;
        continue;
      }
    }
    if (count === q.maxKeys) {
      result.isTruncated = true;
      break;
    }
    (fromCurrent ? current : history).take();
    const isLatest = fromCurrent || row.key !== keyInProgress;
    keyInProgress = row.key;
    const entry = toEntry(row, isLatest);
    result.entries.push(entry);
    result.nextKeyMarker = row.key;
    result.nextVersionId = entry.record.versionId ?? 'null';
    count++;
  }
  return result;
}
