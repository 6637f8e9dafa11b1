// Object bytes. A blob is named by a generated id (never by the user's key) and lives in one of
// two places:
// - a file, written under tmp/ by a writer thread (ingest.ts: hashed there, O_DIRECT where the
//   file system allows), fsynced, then renamed into blobs/<2 hex>/<id>;
// - for bodies of at most `inlineMaxBytes` (declared before the first byte is read), a row of
//   the region's metadata database (table inline_blobs). The bytes wait in memory until the
//   transaction that commits the object (or part) referencing them inserts the row
//   (persistInline), so bytes and metadata become visible, and durable, together. Small objects
//   then cost no file creation, no three fsyncs, no directory entry and no extra transaction.
//   (MinIO inlines small objects in its metadata file for the same reason.)
// Only after the blob is complete does a metadata transaction reference it, so a crash leaves
// either an unreferenced blob (collected at start-up) or a complete one.
// On a shared filesystem (several nodes over PostgreSQL) each node writes only new files under
// fresh ids, so nodes never write the same file.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { OWNER_DIR_MODE } from './file-modes.ts';
import { ChunkSealer } from '../crypto/sse-c-seal.mjs';
import { FileSyncer } from './db.ts';
import { IngestSink } from './ingest.ts';
import { PooledFileReader } from './pooled-reader.ts';
import { join } from 'node:path';
import { Readable, Writable, type Transform } from 'node:stream';
import type { MetaTx } from './meta/metadata.ts';

/** Where inline blobs live once committed: the region's metadata (see RegionMetadata). */
export interface InlineBlobTable {
  inlineBlob(id: string): Promise<Buffer | undefined>;
  removeInlineBlob(id: string): Promise<void>;
  inlineBlobIds(): AsyncIterable<string>;
}

/** Collects a small body in memory for an inline blob; more than `max` bytes is an error. */
class MemorySink extends Writable {
  readonly chunks: Buffer[] = [];
  bytes = 0;

  constructor(private readonly max: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) return done(new Error('inline blob larger than its declared size'));
    this.chunks.push(chunk);
    done();
  }
}

/** An open blob: its stored size, and reads that stay valid after the blob is released. */
export interface PinnedBlob {
  size: number;
  read(start: number, end: number): Readable;
  close(): Promise<void>;
}

/** Inline blob ids carry a prefix that no file blob id has, so every reader knows where to look. */
const INLINE_PREFIX = 'i';
const fileIdPattern = /^[0-9a-z]{9}[0-9a-f]{24}$/;

export function isInlineBlob(id: string): boolean {
  return id.startsWith(INLINE_PREFIX) && fileIdPattern.test(id.slice(INLINE_PREFIX.length));
}

export interface BlobWriteOptions {
  /** the source's length, when known before the first byte: a small body goes inline */
  declaredSize?: number;
  /** digests of the bytes that come out of the transforms, computed wherever they are written (a worker for files) */
  md5?: boolean;
  sha256?: boolean;
  /**
   * SSE-C data key: seal those bytes into the SSE-C stored format (crypto/sse-c-seal.mjs) as
   * they are written, after hashing them; for files, in the writer thread.
   */
  encryptWith?: Buffer;
}

export interface BlobWriteResult {
  id: string;
  /** bytes stored (with SSE-C, the sealed bytes) */
  size: number;
  /** bytes that came out of the transforms (with SSE-C, the plaintext) */
  received: number;
  md5?: Buffer;
  sha256?: Buffer;
}

export class BlobStore {
  readonly blobDir: string;
  readonly tmpDir: string;

  /** One coalescing syncer per shard directory: concurrent renames into a shard share an fsync. */
  private readonly shardSyncers = new Map<string, FileSyncer>();

  /** inline blobs written but not yet committed by a metadata transaction */
  private readonly pendingInline = new Map<string, Buffer>();

  /**
   * @param inlineMaxBytes bodies declared at most this long are stored in `inline` (0: never),
   *   inserted by the metadata transaction that first references them (persistInline).
   */
  /**
   * On a shared filesystem (NFS and others cache directory lookups, negative ones included) a
   * blob another node has just committed may be briefly invisible here: a file not found is
   * looked for once more after this many milliseconds (0: one process, not found is final).
   */
  retryMissingMs = 0;

  constructor(root: string, private readonly fsync: boolean, private readonly inline: InlineBlobTable, private readonly inlineMaxBytes: number) {
    this.blobDir = join(root, 'blobs');
    this.tmpDir = join(root, 'tmp');
    mkdirSync(this.tmpDir, { recursive: true, mode: OWNER_DIR_MODE });
    for (let i = 0; i < 256; i++) mkdirSync(join(this.blobDir, i.toString(16).padStart(2, '0')), { recursive: true, mode: OWNER_DIR_MODE });
  }

