// Reading blob files into reused buffers. A large GET through fs.createReadStream allocates a
// fresh 1 MiB buffer per read; on a server with a real heap, that stream of external memory
// makes V8 run full garbage collections (measured: a third of a 64 MiB GET's main-thread time).
// A PooledFileReader takes its buffers from a small pool instead when its consumer has promised,
// with lendBuffers(), to hand each chunk back with release() once done with it: the HTTP
// response does (see http/reply.ts), when the socket write has completed. Any other consumer
// (a decrypting stream, a multipart concatenation, a copy) gets fresh buffers that the reader
// does not remember, so they are garbage collected as they are consumed. (Remembering them until
// a release that never came kept a whole multipart or SSE-C download in memory.)
import { close, open, read } from 'node:fs';
import { Readable } from 'node:stream';

const CHUNK_BYTES = 1 << 20;
const MAX_SPARE = 16;
const spare: Buffer[] = [];

function takeBuffer(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
}

function giveBack(buf: Buffer): void {
  if (spare.length < MAX_SPARE) spare.push(buf);
}

export class PooledFileReader extends Readable {
  private fd: number | undefined;
  private position: number;
  /** chunks pushed and not yet released, by their memory (only while lending) */
  private readonly lent = new Map<ArrayBufferLike, Buffer>();
  private lending = false;

  /**
   * Bytes [start, end] (inclusive) of the file at `path`. `retryMissingMs`: a file not found is
   * looked for once more after this long (see BlobStore: a shared filesystem may not show another
   * node's new file at once); 0: not found is final.
   */
  constructor(private readonly path: string, start = 0, private readonly end = Number.MAX_SAFE_INTEGER, private readonly retryMissingMs = 0) {
    super();
    this.position = start;
  }

  override _construct(done: (err?: Error | null) => void): void {
    open(this.path, 'r', (err, fd) => {
      if (err?.code === 'ENOENT' && this.retryMissingMs > 0) {
        setTimeout(() => open(this.path, 'r', (again, fd2) => ((this.fd = fd2), done(again))), this.retryMissingMs);
        return;
      }
      this.fd = fd;
      done(err);
    });
  }

  override _read(): void {
    const length = Math.min(CHUNK_BYTES, this.end - this.position + 1);
    if (length <= 0) {
      this.push(null);
      return;
    }
    const buf = this.lending ? takeBuffer() : Buffer.allocUnsafeSlow(length);
    read(this.fd!, buf, 0, length, this.position, (err, n) => {
      if (err) return this.destroy(err);
      if (n === 0) {
        if (this.lending) giveBack(buf);
        this.push(null);
        return;
      }
      this.position += n;
      if (this.lending) this.lent.set(buf.buffer, buf);
      this.push(buf.subarray(0, n));
    });
  }

  /**
   * The consumer will release() every chunk it gets: from now on chunks are lent from the pool.
   * Call it before reading starts.
   */
  lendBuffers(): void {
    this.lending = true;
  }

  /** Chunks lent and not yet released (diagnostics and tests). */
  get lentCount(): number {
    return this.lent.size;
  }

  /** The consumer is done with `chunk` (a chunk this reader produced): its memory may be reused. */
  release(chunk: Buffer): void {
    const buf = this.lent.get(chunk.buffer);
    if (!buf) return;
    this.lent.delete(chunk.buffer);
    giveBack(buf);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.lent.clear();
    if (this.fd === undefined) return done(err);
    close(this.fd, () => done(err));
    this.fd = undefined;
  }
}
