// Listing logic of the region store, checked against a brute-force model on awkward keys, and
// the query plan that keeps a page from scanning the bucket.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegionStore, prefixSuccessor, type ListQuery } from '../../src/store/region-store.ts';
import type { SqliteRegionMetadata } from '../../src/store/meta/sqlite.ts';

let dir: string;
let store: RegionStore;

const keys = [
  'a', 'a b', 'a+b', 'a%b', 'a/', 'a//', 'a/b', 'a/b/c', 'a/c', 'a0', 'ab', 'b/x', 'b/y/z', 'c', 'é', 'é/x', 'z/🙂', 'z/🙂/1', 'zz',
  '\u{ffff}', '\u{10000}', 'photos/2006/January/sample.jpg', 'photos/2006/February/sample2.jpg', 'photos/2006/', 'x#y', 'x?y', 'x&y',
];

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** What S3 returns, computed the slow and obvious way. */
function model(q: ListQuery): { contents: string[]; prefixes: string[]; truncated: boolean } {
  const sorted = [...keys].sort(utf8Compare).filter((k) => k.startsWith(q.prefix));
  const entries: string[] = [];
  for (const key of sorted) {
    let entry = key;
    if (q.delimiter) {
      const at = key.indexOf(q.delimiter, q.prefix.length);
      if (at >= 0) entry = 'P:' + key.slice(0, at + q.delimiter.length);
    }
    const compareTo = entry.startsWith('P:') ? entry.slice(2) : entry;
    if (utf8Compare(compareTo, q.after) <= 0) continue;
    if (entries[entries.length - 1] === entry) continue;
    entries.push(entry);
  }
  const page = entries.slice(0, q.maxKeys);
  return {
    contents: page.filter((e) => !e.startsWith('P:')),
    prefixes: page.filter((e) => e.startsWith('P:')).map((e) => e.slice(2)),
    // max-keys=0 is an empty page that is never truncated (AWS), so paginating clients stop.
    truncated: q.maxKeys > 0 && entries.length > q.maxKeys,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-listing-'));
  store = new RegionStore('test', dir, { fsync: false, inlineMaxBytes: 0 });
  await store.createBucket('b', 'org', null);
  for (const key of keys) {
    await store.commitObject({ bucket: 'b', key, size: 1, etag: 'e', lastModified: 0, ownerOrg: 'org', meta: { user: {} }, blob: null, manifest: [], sse: null });
  }
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('prefixSuccessor', () => {
  it('is the least string above every string with the prefix', () => {
    expect(prefixSuccessor('a/')).toBe('a0');
    expect(prefixSuccessor('')).toBeUndefined();
    expect(utf8Compare(prefixSuccessor('z/🙂')!, 'z/🙂/1')).toBeGreaterThan(0);
    expect(prefixSuccessor('a\u{d7ff}')).toBe('a\u{e000}');
  });
});

describe('listObjects matches the model', () => {
  const prefixes = ['', 'a', 'a/', 'z', 'photos/2006/', 'é', 'nothing'];
  const delimiters = ['', '/', 'b', '🙂'];
  const markers = ['', 'a', 'a/', 'a/b', 'b', 'é', 'zz', '\u{ffff}'];
  for (const prefix of prefixes) {
    for (const delimiter of delimiters) {
      it(`prefix=${JSON.stringify(prefix)} delimiter=${JSON.stringify(delimiter)}`, async () => {
        for (const after of markers) {
          for (const maxKeys of [0, 1, 2, 3, 1000]) {
            const q = { prefix, delimiter, after, maxKeys };
            const got = await store.listObjects('b', q);
            const want = model(q);
            expect({ contents: got.contents.map((c) => c.key), prefixes: got.commonPrefixes, truncated: got.isTruncated }, JSON.stringify(q)).toEqual(want);
          }
        }
      });
    }
  }

  it('pages through everything with the returned marker, never repeating an entry', async () => {
    for (const delimiter of ['', '/']) {
      for (const maxKeys of [1, 2, 5]) {
        const seen: string[] = [];
        let after = '';
        for (;;) {
          const page = await store.listObjects('b', { prefix: '', delimiter, after, maxKeys });
          const entries = [...page.contents.map((c) => c.key), ...page.commonPrefixes].sort(utf8Compare);
          seen.push(...entries);
          if (!page.isTruncated) break;
          after = page.nextMarker!;
        }
        expect(seen).toEqual([...new Set(seen)]);
        const whole = model({ prefix: '', delimiter, after: '', maxKeys: 10_000 });
        expect(seen.sort(utf8Compare)).toEqual([...whole.contents, ...whole.prefixes].sort(utf8Compare));
      }
    }
  });
});

describe('query plan', () => {
  it('seeks the (bucket, key) primary key instead of scanning', () => {
    const plan = (store.meta as SqliteRegionMetadata).db
      .prepare('EXPLAIN QUERY PLAN SELECT key FROM objects WHERE bucket = ? AND key > ? AND key >= ? AND key < ? ORDER BY key LIMIT ?')
      .all('b', '', '', '\u{10ffff}', 10) as { detail: string }[];
    const details = plan.map((p) => p.detail).join(' | ');
    expect(details).toMatch(/SEARCH objects USING PRIMARY KEY \(bucket=\? AND key>\? AND key<\?\)/);
    expect(details).not.toMatch(/SCAN|TEMP B-TREE/);
  });
});
