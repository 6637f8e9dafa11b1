// @ts-check
// MD5 of several uploads at once, four side by side in the vector lanes of md5-wasm.mjs.
//
// Each hasher (one per upload) owns a lane: a slot in groups of four that share one call of
// the kernel, and a ring buffer in the kernel's memory that holds its bytes until they are
// hashed. Bytes are copied into the ring as they arrive, so the caller can let go of its buffer
// at once; they are hashed in rounds of SEGMENT bytes from every lane of the group that has that
// many waiting:
// - as soon as every open lane of the group has a segment waiting (and there are at least two:
//   one lane alone is better served by OpenSSL), or
// - when a lane's ring is full (the other lanes are slow or idle): then only the lanes with a
//   segment waiting take part (one alone runs the scalar kernel), and the others' state is put
//   back after the call. The caller avoids this where it can: shouldWait() tells it to hold a
//   stream's bytes back while a partner that is still sending catches up.
// A lane that fills its ring while alone in its group and before any round hands its bytes to
// OpenSSL and continues there (OpenSSL hashes one stream about 1.4x as fast as the scalar kernel),
// as does a hasher opened when every slot is taken. digest() hashes what is left of a lane in
// shared rounds while it has whole segments, then pads the tail in a round of its own.
//
// A lane's ring can also be where its owner writes the bytes from (the blob writer writes them
// to disk with direct I/O straight out of the ring, saving a copy per byte): ringView() shows
// them, and onLeavingRing is called before a lane gives its ring up for OpenSSL, while its
// bytes are still there. The ring does not know what its owner has written: an owner that
// reads from it must read every byte before RING more bytes have been appended after it.
//
// Plain JavaScript: the blob writer threads (store/ingest-worker.mjs) load it without a
// TypeScript loader.
import { createHash } from 'node:crypto';
import { instantiateMd5Kernel, MD5_INITIAL_STATE } from './md5-wasm.mjs';

const LANES = 4;
/** Bytes of each lane hashed by one round. */
export const SEGMENT = 128 * 1024;
/** Bytes a lane may hold before it forces a round; a whole number of segments. */
export const RING = 4 * 1024 * 1024;
/**
 * A partner that has had no bytes for this long is not waited for. Longer than the usual gap
 * between an upload's data messages (about 1 MiB each) under load, so that ordinary jitter does
 * not count as a stall.
 */
const ACTIVE_MS = 100;
/**
 * Lanes per instance (a writer thread); hashers opened beyond it use OpenSSL. Each lane's ring
 * costs RING bytes of memory while the thread has uploads: 64 MiB at most.
 */
const MAX_LANES = 16;
/** Memory kept when the last lane closes; a larger memory is dropped with its instance. */
const IDLE_LANES = 4;
const PAGE = 65536;
/** Memory layout: the groups' states, then the scratch block for final padding, then the rings. */
const STATE_BYTES = 64;
const SCRATCH = Math.ceil((STATE_BYTES * (MAX_LANES / LANES)) / PAGE) * PAGE;
const SCRATCH_BYTES = SEGMENT + 2 * 64;
/** Size of alignmentProbe()'s block: a multiple of every common logical block size. */
const PROBE_BYTES = 4096;
const RINGS = SCRATCH + Math.ceil(SCRATCH_BYTES / PAGE) * PAGE;

export class Md5Lanes {
  /** Open hashers by slot; slot s is lane s % 4 of group s / 4. @type {(Md5Lane | undefined)[]} */
  slots = [];
  /** Rounds run, by the number of lanes that took part (index 1-4): how well streams line up. */
  roundsByLanes = [0, 0, 0, 0, 0];
  /** Views of the kernel's memory, renewed when it grows. */
  bytes = Buffer.alloc(0);
  words = new Uint32Array(0);

