// Pass-through stream that hashes everything flowing through it.

import { Transform, type TransformCallback, type TransformOptions } from 'node:stream';
import { createHasher, type ChecksumAlgorithm, type Hasher } from './hashers.ts';

export class ChecksumTransform extends Transform {
  /** Bytes seen so far (the total once the stream has finished). */
  bytes = 0;
  private readonly algs: ChecksumAlgorithm[];
  private readonly hashers: Hasher[];
  private results: Map<ChecksumAlgorithm, Buffer> | undefined;

  constructor(algs: readonly ChecksumAlgorithm[], opts?: TransformOptions) {
    super(opts);
    this.algs = [...new Set(algs)];
    this.hashers = this.algs.map((a) => createHasher(a));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.results !== undefined) {
      cb(new Error('ChecksumTransform: data written after digests() was read'));
      return;
    }
    const hs = this.hashers;
    for (let i = 0; i < hs.length; i++) hs[i].update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.finalizeDigests();
    cb();
  }

  private finalizeDigests(): void {
    if (this.results !== undefined) return;
    const m = new Map<ChecksumAlgorithm, Buffer>();
    for (let i = 0; i < this.algs.length; i++) m.set(this.algs[i], this.hashers[i].digest());
    this.results = m;
  }

  /**
   * Raw big-endian digest per requested algorithm. Meant to be read after the stream ends
   * ('finish' / 'end' / pipeline resolution); reading it earlier freezes the digests and any
   * later write fails the stream.
   */
  digests(): Map<ChecksumAlgorithm, Buffer> {
    this.finalizeDigests();
    return this.results!;
  }

}

// MD5 (the ETag) is not computed here: the blob writer computes it where the bytes are written.
export function checksumTransform(algs: readonly ChecksumAlgorithm[], opts?: TransformOptions): ChecksumTransform {
  return new ChecksumTransform(algs, opts);
}