  private shardSyncer(shard: string): FileSyncer {
    let syncer = this.shardSyncers.get(shard);
    if (!syncer) {
      syncer = new FileSyncer(join(this.blobDir, shard), this.fsync);
      this.shardSyncers.set(shard, syncer);
    }
    return syncer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.shardSyncers.values()].map((s) => s.close()));
    this.shardSyncers.clear();
  }

  static newId(): string {
    // Time-ordered prefix keeps directory entries roughly append-only; 96 random bits make ids unguessable.
    return Date.now().toString(36).padStart(9, '0') + randomHex24();
  }

  pathOf(id: string): string {
    if (!fileIdPattern.test(id)) throw new Error(`invalid blob id ${id}`);
    return join(this.blobDir, id.slice(-2), id);
  }

  /**
   * Stream `source` through `transforms` into a new blob. On any error the temporary file is
   * removed and the error rethrown; nothing becomes visible. Transforms may add at most
   * `inlineOverhead` bytes to a body that goes inline (SSE-C framing).
   */
  async write(source: Readable, transforms: Transform[] = [], options: BlobWriteOptions = {}): Promise<BlobWriteResult> {
    const { declaredSize } = options;
    if (declaredSize !== undefined && declaredSize <= this.inlineMaxBytes) return this.writeInline(source, transforms, declaredSize, options);
    const id = BlobStore.newId();
    const tmpPath = join(this.tmpDir, id);
    const out = new IngestSink(tmpPath, { md5: options.md5 === true, sha256: options.sha256 === true, fsync: this.fsync, dataKey: options.encryptWith });
    try {
      await lightPipeline([source, ...transforms, out]);
    } catch (err) {
      // The sink removes its file when destroyed; this covers a worker that died on the way.
      await unlink(tmpPath).catch(() => undefined);
      throw err;
    }
    const { size: received, stored: size, md5, sha256 } = out.result!;
    try {
      await rename(tmpPath, this.pathOf(id));
      await this.shardSyncer(id.slice(-2)).sync();
    } catch (err) {
      await unlink(tmpPath).catch(() => undefined);
      await this.remove(id).catch(() => undefined);
      throw err;
    }
    return { id, size, received, md5, sha256 };
  }

  private async writeInline(source: Readable, transforms: Transform[], declaredSize: number, options: BlobWriteOptions): Promise<BlobWriteResult> {
    const sink = new MemorySink(declaredSize + inlineOverhead(declaredSize));
    await lightPipeline([source, ...transforms, sink]);
    const id = INLINE_PREFIX + BlobStore.newId();
    const data = sink.chunks.length === 1 ? sink.chunks[0] : Buffer.concat(sink.chunks, sink.bytes);
    const stored = options.encryptWith ? sealed(options.encryptWith, data) : data;
    this.pendingInline.set(id, stored);
    return {
      id,
      size: stored.length,
      received: data.length,
      md5: options.md5 ? createHash('md5').update(data).digest() : undefined,
      sha256: options.sha256 ? createHash('sha256').update(data).digest() : undefined,
    };
  }

  /**
   * Called inside the metadata transaction that first references blob `id`: an inline blob still
   * in memory is inserted by that transaction. Files and committed blobs need nothing.
   */
  async persistInline(tx: MetaTx, id: string | null | undefined): Promise<void> {
    if (!id) return;
    const data = this.pendingInline.get(id);
    if (data) await tx.insertInlineBlob(id, data);
  }

  /** After the transaction that persisted `id` committed: drop the in-memory copy. */
  committedInline(id: string | null | undefined): void {
    if (id) this.pendingInline.delete(id);
  }

  private async inlineData(id: string): Promise<Buffer> {
    const pending = this.pendingInline.get(id);
    if (pending) return pending;
    const data = await this.inline.inlineBlob(id);
    if (!data) throw Object.assign(new Error(`blob ${id} no longer exists`), { code: 'ENOENT' });
    return data;
  }

  /** Read bytes [start, end] (inclusive) of a blob. */
  read(id: string, start?: number, end?: number): Readable {
    if (isInlineBlob(id)) {
      const pending = this.pendingInline.get(id);
      const slice = (data: Buffer) => data.subarray(start ?? 0, end === undefined ? undefined : end + 1);
      if (pending) return bufferStream(slice(pending));
      return lazyBufferStream(async () => slice(await this.inlineData(id)));
    }
    return new PooledFileReader(this.pathOf(id), start, end, this.retryMissingMs);
  }

  /**
   * Open a blob so that its bytes stay readable even if a concurrent overwrite releases it:
   * a file stays open (unlinking does not free it), inline bytes are copied out.
   */
  async pin(id: string): Promise<PinnedBlob> {
    if (isInlineBlob(id)) {
      const data = await this.inlineData(id);
      return { size: data.length, read: (start, end) => bufferStream(data.subarray(start, end + 1)), close: async () => undefined };
    }
    const handle = await open(this.pathOf(id), 'r').catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT' || this.retryMissingMs === 0) throw err;
      await new Promise((r) => setTimeout(r, this.retryMissingMs));
      return open(this.pathOf(id), 'r');
    });
    try {
      const { size } = await handle.stat();
      return {
        size,
        read: (start, end) => handle.createReadStream({ start, end, highWaterMark: 1 << 20, autoClose: false }),
        close: () => handle.close(),
      };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  async remove(id: string): Promise<void> {
    if (isInlineBlob(id)) {
      this.pendingInline.delete(id);
      await this.inline.removeInlineBlob(id);
      return;
    }
    await unlink(this.pathOf(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /**
   * Remove an unreferenced blob (recovery, garbage collection). False when `id` is not a blob
   * name (not ours to delete), or is a file younger than `graceMs`: on a shared filesystem another
   * node may have written it and not yet committed the metadata that references it.
   */
  async removeUnreferenced(id: string, graceMs: number): Promise<boolean> {
    if (isInlineBlob(id)) {
      await this.inline.removeInlineBlob(id);
      return true;
    }
    if (!fileIdPattern.test(id)) return false;
    const path = this.pathOf(id);
    if (graceMs > 0 && !olderThan(path, graceMs)) return false;
    rmSync(path, { force: true });
    return true;
  }

  /**
   * Drop temporary files: uploads in progress when the process died. With a grace period, only
   * those older than it (other nodes' uploads in progress share the directory).
   */
  clearTemporary(graceMs = 0): number {
    let removed = 0;
    for (const name of readdirSync(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      if (graceMs > 0 && !olderThan(path, graceMs)) continue;
      rmSync(path, { force: true });
      removed++;
    }
    return removed;
  }

  /** Every blob id: inline ones, then files. */
  async *listAll(): AsyncGenerator<string> {
    yield* this.inline.inlineBlobIds();
    for (let i = 0; i < 256; i++) {
      const dir = join(this.blobDir, i.toString(16).padStart(2, '0'));
      for (const name of readdirSync(dir)) yield name;
    }
  }
}

/** `plain` in the SSE-C stored format. */
function sealed(dataKey: Buffer, plain: Buffer): Buffer {
  const parts: Buffer[] = [];
  const sealer = new ChunkSealer(dataKey);
  sealer.write(plain, (part) => parts.push(part));
  sealer.end((part) => parts.push(part));
  return Buffer.concat(parts);
}

/** Upper bound of what an encrypting transform (SSE-C: a 16-byte tag per 64 KiB chunk) adds to an inline body, with slack. */
function inlineOverhead(size: number): number {
  return 1024 + 32 * Math.ceil((size + 1) / 65536);
}

/** Was the file at `path` last modified more than `ms` ago (a missing file: yes)? */
function olderThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > ms;
  } catch {
    return true;
  }
}

/** A stream of a buffer that is loaded when the stream is first read. */
function lazyBufferStream(load: () => Promise<Buffer>): Readable {
  let started = false;
  return new Readable({
    read() {
      if (started) return;
      started = true;
      load().then(
        (data) => {
          if (data.length > 0) this.push(data);
          this.push(null);
        },
        (err: Error) => this.destroy(err),
      );
    },
  });
}

/** A stream of one buffer (Readable.from(buffer) would iterate it byte by byte). */
function bufferStream(data: Buffer): Readable {
  return new Readable({
    read() {
      if (data.length > 0) this.push(data);
      this.push(null);
    },
  });
}

/**
 * 24 hex digits (96 bits) from the CSPRNG, drawn from a pre-filled block: one randomBytes call per
 * 340 ids instead of one per id (a measurable share of a small PUT).
 */
let randomBlock = Buffer.alloc(0);
let randomOffset = 0;
function randomHex24(): string {
  if (randomOffset + 12 > randomBlock.length) {
    randomBlock = randomBytes(4080);
    randomOffset = 0;
  }
  const hex = randomBlock.toString('hex', randomOffset, randomOffset + 12);
  randomOffset += 12;
  return hex;
}

/**
 * source.pipe(t1)…pipe(sink), settling when the sink finishes, or when any stream fails: all are
 * then destroyed, and the rejection waits for the sink to close (a file sink has removed its
 * file by then). Used for every blob write: stream/promises' pipeline allocates an
 * AbortController and a DOMException per call, which costs more than receiving a 4 KiB object.
 */
function lightPipeline(streams: (Readable | Transform | Writable)[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let failed = false;
    const sink = streams[streams.length - 1] as Writable;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      for (const stream of streams) stream.destroy();
      if (sink.closed) reject(err);
      else sink.once('close', () => reject(err));
    };
    let finished = false;
    for (const stream of streams) {
      stream.on('error', fail);
      // A stream that closes before the end without an error must not leave the caller waiting.
      stream.once('close', () => {
        const ended = stream === sink ? finished : (stream as Readable).readableEnded;
        if (!ended) fail(Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
      });
    }
    sink.once('finish', () => {
      finished = true;
      if (!failed) resolve();
    });
    for (let i = 0; i + 1 < streams.length; i++) (streams[i] as Readable).pipe(streams[i + 1] as Writable);
  });
}
