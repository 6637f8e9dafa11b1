// Types for sse-c-seal.mjs (plain JavaScript, see there).
export declare const CHUNK_SIZE: number;
export declare const TAG_SIZE: number;
export declare const CIPHER: 'aes-256-gcm';
export declare function fillIvAad(iv: Buffer, aad: Buffer, index: number, last: boolean): void;
export declare class ChunkSealer {
  constructor(dataKey: Buffer);
  write(bytes: Uint8Array, emit: (stored: Buffer) => void): void;
  end(emit: (stored: Buffer) => void): void;
}
