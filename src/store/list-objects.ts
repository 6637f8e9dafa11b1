// One page of ListObjects (V1 and V2): current objects in UTF-8 byte order from a position,
// keys that contain the delimiter after the prefix grouped into common prefixes, each common
// prefix skipped with one re-seek, on either metadata engine.
import type { MetaReads } from './meta/metadata.ts';
import { compareUtf8, maxUtf8, prefixSuccessor } from './key-order.ts';

export interface ListEntry {
  key: string;
  size: number;
  etag: string;
  lastModified: number;
  ownerOrg: string;
  storageClass?: string;
}

export interface ListResult {
  contents: ListEntry[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** last key or common prefix returned: the marker for the next page */
  nextMarker?: string;
}

export interface ListQuery {
  prefix: string;
  delimiter: string;
  /** exclusive lower bound */
  after: string;
  maxKeys: number;
}

/**
 * One page of keys in UTF-8 byte order, grouping keys that contain `delimiter` after
 * `prefix` into common prefixes. Each common prefix costs one index seek past all of its
 * keys, so a page never scans more rows than it returns (plus one per prefix).
 */
export async function listObjectPage(read: MetaReads, bucket: string, q: ListQuery): Promise<ListResult> {
  const result: ListResult = { contents: [], commonPrefixes: [], isTruncated: false };
  if (q.maxKeys <= 0) {
    // max-keys=0: an empty page, not truncated (AWS), so that paginating clients stop.
    return result;
  }
  const upper = prefixSuccessor(q.prefix) ?? '\u{10ffff}\u{10ffff}';
  let after = q.after;
  let lowerBound = q.prefix;
  let count = 0;
  outer: while (true) {
    const batch = await read.listPage(bucket, after, lowerBound, upper, Math.min(q.maxKeys - count + 1, 1001));
    if (batch.length === 0) break;
    for (const row of batch) {
      if (q.delimiter) {
        const at = row.key.indexOf(q.delimiter, q.prefix.length);
        if (at >= 0) {
          const commonPrefix = row.key.slice(0, at + q.delimiter.length);
          const skipTo = prefixSuccessor(commonPrefix);
          if (compareUtf8(commonPrefix, q.after) <= 0) {
            // The marker lies inside this prefix: it was returned on an earlier page.
            if (skipTo === undefined) break outer;
            after = q.after;
            lowerBound = maxUtf8(skipTo, q.prefix);
            continue outer;
          }
          if (count === q.maxKeys) {
            result.isTruncated = true;
            break outer;
          }
          result.commonPrefixes.push(commonPrefix);
          result.nextMarker = commonPrefix;
          count++;
          if (skipTo === undefined) break outer;
          // Re-seek past every key under this common prefix.
          after = maxUtf8(q.after, commonPrefix);
          lowerBound = maxUtf8(skipTo, q.prefix);
          continue outer;
        }
      }
      if (count === q.maxKeys) {
        result.isTruncated = true;
        break outer;
      }
      result.contents.push({ key: row.key, size: row.size, etag: row.etag, lastModified: row.last_modified, ownerOrg: row.owner_org, storageClass: row.storage_class ?? undefined });
      result.nextMarker = row.key;
      count++;
      after = row.key;
    }
    if (batch.length < Math.min(q.maxKeys - count + 1, 1001) && count < q.maxKeys) break;
  }
  return result;
}
