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
  /** a zeroed 4096-byte block of the kernel memory, aligned as every ring is (to probe direct I/O) */
  alignmentProbe(): Buffer;
  /** bytes of kernel memory: state, scratch and the rings of the lanes used so far */
  readonly memoryBytes: number;
}
export declare class Md5Lane {
  /** bytes given to update() while in a ring */
  readonly total: number;
  /** whether the bytes go through a ring (ringView can show them) */
  readonly inRing: boolean;
  /** called before the lane leaves its ring for OpenSSL, while ringView(0, total) still works */
  onLeavingRing: (() => void) | undefined;
  /** bytes [from, to) of the stream, from the ring: within one RING-aligned stretch, among the last RING appended */
  ringView(from: number, to: number): Buffer;
  update(bytes: Uint8Array): this;
  shouldWait(bytes: number): boolean;
  digest(): Buffer;
  discard(): void;
}
