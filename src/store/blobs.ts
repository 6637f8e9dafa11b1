// Object bytes on disk. A blob is a file named by a generated id (never by the user's key),
// written under tmp/, fsynced, then renamed into blobs/<2 hex>/<id>. Only after that does a
// metadata transaction reference it, so a crash leaves either an unreferenced blob (collected
// at start-up) or a complete one.
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { FileSyncer } from './db.ts';
import { join } from 'node:path';
import { Writable, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** writev until every byte is written: a short write (rare on regular files) must not lose data. */
async function writeAll(fh: FileHandle, buffers: Buffer[]): Promise<number> {
  const total = buffers.reduce((n, b) => n + b.length, 0);
  let written = 0;
  while (written < total) {
    let skip = written;
    const rest: Buffer[] = [];
    for (const b of buffers) {
      if (skip >= b.length) skip -= b.length;
      else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    const { bytesWritten } = await fh.writev(rest);
    if (bytesWritten === 0) throw new Error('blob write made no progress');
    written += bytesWritten;
  }
  return total;
}

/**
 * A Writable that creates `path` and appends to it, leaving the descriptor open for fsync and
 * close. The file is opened in construct(), so the sink can join a pipeline synchronously: no
 * source is ever left without an error listener while a file is being opened.
 */
class FileSink extends Writable {
  bytesWritten = 0;
  fh: FileHandle | undefined;

  constructor(private readonly path: string) {
    super({ highWaterMark: 1 << 20 });
  }

  override _construct(done: (err?: Error | null) => void): void {
    open(this.path, 'wx').then((fh) => {
      this.fh = fh;
      done();
    }, done);
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    writeAll(this.fh!, chunks.map((c) => c.chunk)).then((n) => {
      this.bytesWritten += n;
      done();
    }, done);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this._writev([{ chunk }], done);
  }

  async closeFile(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}

export interface BlobWriteResult {
  id: string;
  size: number;
}

export class BlobStore {
  readonly blobDir: string;
  readonly tmpDir: string;

  /** One coalescing syncer per shard directory: concurrent renames into a shard share an fsync. */
  private readonly shardSyncers = new Map<string, FileSyncer>();

  constructor(root: string, private readonly fsync: boolean) {
    this.blobDir = join(root, 'blobs');
    this.tmpDir = join(root, 'tmp');
    mkdirSync(this.tmpDir, { recursive: true });
    for (let i = 0; i < 256; i++) mkdirSync(join(this.blobDir, i.toString(16).padStart(2, '0')), { recursive: true });
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
    return Date.now().toString(36).padStart(9, '0') + randomBytes(12).toString('hex');
  }

  pathOf(id: string): string {
    if (!/^[0-9a-z]{9}[0-9a-f]{24}$/.test(id)) throw new Error(`invalid blob id ${id}`);
    return join(this.blobDir, id.slice(-2), id);
  }

  /**
   * Stream `source` through `transforms` into a new blob. On any error the temporary file is
   * removed and the error rethrown; nothing becomes visible.
   */
  async write(source: Readable, transforms: Transform[] = []): Promise<BlobWriteResult> {
    const id = BlobStore.newId();
    const tmpPath = join(this.tmpDir, id);
    // One descriptor for writing and syncing: every file-system call is a thread-pool round trip.
    const out = new FileSink(tmpPath);
    let size: number;
    try {
      await pipeline([source, ...transforms, out] as unknown as [Readable, ...Transform[]]);
      size = out.bytesWritten;
      if (this.fsync) await out.fh!.datasync();
    } catch (err) {
      await out.closeFile().catch(() => undefined);
      await unlink(tmpPath).catch(() => undefined);
      throw err;
    }
    await out.closeFile();
    try {
      await rename(tmpPath, this.pathOf(id));
      await this.shardSyncer(id.slice(-2)).sync();
    } catch (err) {
      await unlink(tmpPath).catch(() => undefined);
      await this.remove(id).catch(() => undefined);
      throw err;
    }
    return { id, size };
  }

  /** Read bytes [start, end] (inclusive) of a blob. */
  read(id: string, start?: number, end?: number): Readable {
    return createReadStream(this.pathOf(id), { start, end, highWaterMark: 1 << 20 });
  }

  async remove(id: string): Promise<void> {
    await unlink(this.pathOf(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Drop every temporary file: an upload in progress when the process died. */
  clearTemporary(): number {
    const names = readdirSync(this.tmpDir);
    for (const name of names) rmSync(join(this.tmpDir, name), { force: true });
    return names.length;
  }

  /** Every blob id on disk. */
  *listAll(): Generator<string> {
    for (let i = 0; i < 256; i++) {
      const dir = join(this.blobDir, i.toString(16).padStart(2, '0'));
      for (const name of readdirSync(dir)) yield name;
    }
  }
}
