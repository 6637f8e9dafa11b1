// Bucket records are cached per region store: this process's own changes and commits made by
// another connection to the same database (another process on the data root) must both show.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RegionStore } from '../../src/store/region-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-bucket-cache-'));
const store = new RegionStore('r', dir, { fsync: false, inlineMaxBytes: 0 });
const other = new RegionStore('r', dir, { fsync: false, inlineMaxBytes: 0 });
afterAll(async () => {
  await store.close();
  await other.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('bucket cache', () => {
  it('sees its own changes at once', () => {
    expect(store.getBucket('b')).toBeUndefined();
    expect(store.createBucket('b', 'org', null)).toBe('created');
    expect(store.getBucket('b')?.ownerOrg).toBe('org');
    store.setBucketPolicy('b', '{"Version":"2012-10-17","Statement":[]}');
    expect(store.getBucket('b')?.policy).toContain('2012-10-17');
    store.setBucketTags('b', [['k', 'v']]);
    expect(store.getBucket('b')?.tags).toEqual([['k', 'v']]);
    store.setBucketConfig('b', () => ({ publicAccessBlock: { blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: true, restrictPublicBuckets: true } }));
    expect(store.getBucket('b')?.config?.publicAccessBlock?.blockPublicPolicy).toBe(true);
    store.deleteBucket('b');
    expect(store.getBucket('b')).toBeUndefined();
  });

  it("sees another connection's commits", () => {
    expect(store.getBucket('shared')).toBeUndefined();
    other.createBucket('shared', 'org2', null);
    expect(store.getBucket('shared')?.ownerOrg).toBe('org2');
    other.setBucketPolicy('shared', 'changed elsewhere');
    expect(store.getBucket('shared')?.policy).toBe('changed elsewhere');
    other.deleteBucket('shared');
    expect(store.getBucket('shared')).toBeUndefined();
  });
});
