// On a shared filesystem a blob another node has just committed may be briefly invisible: a
// reader looks for a missing file once more after retryMissingMs, and only then fails.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../src/store/blobs.ts';
import { RegionStore } from '../../src/store/region-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-blob-retry-'));
const store = new RegionStore('r', dir, { fsync: false, inlineMaxBytes: 0 });
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function collect(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('a blob that appears late', () => {
  it('is read once it appears within the retry delay, by read() and pin()', async () => {
    store.blobs.retryMissingMs = 300;
    const late = BlobStore.newId();
    const reading = collect(store.blobs.read(late));
    setTimeout(() => writeFileSync(store.blobs.pathOf(late), 'arrived'), 100);
    expect(await reading).toBe('arrived');
    const later = BlobStore.newId();
    setTimeout(() => writeFileSync(store.blobs.pathOf(later), 'pinned'), 100);
    const pinned = await store.blobs.pin(later);
    expect(await collect(pinned.read(0, 5))).toBe('pinned');
    await pinned.close();
  });

  it('is not found when it never appears, or when retrying is off', async () => {
    store.blobs.retryMissingMs = 50;
    await expect(collect(store.blobs.read(BlobStore.newId()))).rejects.toMatchObject({ code: 'ENOENT' });
    store.blobs.retryMissingMs = 0;
    const late = BlobStore.newId();
    const reading = collect(store.blobs.read(late));
    // The file appears only after the read failed; the test waits for it so that the directory is
    // not removed under the write (afterAll) while the timer is pending.
    const written = new Promise<void>((resolve) => setTimeout(() => resolve(writeFileSync(store.blobs.pathOf(late), 'too late')), 100));
    await expect(reading).rejects.toMatchObject({ code: 'ENOENT' });
    await written;
  });
});
