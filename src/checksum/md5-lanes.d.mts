// Types for md5-lanes.mjs (plain JavaScript, see there).
export declare const SEGMENT: number;
export declare const RING: number;
export declare class Md5Lanes {
  /** now: a millisecond clock (default performance.now); kernel: how to instantiate the kernel */
  constructor(options?: { now?: () => number; kernel?: typeof import('./md5-wasm.mjs').instantiateMd5Kernel });
  open(): Md5Lane;
  /** Rounds run, by the number of lanes that took part (index 1-4). */
  readonly roundsByLanes: number[];
  readonly lanesInUse: number;
  /** bytes of kernel memory: state, scratch and the rings of the lanes used so far */
  readonly memoryBytes: number;
}
export declare class Md5Lane {
  update(bytes: Uint8Array): this;
  shouldWait(bytes: number): boolean;
  digest(): Buffer;
  discard(): void;
}
