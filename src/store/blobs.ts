// Object bytes on disk. A blob is a file named by a generated id (never by the user's key),
// written under tmp/, fsynced, then renamed into blobs/<2 hex>/<id>. Only after that does a
// metadata transaction reference it, so a crash leaves either an unreferenced blob (collected
// at start-up) or a complete one.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface BlobWriteResult {
  id: string;
  size: number;
}

export class BlobStore {
  readonly blobDir: string;
  readonly tmpDir: string;

  constructor(root: string, private readonly fsync: boolean) {
    this.blobDir = join(root, 'blobs');
    this.tmpDir = join(root, 'tmp');
    mkdirSync(this.tmpDir, { recursive: true });
    for (let i = 0; i < 256; i++) mkdirSync(join(this.blobDir, i.toString(16).padStart(2, '0')), { recursive: true });
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
    const out = createWriteStream(tmpPath, { flags: 'wx', highWaterMark: 1 << 20 });
    try {
      await pipeline([source, ...transforms, out] as unknown as [Readable, ...Transform[]]);
      const size = out.bytesWritten;
      if (this.fsync) {
        const fh = await open(tmpPath, 'r');
        try {
          await fh.datasync();
        } finally {
          await fh.close();
        }
      }
      const finalPath = this.pathOf(id);
      await rename(tmpPath, finalPath);
      if (this.fsync) await this.syncDir(join(this.blobDir, id.slice(-2)));
      return { id, size };
    } catch (err) {
      out.destroy();
      await unlink(tmpPath).catch(() => undefined);
      throw err;
    }
  }

  private async syncDir(dir: string): Promise<void> {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
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
