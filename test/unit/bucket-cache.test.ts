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
  it('sees its own changes at once', async () => {
    expect(await store.getBucket('b')).toBeUndefined();
    expect(await store.createBucket('b', 'org', null)).toBe('created');
    expect((await store.getBucket('b'))?.ownerOrg).toBe('org');
    await store.setBucketPolicy('b', '{"Version":"2012-10-17","Statement":[]}');
    expect((await store.getBucket('b'))?.policy).toContain('2012-10-17');
    await store.setBucketTags('b', [['k', 'v']]);
    expect((await store.getBucket('b'))?.tags).toEqual([['k', 'v']]);
    await store.setBucketConfig('b', () => ({ publicAccessBlock: { blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: true, restrictPublicBuckets: true } }));
    expect((await store.getBucket('b'))?.config?.publicAccessBlock?.blockPublicPolicy).toBe(true);
    await store.deleteBucket('b');
    expect(await store.getBucket('b')).toBeUndefined();
  });

  it("sees another connection's commits", async () => {
    expect(await store.getBucket('shared')).toBeUndefined();
    await other.createBucket('shared', 'org2', null);
    expect((await store.getBucket('shared'))?.ownerOrg).toBe('org2');
    await other.setBucketPolicy('shared', 'changed elsewhere');
    expect((await store.getBucket('shared'))?.policy).toBe('changed elsewhere');
    await other.deleteBucket('shared');
    expect(await store.getBucket('shared')).toBeUndefined();
  });
});
