// The blob writer threads write an upload's whole blocks straight from its MD5 lane's ring
// (store/ingest-worker.mjs, "ring" jobs), stage the last partial block, and stage everything
// after a lane leaves its ring for OpenSSL. These tests drive real writer threads through
// IngestSink and check every file byte and digest, at sizes around the block and ring
// boundaries, alone (the lane leaves its ring at 4 MiB) and side by side in lane groups.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RING } from '../../src/checksum/md5-lanes.mjs';
import { IngestSink, type IngestResult } from '../../src/store/ingest.ts';

const BLOCK = 4096;
const MiB = 1024 * 1024;

let dir: string;

/** A directory whose file system takes O_DIRECT (tmpfs does not: then one under the checkout). */
function directIoDirectory(): string {
  const candidates = [tmpdir(), join(process.cwd(), 'data')];
  for (const parent of candidates) {
    mkdirSync(parent, { recursive: true });
    const candidate = mkdtempSync(join(parent, 'strata-ring-'));
    try {
      closeSync(openSync(join(candidate, 'probe'), constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT));
      rmSync(join(candidate, 'probe'));
      return candidate;
    } catch {
      rmSync(candidate, { recursive: true, force: true });
    }
  }
  throw new Error('no directory here takes O_DIRECT: the ring path cannot be tested');
}

beforeAll(() => {
  dir = directIoDirectory();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * `data` in chunks of varying sizes (fresh buffers, as a socket's are), most large enough to be
 * handed over whole, one larger than a ring.
 */
function chunked(data: Buffer, seed: number): Readable {
  const sizes = [65_536, 1, 20_000, 4093, 131_072, 65_536, 5 * MiB + 3, 100_003, 7];
  const chunks: Buffer[] = [];
  for (let at = 0, i = seed; at < data.length; i++) {
    const n = sizes[i % sizes.length];
    chunks.push(Buffer.from(data.subarray(at, at + n)));
    at += n;
  }
  return Readable.from(chunks, { objectMode: false });
}

let nextFile = 0;
async function ingest(data: Buffer, seed = 0): Promise<{ result: IngestResult; path: string }> {
  const path = join(dir, `blob-${nextFile++}`);
  const sink = new IngestSink(path, { md5: true, sha256: true, fsync: false });
  await pipeline(chunked(data, seed), sink);
  return { result: sink.result!, path };
}

function expectStored(data: Buffer, { result, path }: { result: IngestResult; path: string }): void {
  expect(result.size).toBe(data.length);
  expect(result.stored).toBe(data.length);
  expect(result.md5!.toString('hex')).toBe(createHash('md5').update(data).digest('hex'));
  expect(result.sha256!.toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  const file = readFileSync(path);
  expect(file.length).toBe(data.length);
  expect(file.equals(data)).toBe(true);
  rmSync(path);
}

describe('writing blob files from the MD5 rings', () => {
  it('writes a lone upload from its ring until the lane leaves for OpenSSL, then from a stage', async () => {
    const data = randomBytes(9 * MiB + 12_345);
    const written = await ingest(data);
    // Alone in its thread's lane group, the lane leaves its ring when the ring is full (4 MiB);
    // the whole blocks before that went straight from the ring.
    expect(written.result.ringBytes).toBeGreaterThan(0);
    expect(written.result.ringBytes).toBeLessThanOrEqual(RING);
    expect(written.result.ringBytes % BLOCK).toBe(0);
    expectStored(data, written);
  });

  it('writes uploads that share lane groups from their rings, around block and ring boundaries', async () => {
    // The sizes put the end of the stream before, on and after block and ring boundaries. At
    // least twice as many large uploads as there are writer threads (the pool starts one per
    // upload up to its size), so that threads hash several side by side and rings wrap.
    const boundaries = [RING * 2 + 3 * BLOCK + 5, 6 * MiB - 1, 6 * MiB, 6 * MiB + 1, RING * 2, 5 * MiB + BLOCK, 7 * MiB + 777, 8 * MiB - BLOCK + 1, BLOCK - 1, BLOCK, BLOCK + 1, 1, 0];
    const threads = availableParallelism() + 2;
    const sizes = [...boundaries, ...Array.from({ length: Math.max(0, 2 * threads - 8) }, (_, i) => 6 * MiB + i * 1000)];
    const uploads = sizes.map((size) => randomBytes(size));
    const written = await Promise.all(uploads.map((data, i) => ingest(data, i)));
    // Lanes that share a group never leave their ring: their whole blocks all went from there,
    // past the ring's end and back (an upload alone leaves at 4 MiB).
    const wrapped = written.filter((w) => w.result.ringBytes > RING);
    expect(wrapped.length).toBeGreaterThan(0);
    for (const w of wrapped) expect(w.result.ringBytes).toBe(w.result.size - (w.result.size % BLOCK));
    for (const [i, w] of written.entries()) {
      expect(w.result.ringBytes % BLOCK).toBe(0);
      expect(w.result.ringBytes).toBeLessThanOrEqual(sizes[i] - (sizes[i] % BLOCK));
      expectStored(uploads[i], w);
    }
  });

  it('stages SSE-C uploads (the ring holds the plaintext, the file the sealed bytes)', async () => {
    const data = randomBytes(3 * MiB + 5);
    const path = join(dir, `blob-${nextFile++}`);
    const sink = new IngestSink(path, { md5: true, sha256: false, fsync: false, dataKey: randomBytes(32) });
    await pipeline(chunked(data, 3), sink);
    expect(sink.result!.ringBytes).toBe(0);
    expect(sink.result!.size).toBe(data.length);
    expect(sink.result!.stored).toBeGreaterThan(data.length);
    expect(readFileSync(path).length).toBe(sink.result!.stored);
    expect(sink.result!.md5!.toString('hex')).toBe(createHash('md5').update(data).digest('hex'));
    rmSync(path);
  });
});