  /**
   * @param {{ now?: () => number, kernel?: typeof instantiateMd5Kernel }} [options] `now`: a
   *   millisecond clock; `kernel`: how to instantiate the kernel (tests pass their own of both)
   */
  constructor(options = {}) {
    this.now = options.now ?? (() => performance.now());
    this.instantiate = options.kernel ?? instantiateMd5Kernel;
    /** @type {ReturnType<typeof instantiateMd5Kernel> | undefined} */
    this.kernel = undefined;
    try {
      this.kernel = this.instantiate();
      this.ensureMemory(RINGS);
    } catch {
      // No WebAssembly SIMD here (node --jitless, or a CPU without it): every hasher uses OpenSSL.
      this.kernel = undefined;
    }
  }

  /** A new hasher, in a free lane if there is one, else on OpenSSL. */
  open() {
    const lane = new Md5Lane(this);
    lane.lastUpdate = this.now();
    let slot = this.slots.findIndex((s) => s === undefined);
    if (slot < 0 && this.slots.length < MAX_LANES) slot = this.slots.length;
    if (slot < 0 || !this.kernel) {
      lane.fallback = createHash('md5');
      return lane;
    }
    this.ensureMemory(ringAt(slot) + RING);
    this.slots[slot] = lane;
    lane.slot = slot;
    for (let word = 0; word < 4; word++) this.words[stateWord(slot, word)] = MD5_INITIAL_STATE[word];
    return lane;
  }

  /** Lanes in use (for tests and diagnostics). */
  get lanesInUse() {
    return this.slots.filter((s) => s !== undefined).length;
  }

  /** @param {number} size */
  ensureMemory(size) {
    const memory = /** @type {WebAssembly.Memory} */ (this.kernel?.memory);
    if (memory.buffer.byteLength < size) memory.grow(Math.ceil((size - memory.buffer.byteLength) / PAGE));
    if (this.bytes.buffer !== memory.buffer) {
      this.bytes = Buffer.from(memory.buffer);
      this.words = new Uint32Array(memory.buffer);
    }
  }

  /** Open lanes of a group, in lane order. @param {number} group */
  members(group) {
    /** @type {Md5Lane[]} */
    const out = [];
    for (let slot = group * LANES; slot < group * LANES + LANES; slot++) {
      const lane = this.slots[slot];
      if (lane) out.push(lane);
    }
    return out;
  }

  /** @param {Md5Lane} lane @param {Uint8Array} bytes */
  append(lane, bytes) {
    let at = 0;
    while (at < bytes.length) {
      if (lane.length === RING) this.makeRoom(lane);
      if (lane.fallback) {
        lane.fallback.update(bytes.subarray(at));
        return;
      }
      const writeAt = (lane.start + lane.length) % RING;
      const n = Math.min(bytes.length - at, RING - lane.length, RING - writeAt);
      this.bytes.set(bytes.subarray(at, at + n), ringAt(lane.slot) + writeAt);
      lane.length += n;
      lane.total += n;
      at += n;
    }
    this.hashWhileAllReady(groupOf(lane.slot));
  }

  /** @param {number} group */
  hashWhileAllReady(group) {
    for (;;) {
      const members = this.members(group);
      if (members.length < 2 || members.some((m) => m.length < SEGMENT)) return;
      this.round(group, members);
    }
  }

  /** A full ring: hash a segment of it, with whichever lanes of its group have one ready. @param {Md5Lane} lane */
  makeRoom(lane) {
    if (!lane.started && this.members(groupOf(lane.slot)).length === 1) {
      // Alone in its group: OpenSSL hashes one stream faster than the scalar kernel. Before any
      // round the lane's bytes are at the start of its ring, in order.
      lane.onLeavingRing?.();
      const hash = createHash('md5').update(this.bytes.subarray(ringAt(lane.slot), ringAt(lane.slot) + lane.length));
      this.free(lane);
      lane.fallback = hash;
      return;
    }
    const group = groupOf(lane.slot);
    this.round(
      group,
      this.members(group).filter((m) => m.length >= SEGMENT),
    );
  }

