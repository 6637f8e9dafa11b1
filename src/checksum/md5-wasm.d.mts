// Types for md5-wasm.mjs (plain JavaScript, see there).
export declare function md5KernelBytes(pages: number): Uint8Array;
export declare function instantiateMd5Kernel(): {
  blocks(state: number, p0: number, p1: number, p2: number, p3: number, count: number): void;
  laneBlocks(state: number, lane: number, p: number, count: number): void;
  memory: WebAssembly.Memory;
};
export declare const MD5_INITIAL_STATE: number[];
