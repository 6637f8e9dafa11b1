// The blob store's two homes for object bytes: small bodies inline in the region database, the
// rest as files. Bytes must come back exactly (whole, ranges, pinned), failures must leave
// nothing behind, and start-up recovery must see both kinds.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkSealer } from '../../src/crypto/sse-c-seal.mjs';
import { createDecryptStream, encryptedSize, fullStoredRange } from '../../src/crypto/sse-c.ts';
import { BlobStore, isInlineBlob } from '../../src/store/blobs.ts';
import { retireIngestWorkers } from '../../src/store/ingest.ts';
import { PooledFileReader } from '../../src/store/pooled-reader.ts';
import { RegionStore } from '../../src/store/region-store.ts';
import { arrayFromAsync } from '../helpers/async.ts';
import type { SqliteRegionMetadata } from '../../src/store/meta/sqlite.ts';

let dir: string;
let store: RegionStore;
const inlineMax = 64 * 1024;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-blobs-'));
  store = new RegionStore('test', dir, { fsync: true, inlineMaxBytes: inlineMax });
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A source that delivers `data` in uneven chunks, as a socket would. */
function chunked(data: Buffer): Readable {
  const sizes = [1, 7, 4093, 65_536, 100_003];
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; at += sizes[i % sizes.length], i++) chunks.push(data.subarray(at, at + sizes[i % sizes.length]));
  return Readable.from(chunks, { objectMode: false });
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