  /**
   * Hash one segment of each lane in `ready` (all of one group, each with a segment waiting).
   * @param {number} group @param {Md5Lane[]} ready
   */
  round(group, ready) {
    this.roundsByLanes[ready.length]++;
    if (ready.length === 1) {
      const [only] = ready;
      this.kernel.laneBlocks(group * STATE_BYTES, only.slot % LANES, ringAt(only.slot) + only.start, SEGMENT / 64);
    } else this.vectorRound(group, ready);
    for (const m of ready) {
      m.start = (m.start + SEGMENT) % RING;
      m.length -= SEGMENT;
      m.started = true;
    }
  }

  /** @param {number} group @param {Md5Lane[]} ready */
  vectorRound(group, ready) {
    const pointers = [0, 0, 0, 0];
    /** @type {number[]} */
    const idle = [];
    for (let lane = 0; lane < LANES; lane++) {
      const member = ready.find((m) => m.slot % LANES === lane);
      if (member) pointers[lane] = ringAt(member.slot) + member.start;
      else idle.push(lane);
    }
    this.withIdleLanesKept(group, idle, () => {
      for (const lane of idle) pointers[lane] = pointers[ready[0].slot % LANES];
      this.kernel.blocks(group * STATE_BYTES, pointers[0], pointers[1], pointers[2], pointers[3], SEGMENT / 64);
    });
  }

  /**
   * Run `hash`, which also advances the lanes in `idle` (they read someone else's bytes), and
   * put their state back.
   * @param {number} group @param {number[]} idle @param {() => void} hash
   */
  withIdleLanesKept(group, idle, hash) {
    const kept = idle.map((lane) => [0, 1, 2, 3].map((word) => this.words[stateWord(group * LANES + lane, word)]));
    hash();
    idle.forEach((lane, i) => {
      for (let word = 0; word < 4; word++) this.words[stateWord(group * LANES + lane, word)] = kept[i][word];
    });
  }

  /** The lane's digest; frees the lane. @param {Md5Lane} lane @returns {Buffer} */
  finish(lane) {
    const slot = lane.slot;
    if (!lane.started) {
      const digest = createHash('md5').update(this.bytes.subarray(ringAt(slot), ringAt(slot) + lane.length)).digest();
      this.free(lane);
      return digest;
    }
    const group = groupOf(slot);
    while (lane.length >= SEGMENT) this.round(group, this.members(group).filter((m) => m.length >= SEGMENT));
    // The tail (less than a segment, so not wrapped: segments start at multiples of SEGMENT),
    // then 0x80, zeros, and the length in bits as a little-endian u64, to a whole block.
    const tail = lane.length;
    const padded = Math.ceil((tail + 9) / 64) * 64;
    this.bytes.copyWithin(SCRATCH, ringAt(slot) + lane.start, ringAt(slot) + lane.start + tail);
    this.bytes.fill(0, SCRATCH + tail, SCRATCH + padded);
    this.bytes[SCRATCH + tail] = 0x80;
    const bits = lane.total * 8;
    this.bytes.writeUInt32LE(bits % 2 ** 32, SCRATCH + padded - 8);
    this.bytes.writeUInt32LE(Math.floor(bits / 2 ** 32), SCRATCH + padded - 4);
    this.kernel.laneBlocks(group * STATE_BYTES, slot % LANES, SCRATCH, padded / 64);
    const digest = Buffer.alloc(16);
    for (let word = 0; word < 4; word++) digest.writeUInt32LE(this.words[stateWord(slot, word)], word * 4);
    this.free(lane);
    return digest;
  }

  /** @param {Md5Lane} lane */
  free(lane) {
    if (lane.slot < 0) return;
    this.slots[lane.slot] = undefined;
    while (this.slots.length > 0 && this.slots[this.slots.length - 1] === undefined) this.slots.pop();
    lane.slot = -1;
    // WebAssembly memory cannot shrink: after a burst of uploads, start over with a small one.
    if (this.slots.length === 0 && this.memoryBytes > ringAt(IDLE_LANES)) {
      this.kernel = this.instantiate();
      this.ensureMemory(RINGS);
    }
  }

