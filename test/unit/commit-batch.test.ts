// PutObject commits that become ready in the same turn of the event loop share one SQLite
// transaction (RegionStore.commitObjectSoon). Each must still succeed or fail on its own, in
// order, as if committed one by one: a failed one leaves no trace, the others are all there.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { RegionStore } from '../../src/store/region-store.ts';
import { arrayFromAsync } from '../helpers/async.ts';
import type { ObjectRecord } from '../../src/store/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-commit-batch-'));
const store = new RegionStore('r', dir, { fsync: false, inlineMaxBytes: 1024 });
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function record(key: string, body: string, bucket = 'b'): Promise<ObjectRecord> {
  const blob = await store.blobs.write(Readable.from([Buffer.from(body)]), [], { declaredSize: body.length });
  return { bucket, key, size: body.length, etag: `etag-${body}`, lastModified: 0, ownerOrg: 'org', meta: { user: {} }, blob: blob.id, manifest: null, sse: null };
}

async function text(key: string): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of store.blobs.read((await store.getObject('b', key))!.blob!)) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString();
}

describe('batched object commits', () => {
  it('commits each of a batch on its own: later ones see earlier ones, a failure undoes only itself', async () => {
    await store.createBucket('b', 'org', null);
    const first = await record('k', 'first');
    const second = await record('k', 'second'); // If-None-Match: * after `first` in the same batch
    const third = await record('other', 'third');
    const fourth = await record('k', 'fourth'); // If-Match on the etag `first` gets
    const fifth = await record('x', 'fifth', 'no-such-bucket');
    const settled = await Promise.allSettled([
      store.commitObjectSoon(first, { mustNotExist: true }),
      store.commitObjectSoon(second, { mustNotExist: true }),
      store.commitObjectSoon(third),
      store.commitObjectSoon(fourth, { ifMatch: '"etag-first"' }),
      store.commitObjectSoon(fifth),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected']);
    expect((settled[1] as PromiseRejectedResult).reason.code).toBe('PreconditionFailed');
    expect((settled[4] as PromiseRejectedResult).reason.code).toBe('NoSuchBucket');
    // `fourth` replaced `first` within the batch, and says so.
    expect((settled[3] as PromiseFulfilledResult<{ previous?: ObjectRecord }>).value.previous?.etag).toBe('etag-first');
    expect(await text('k')).toBe('fourth');
    expect(await text('other')).toBe('third');
    expect(await store.getObject('no-such-bucket', 'x')).toBeUndefined();
    // Usage counts exactly the objects that exist: `fourth` (replacing `first`) and `third`.
    expect(await store.usageOf('org')).toEqual({ bytes: 'fourth'.length + 'third'.length, objects: 2 });
    // The failed commits' inline bytes were not written with the batch (their callers remove
    // the in-memory copies), and `first`, released by `fourth`, is reaped after the commit.
    await store.blobs.remove(second.blob!);
    await store.blobs.remove(fifth.blob!);
    await new Promise((r) => setTimeout(r, 50));
    expect(new Set(await arrayFromAsync(store.blobs.listAll()))).toEqual(new Set([(await store.getObject('b', 'k'))!.blob, (await store.getObject('b', 'other'))!.blob]));
  });
});