function files(sub: 'blobs' | 'tmp'): string[] {
  const root = join(dir, sub);
  if (sub === 'tmp') return readdirSync(root);
  return readdirSync(root).flatMap((shard) => readdirSync(join(root, shard)));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('BlobStore', () => {
  it('keeps a body declared at most inlineMaxBytes long in the database, not in a file', async () => {
    const data = randomBytes(inlineMax);
    const before = files('blobs').length;
    const written = await store.blobs.write(chunked(data), [], { declaredSize: data.length, md5: true });
    expect(isInlineBlob(written.id)).toBe(true);
    expect(written.md5!.toString('hex')).toBe(createHash('md5').update(data).digest('hex'));
    expect(written.size).toBe(data.length);
    expect(files('blobs').length).toBe(before);
    expect(sha(await collect(store.blobs.read(written.id)))).toBe(sha(data));
    expect(await collect(store.blobs.read(written.id, 100, 199))).toEqual(data.subarray(100, 200));
    const pinned = await store.blobs.pin(written.id);
    await store.blobs.remove(written.id);
    // A pinned blob stays readable after it is released; a new read fails.
    expect(pinned.size).toBe(data.length);
    expect(await collect(pinned.read(0, 9))).toEqual(data.subarray(0, 10));
    await expect(collect(store.blobs.read(written.id))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each([0, 1, 511, 4096, 4097, inlineMax + 1, 1024 * 1024 + 3, 3 * 1024 * 1024])('stores %i bytes above the inline limit (or of unknown length) as an exact file', async (size) => {
    const data = randomBytes(size);
    // Unknown length (undefined) always goes to a file, whatever the size.
    const declared = size > inlineMax ? size : undefined;
    const written = await store.blobs.write(chunked(data), [], { declaredSize: declared, md5: true, sha256: true });
    expect(isInlineBlob(written.id)).toBe(false);
    expect(written.size).toBe(size);
    // Hashed where written (the writer thread), over exactly the bytes stored.
    expect(written.md5!.toString('hex')).toBe(createHash('md5').update(data).digest('hex'));
    expect(written.sha256!.toString('hex')).toBe(sha(data));
    const onDisk = readFileSync(store.blobs.pathOf(written.id));
    expect(onDisk.length).toBe(size);
    expect(sha(onDisk)).toBe(sha(data));
    // Compared by digest: a deep equality of megabytes of bytes takes vitest seconds.
    if (size > 10) expect(sha(await collect(store.blobs.read(written.id, 5, size - 3)))).toBe(sha(data.subarray(5, size - 2)));
    const pinned = await store.blobs.pin(written.id);
    expect(pinned.size).toBe(size);
    await pinned.close();
    await store.blobs.remove(written.id);
    expect(() => readFileSync(store.blobs.pathOf(written.id))).toThrow();
  });

  it('reuses released read buffers without mixing up bytes, across concurrent readers', async () => {
    const a = randomBytes(5 * 1024 * 1024 + 17);
    const b = randomBytes(3 * 1024 * 1024 + 5);
    const [wa, wb] = await Promise.all([store.blobs.write(chunked(a), [], { declaredSize: a.length }), store.blobs.write(chunked(b), [], { declaredSize: b.length })]);
    // Hash each chunk as it is emitted ('data' hands out the very buffers the reader pushed), then
    // release it at once, as the HTTP reply does when its socket write completes.
    const seen = new Set<ArrayBufferLike>();
    let reused = 0;
    const digestOf = (id: string, start: number, end: number) =>
      new Promise<string>((resolve, reject) => {
        const reader = store.blobs.read(id, start, end) as PooledFileReader;
        expect(reader).toBeInstanceOf(PooledFileReader);
        reader.lendBuffers();
        const hash = createHash('sha256');
        reader.on('data', (chunk: Buffer) => {
          if (seen.has(chunk.buffer)) reused++;
          seen.add(chunk.buffer);
          hash.update(chunk);
          reader.release(chunk);
        });
        reader.on('end', () => resolve(hash.digest('hex')));
        reader.on('error', reject);
      });
    for (let round = 0; round < 3; round++) {
      const [da, db, dr] = await Promise.all([digestOf(wa.id, 0, a.length - 1), digestOf(wb.id, 0, b.length - 1), digestOf(wa.id, 1_000_000, 3_500_000)]);
      expect(da).toBe(sha(a));
      expect(db).toBe(sha(b));
      expect(dr).toBe(sha(a.subarray(1_000_000, 3_500_001)));
    }
    // Released buffers were read into again: the pool was in use, not just allocation.
    expect(reused).toBeGreaterThan(0);
  });

  it('remembers no chunk for a consumer that does not release them (multipart concatenation, SSE-C, copies)', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 3);
    const written = await store.blobs.write(chunked(data), [], { declaredSize: data.length });
    const reader = store.blobs.read(written.id) as PooledFileReader;
    const buffers = new Set<ArrayBufferLike>();
    const hash = createHash('sha256');
    let maxLent = 0;
    reader.on('data', (chunk: Buffer) => {
      buffers.add(chunk.buffer);
      hash.update(chunk);
      maxLent = Math.max(maxLent, reader.lentCount);
    });
    await new Promise((resolve, reject) => reader.on('end', resolve).on('error', reject));
    expect(hash.digest('hex')).toBe(sha(data));
    // Nothing held for a release that never comes: every chunk is free to be collected.
    expect(maxLent).toBe(0);
    expect(buffers.size).toBe(6);
    await store.blobs.remove(written.id);
  });

  it('leaves nothing behind when the source fails, inline or not', async () => {
    const blobsBefore = files('blobs').length;
    const inlineBefore = (await arrayFromAsync(store.blobs.listAll())).length;
    for (const declared of [1000, 5 * 1024 * 1024]) {
      const failing = new Readable({
        read() {
          this.push(randomBytes(500));
          this.destroy(new Error('client went away'));
        },
      });
      await expect(store.blobs.write(failing, [], { declaredSize: declared })).rejects.toThrow('client went away');
    }
    expect(files('tmp')).toEqual([]);
    expect(files('blobs').length).toBe(blobsBefore);
    expect((await arrayFromAsync(store.blobs.listAll())).length).toBe(inlineBefore);
  });

  it('keeps every body in a file when inlining is off (inlineMaxBytes 0)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'strata-blobs-noinline-'));
    const plain = new RegionStore('plain', root, { fsync: false, inlineMaxBytes: 0 });
    try {
      const data = randomBytes(10);
      const written = await plain.blobs.write(chunked(data), [], { declaredSize: 10 });
      expect(isInlineBlob(written.id)).toBe(false);
      expect(readFileSync(plain.blobs.pathOf(written.id))).toEqual(data);
    } finally {
      await plain.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('hands whole-buffer chunks to the writer thread without copying, and copies every other chunk', async () => {
    // Whole buffers of various sizes (as the HTTP parser delivers them) between views into
    // shared memory (as a decoder's slices are), and buffers too small to be worth a transfer.
    const shared = randomBytes(300_000);
    const chunks = [
      Buffer.from(randomBytes(65_536)),
      shared.subarray(0, 100_000),
      Buffer.from(randomBytes(1 << 20)),
      Buffer.from(randomBytes(1000)),
      shared.subarray(100_000),
      Buffer.from(randomBytes(3 * 65_536 + 17)),
    ];
    const expected = Buffer.concat(chunks);
    const sharedCopy = Buffer.from(shared);
    const written = await store.blobs.write(Readable.from(chunks, { objectMode: false }), [], { declaredSize: expected.length, md5: true });
    expect(readFileSync(store.blobs.pathOf(written.id)).equals(expected)).toBe(true);
    expect(written.md5!.toString('hex')).toBe(createHash('md5').update(expected).digest('hex'));
    // The large whole buffers went to the worker (their memory left this thread); the slices
    // were copied, so the buffer they view is intact, and so is the small whole buffer.
    expect([chunks[0].length, chunks[2].length, chunks[5].length]).toEqual([0, 0, 0]);
    expect(shared.equals(sharedCopy)).toBe(true);
    expect(chunks[3].length).toBe(1000);
    await store.blobs.remove(written.id);
  });

  it('hashes concurrent uploads side by side in the writer threads, and one stalled upload holds up no other', async () => {
    // Twice as many uploads as writer threads, so each thread hashes two of them in one lane
    // group; one stalls after 1 MiB until every other upload has finished. Its group partner runs
    // ahead, waits for it a little, then goes on alone (it would hang here if it waited for good).
    const uploads = Array.from({ length: 8 }, (_, i) => randomBytes(16 * 1024 * 1024 + i * 4099));
    let releaseStalled: () => void = () => {};
    const othersDone = new Promise<void>((resolve) => (releaseStalled = resolve));
    async function* stalledSource(data: Buffer) {
      const half = 1024 * 1024;
      for (let at = 0; at < half; at += 65_536) yield Buffer.from(data.subarray(at, Math.min(at + 65_536, half)));
      await othersDone;
      for (let at = half; at < data.length; at += 65_536) yield Buffer.from(data.subarray(at, at + 65_536));
    }
    const writes = uploads.map((data, i) =>
      store.blobs.write(i === 0 ? Readable.from(stalledSource(data), { objectMode: false }) : chunked(data), [], { declaredSize: data.length, md5: true, sha256: true }),
    );
    const others = await Promise.all(writes.slice(1));
    releaseStalled();
    const written = [await writes[0], ...others];
    for (const [i, w] of written.entries()) {
      expect(w.md5!.toString('hex')).toBe(createHash('md5').update(uploads[i]).digest('hex'));
      expect(w.sha256!.toString('hex')).toBe(sha(uploads[i]));
      expect(sha(readFileSync(store.blobs.pathOf(w.id)))).toBe(sha(uploads[i]));
      await store.blobs.remove(w.id);
    }
  });

  it('seals SSE-C bodies as a one-piece seal does, inline and in the writer thread, hashing the plaintext', async () => {
    const dataKey = randomBytes(32);
    for (const size of [0, 1, 65_535, 65_536, 65_537, 70_000, 3 * 65_536, 200_003]) {
      const plain = randomBytes(size);
      // Declared (inline at most inlineMax) and undeclared (always a file), as requests can be.
      for (const declaredSize of [size, undefined]) {
        const written = await store.blobs.write(chunked(plain), [], { declaredSize, md5: true, sha256: true, encryptWith: dataKey });
        expect(isInlineBlob(written.id)).toBe(declaredSize !== undefined && size <= inlineMax);
        const stored = await collect(store.blobs.read(written.id));
        expect(written.size).toBe(encryptedSize(size));
        expect(stored.length).toBe(encryptedSize(size));
        // Byte for byte what sealing the whole plaintext in one piece produces: the pieces the
        // writer was given do not show in the stored format.
        const parts: Buffer[] = [];
        const sealer = new ChunkSealer(dataKey);
        sealer.write(plain, (part) => parts.push(Buffer.from(part)));
        sealer.end((part) => parts.push(Buffer.from(part)));
        expect(stored.equals(Buffer.concat(parts))).toBe(true);
        expect((await collect(Readable.from([stored]).pipe(createDecryptStream(dataKey, fullStoredRange(size))))).equals(plain)).toBe(true);
        expect(written.md5!.toString('hex')).toBe(createHash('md5').update(plain).digest('hex'));
        expect(written.sha256!.toString('hex')).toBe(sha(plain));
        await store.blobs.remove(written.id);
      }
    }
  });

  it('fails an upload whose writer thread dies, removes its file, and writes the next one', async () => {
    const blobsBefore = files('blobs').length;
    let sent = 0;
    const endless = new Readable({
      read() {
        // Keep sending until the writer is gone; then the pipeline fails and stops reading.
        sent++;
        setTimeout(() => this.push(randomBytes(256 * 1024)), 1);
      },
    });
    const upload = store.blobs.write(endless, [], { declaredSize: 100 * 1024 * 1024 });
    while (sent < 8) await new Promise((r) => setTimeout(r, 5));
    // Expect the failure before causing it: the upload may fail while retireIngestWorkers() is
    // still being awaited, and a rejection nobody handles yet is reported as unhandled.
    const failed = expect(upload).rejects.toThrow(/writer thread exited/);
    await retireIngestWorkers();
    await failed;
    endless.destroy();
    expect(files('tmp')).toEqual([]);
    expect(files('blobs').length).toBe(blobsBefore);
    const data = randomBytes(200_000);
    const next = await store.blobs.write(chunked(data), [], { declaredSize: data.length, md5: true });
    expect(sha(readFileSync(store.blobs.pathOf(next.id)))).toBe(sha(data));
    await store.blobs.remove(next.id);
  });

  it('refuses an inline body longer than declared', async () => {
    await expect(store.blobs.write(chunked(randomBytes(5000)), [], { declaredSize: 1000 })).rejects.toThrow(/larger than its declared size/);
  });

  it('puts an inline blob in the database only with the metadata commit that references it', async () => {
    await store.createBucket('b', 'org', null);
    const small = await store.blobs.write(chunked(randomBytes(10)), [], { declaredSize: 10 });
    // Written but not committed: readable by its writer, absent from the database.
    expect(await collect(store.blobs.read(small.id))).toHaveLength(10);
    expect((await arrayFromAsync(store.blobs.listAll()))).not.toContain(small.id);
    await store.commitObject({ bucket: 'b', key: 'k', size: 10, etag: 'e', lastModified: 0, ownerOrg: 'org', meta: { user: {} }, blob: small.id, manifest: null, sse: null });
    expect((await arrayFromAsync(store.blobs.listAll()))).toContain(small.id);
    // Overwritten: the old inline row goes with the commit that released it.
    const next = await store.blobs.write(chunked(randomBytes(20)), [], { declaredSize: 20 });
    await store.commitObject({ bucket: 'b', key: 'k', size: 20, etag: 'e', lastModified: 0, ownerOrg: 'org', meta: { user: {} }, blob: next.id, manifest: null, sse: null });
    await new Promise((r) => setTimeout(r, 50)); // released blobs are reaped after the commit
    expect((await arrayFromAsync(store.blobs.listAll()))).not.toContain(small.id);
    expect((await arrayFromAsync(store.blobs.listAll()))).toContain(next.id);
  });

  it('lists and removes unreferenced blobs of both kinds at recovery', async () => {
    const large = await store.blobs.write(chunked(randomBytes(100_000)), [], { declaredSize: 100_000 });
    // As left by a crash between an inline row's insert and its object's commit (older versions).
    const orphanInline = 'i' + BlobStore.newId();
    (store.meta as SqliteRegionMetadata).db.prepare('INSERT INTO inline_blobs (id, data) VALUES (?, ?)').run(orphanInline, Buffer.from('x'));
    expect((await arrayFromAsync(store.blobs.listAll()))).toEqual(expect.arrayContaining([orphanInline, large.id]));
    const { unreferenced } = await store.recover();
    expect(unreferenced).toBeGreaterThanOrEqual(2);
    expect((await arrayFromAsync(store.blobs.listAll()))).not.toContain(orphanInline);
    expect((await arrayFromAsync(store.blobs.listAll()))).not.toContain(large.id);
  });
});