  /**
   * A zeroed block of BLOCK bytes of the kernel memory, aligned as every ring is (each starts at
   * a multiple of PAGE): where a direct write from it is refused, it would be from the rings too.
   */
  alignmentProbe() {
    const probe = this.bytes.subarray(SCRATCH, SCRATCH + PROBE_BYTES);
    probe.fill(0);
    return probe;
  }

  /** Bytes of kernel memory (state, scratch and the rings of the lanes used so far). */
  get memoryBytes() {
    return this.kernel ? this.kernel.memory.buffer.byteLength : 0;
  }
}

/** One stream's MD5, with the update/digest shape of node:crypto's Hash. */
export class Md5Lane {
  slot = -1;
  /** Ring offset of the first byte not yet hashed (a multiple of SEGMENT). */
  start = 0;
  /** Bytes waiting in the ring. */
  length = 0;
  /** Bytes given to update() while in a lane. */
  total = 0;
  /** When bytes last arrived (the owner's clock, ms). */
  lastUpdate = 0;
  /** Whether a round has hashed any of this lane's bytes. */
  started = false;
  /** @type {import('node:crypto').Hash | undefined} */
  fallback;
  done = false;
  /**
   * Called before the lane gives its ring up for OpenSSL (alone in its group), while its bytes
   * [0, total) are still in the ring, so that an owner reading them from there can take them.
   * @type {(() => void) | undefined}
   */
  onLeavingRing;

  /** @param {Md5Lanes} owner */
  constructor(owner) {
    this.owner = owner;
  }

  /** @param {Uint8Array} bytes */
  update(bytes) {
    if (this.done) throw new Error('MD5 lane already finished');
    this.lastUpdate = this.owner.now();
    if (this.fallback) this.fallback.update(bytes);
    else this.owner.append(this, bytes);
    return this;
  }

  /**
   * Whether taking `bytes` now would hash this lane without a stream of its group that is worth
   * waiting for: its ring lacks room, and a partner without a segment ready has had bytes (or
   * was opened) within the last ACTIVE_MS. A partner quiet for longer (a stalled or very slow
   * client) is not waited for.
   * @param {number} bytes
   */
  shouldWait(bytes) {
    if (this.fallback || this.slot < 0 || this.length + bytes <= RING) return false;
    const now = this.owner.now();
    return this.owner.members(groupOf(this.slot)).some((m) => m !== this && m.length < SEGMENT && now - m.lastUpdate < ACTIVE_MS);
  }

  /** Whether the lane's bytes go through a ring (else OpenSSL has them, and ringView cannot show them). */
  get inRing() {
    return this.slot >= 0 && !this.fallback;
  }

  /**
   * The bytes at stream positions [from, to) as a view of the ring (valid until the next
   * update, digest or discard). They must not cross the ring's end (a multiple of RING) and
   * must be among the last RING bytes appended: the caller reads each byte in time (see above).
   * @param {number} from @param {number} to
   * @returns {Buffer}
   */
  ringView(from, to) {
    const crossesEnd = to > from && Math.floor(from / RING) !== Math.floor((to - 1) / RING);
    if (!this.inRing || from < this.total - RING || to > this.total || from > to || crossesEnd) {
      throw new Error(`MD5 lane ring holds no bytes [${from}, ${to}) (${this.total} appended)`);
    }
    const at = ringAt(this.slot) + (from % RING);
    return this.owner.bytes.subarray(at, at + (to - from));
  }

  /** @returns {Buffer} */
  digest() {
    if (this.done) throw new Error('MD5 lane already finished');
    this.done = true;
    return this.fallback ? this.fallback.digest() : this.owner.finish(this);
  }

  /** Give the lane up without a digest (the upload failed); idempotent. */
  discard() {
    this.done = true;
    this.owner.free(this);
  }
}

/** @param {number} slot */
const groupOf = (slot) => Math.floor(slot / LANES);
/** @param {number} slot */
const ringAt = (slot) => RINGS + slot * RING;
/** Index in the Uint32 view of state word `word` (A..D) of a slot's lane. @param {number} slot @param {number} word */
const stateWord = (slot, word) => (groupOf(slot) * STATE_BYTES + 16 * word + 4 * (slot % LANES)) / 4;
