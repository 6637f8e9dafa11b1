// Pass-through stream that hashes everything flowing through it.

import { Transform, type TransformCallback, type TransformOptions } from 'node:stream';
import { createHasher, createMd5, type ChecksumAlgorithm, type Hasher } from './hashers.ts';

export class ChecksumTransform extends Transform {
  /** Bytes seen so far (the total once the stream has finished). */
  bytes = 0;
  private readonly algs: ChecksumAlgorithm[];
  private readonly hashers: Hasher[];
  private readonly md5Hasher: Hasher | undefined;
  private results: Map<ChecksumAlgorithm, Buffer> | undefined;
  private md5Result: Buffer | undefined;

  constructor(algs: readonly ChecksumAlgorithm[], alsoMd5: boolean, opts?: TransformOptions) {
    super(opts);
    this.algs = [...new Set(algs)];
    this.hashers = this.algs.map((a) => createHasher(a));
    this.md5Hasher = alsoMd5 ? createMd5() : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.results !== undefined) {
      cb(new Error('ChecksumTransform: data written after digests() was read'));
      return;
    }
    const hs = this.hashers;
    for (let i = 0; i < hs.length; i++) hs[i].update(chunk);
    if (this.md5Hasher !== undefined) this.md5Hasher.update(chunk);
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
    this.md5Result = this.md5Hasher?.digest();
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

  /** Raw MD5 digest (undefined unless alsoMd5 was set). Same timing rule as digests(). */
  md5(): Buffer | undefined {
    this.finalizeDigests();
    return this.md5Result;
  }
}

export function checksumTransform(
  algs: readonly ChecksumAlgorithm[],
  alsoMd5: boolean,
  opts?: TransformOptions,
): ChecksumTransform {
  return new ChecksumTransform(algs, alsoMd5, opts);
}
