// @ts-check
// Sealing plaintext into the SSE-C stored format (version 1; README "Security", steps 4-6):
// the plaintext is cut into CHUNK_SIZE chunks, chunk i is encrypted with AES-256-GCM under the
// object's data key with IV = 0x00000000 ‖ uint64_be(i) and AAD = uint64_be(i) ‖ (1 if last
// else 0), and stored as ciphertext ‖ 16-byte tag. An empty object is one empty chunk.
//
// Plain JavaScript so that there is one definition for both users: crypto/sse-c.ts (on the
// event loop, and for reading) and the blob writer threads (store/ingest-worker.mjs), which
// Node loads without a TypeScript loader.
import { createCipheriv } from 'node:crypto';

/**
 * Plaintext bytes per chunk (format v1).
 * DO NOT CHANGE: every SSE-C blob already written depends on this value. A different chunk size
 * needs a new format version, and the reader must keep version 1.
 */
export const CHUNK_SIZE = 65536;
/** GCM tag bytes after each chunk's ciphertext (format v1). DO NOT CHANGE. */
export const TAG_SIZE = 16;
export const CIPHER = 'aes-256-gcm';

/**
 * Write chunk `index`'s IV (12 bytes: four zero bytes, then uint64_be(index)) and AAD (9 bytes:
 * uint64_be(index) then the last-chunk flag). The buffers can be reused because createCipheriv
 * copies the IV and setAAD consumes the AAD immediately.
 * @param {Buffer} iv @param {Buffer} aad @param {number} index @param {boolean} last
 */
export function fillIvAad(iv, aad, index, last) {
  const hi = Math.floor(index / 0x1_0000_0000);
  const lo = index >>> 0;
  iv.writeUInt32BE(0, 0);
  iv.writeUInt32BE(hi, 4);
  iv.writeUInt32BE(lo, 8);
  aad.writeUInt32BE(hi, 0);
  aad.writeUInt32BE(lo, 4);
  aad[8] = last ? 1 : 0;
}

/**
 * Turns plaintext, given in pieces of any size, into stored bytes. A full chunk is sealed only
 * once a further byte arrives (until then it might be the last); end() seals the rest.
 * Memory: one chunk.
 */
export class ChunkSealer {
  /** @param {Buffer} dataKey 32 bytes */
  constructor(dataKey) {
    this.key = dataKey;
    this.index = 0;
    this.plain = Buffer.allocUnsafe(CHUNK_SIZE);
    this.fill = 0;
    this.iv = Buffer.alloc(12);
    this.aad = Buffer.alloc(9);
  }

  /**
   * @param {Uint8Array} bytes plaintext
   * @param {(stored: Buffer) => void} emit receives stored bytes, in order
   */
  write(bytes, emit) {
    const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    while (at < input.length) {
      if (this.fill === CHUNK_SIZE) this.seal(false, emit);
      const n = Math.min(CHUNK_SIZE - this.fill, input.length - at);
      input.copy(this.plain, this.fill, at, at + n);
      this.fill += n;
      at += n;
    }
  }

  /** Seal what is left as the last chunk (possibly empty). @param {(stored: Buffer) => void} emit */
  end(emit) {
    this.seal(true, emit);
  }

  /** @param {boolean} last @param {(stored: Buffer) => void} emit */
  seal(last, emit) {
    fillIvAad(this.iv, this.aad, this.index, last);
    const cipher = createCipheriv(CIPHER, this.key, this.iv, { authTagLength: TAG_SIZE });
    cipher.setAAD(this.aad);
    const sealed = cipher.update(this.plain.subarray(0, this.fill));
    cipher.final(); // GCM emits nothing here
    emit(sealed);
    emit(cipher.getAuthTag());
    this.index++;
    this.fill = 0;
  }
}
