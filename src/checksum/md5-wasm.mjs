// @ts-check
// A WebAssembly SIMD function that advances four independent MD5 computations at once, one per
// 32-bit lane of a 128-bit vector (RFC 1321 block function; padding and lane scheduling are the
// caller's job: see md5-lanes.mjs).
//
// Why: MD5 is a serial chain inside one stream, so one core hashes one upload at about
// 650 MB/s (OpenSSL). It was the largest single CPU cost of a large PUT. Four streams side
// by side in vector lanes run at about 1.4 GB/s in total on the same core (measured on the
// development machine), about 2.2x OpenSSL's single stream.
// Why WebAssembly rather than a native addon: no build step, no per-CPU code paths, and every
// memory access is bounds-checked by the engine.
//
// The module is emitted here, instruction by instruction, instead of being shipped as a binary,
// so that what runs is readable in this file. It exports `memory` (its own linear memory,
// `pages` 64 KiB pages, growable) and
//   blocks(state, p0, p1, p2, p3, count)
// which hashes `count` 64-byte blocks of each lane: lane i reads bytes [pi, pi + 64*count).
// The state is 64 bytes at `state`: four vectors A, B, C, D, each holding the word of lanes
// 0-3 in order (so lane i's A is the little-endian u32 at state + 4*i). It also exports
//   laneBlocks(state, lane, p, count)
// which hashes `count` blocks at p into one lane of the same state with scalar instructions,
// leaving the other lanes as they are.

/** Per-step shift amounts (RFC 1321), by round and step within the round. */
const SHIFTS = [
  [7, 12, 17, 22],
  [5, 9, 14, 20],
  [4, 11, 16, 23],
  [6, 10, 15, 21],
];
/** The 64 additive constants: floor(abs(sin(i + 1)) * 2^32). */
const SINES = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);
/**
 * The 64 steps of a block, a = b + rotl(a + f(b, c, d) + m[word] + sine, shift): the round
 * (which f), the message word, the shift, the constant, and which of the four state registers
 * plays a, b, c and d (they rotate by one register each step).
 */
const STEPS = Array.from({ length: 64 }, (_, i) => {
  const round = i >> 4;
  return {
    round,
    word: [i, (5 * i + 1) % 16, (3 * i + 5) % 16, (7 * i) % 16][round],
    shift: SHIFTS[round][i % 4],
    sine: SINES[i],
    roles: [0, 1, 2, 3].map((role) => (role - (i % 4) + 4) % 4),
  };
});

// WebAssembly encoding helpers (binary format, https://webassembly.github.io/spec/core/binary/).
/** @param {number} n */
function unsignedLeb(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}
/** @param {number} n */
function signedLeb(n) {
  const out = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}
/** @param {number[][]} items */
const vector = (items) => [...unsignedLeb(items.length), ...items.flat()];
/** @param {string} name */
const utf8Name = (name) => vector([...Buffer.from(name)].map((b) => [b]));
/** @param {number} id @param {number[]} bytes */
const section = (id, bytes) => [id, ...unsignedLeb(bytes.length), ...bytes];

const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Add: 0x6a,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32Rotl: 0x77,
  i32Load: 0x28,
  i32Store: 0x36,
  emptyBlockType: 0x40,
};
/** SIMD instructions: prefix 0xfd, then the opcode as unsigned LEB128. */
const simd = {
  load: 0x00,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  not: 0x4d,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  i32x4Shl: 0xab,
  i32x4ShrU: 0xad,
  i32x4Add: 0xae,
};

/** The function body's instructions, built with named operations. */
class Emitter {
  /** @type {number[]} */
  bytes = [];
  /** @param {number[]} b */
  raw(...b) {
    this.bytes.push(...b);
  }
  /** @param {number} local */
  get(local) {
    this.raw(op.localGet, ...unsignedLeb(local));
  }
  /** @param {number} local */
  set(local) {
    this.raw(op.localSet, ...unsignedLeb(local));
  }
  /** Push the 32-bit constant `value` (taken modulo 2^32). @param {number} value */
  i32(value) {
    this.raw(op.i32Const, ...signedLeb(value | 0));
  }
  /** `local += amount` for an i32 local. @param {number} local @param {number} amount */
  addTo(local, amount) {
    this.get(local);
    this.i32(amount);
    this.raw(op.i32Add);
    this.set(local);
  }
  /** @param {number} code @param {number[]} immediates */
  simd(code, ...immediates) {
    this.raw(0xfd, ...unsignedLeb(code), ...immediates);
  }
  /** v128.load from [address local + offset] (alignment hint 16 bytes). */
  load(addressLocal, offset) {
    this.get(addressLocal);
    this.simd(simd.load, 4, ...unsignedLeb(offset));
  }
  /** v128.store of `valueLocal` to [address local + offset]. */
  store(addressLocal, offset, valueLocal) {
    this.get(addressLocal);
    this.get(valueLocal);
    this.simd(simd.store, 4, ...unsignedLeb(offset));
  }
  /** Shuffle two vectors on the stack by 32-bit lane indices (0-3 first operand, 4-7 second). */
  shuffleWords(/** @type {number[]} */ words) {
    this.simd(simd.shuffle, ...words.flatMap((w) => [w * 4, w * 4 + 1, w * 4 + 2, w * 4 + 3]));
  }
  /** Push a vector with `word` in every lane. */
  splat(/** @type {number} */ word) {
    const b = Buffer.alloc(16);
    for (let lane = 0; lane < 4; lane++) b.writeUInt32LE(word, lane * 4);
    this.simd(simd.const, ...b);
  }
  /** `to[i] = from[i]` for each pair of locals. @param {number[]} from @param {number[]} to */
  copyLocals(from, to) {
    from.forEach((local, i) => {
      this.get(local);
      this.set(to[i]);
    });
  }
  /** `while (count != 0) { body(); count-- }` @param {number} countLocal @param {() => void} body */
  countedLoop(countLocal, body) {
    this.raw(op.block, op.emptyBlockType, op.loop, op.emptyBlockType);
    this.get(countLocal);
    this.raw(op.i32Eqz, op.brIf, 1); // count == 0: leave the loop
    body();
    this.addTo(countLocal, -1);
    this.raw(op.br, 0, op.end, op.end); // again; end of loop and block
  }
  /** Shift every lane of the vector on the stack (left or logical right) by a constant. */
  shift(/** @type {number} */ code, /** @type {number} */ amount) {
    this.i32(amount);
    this.simd(code);
  }
}

/** The body of blocks(): four lanes at once. */
function vectorBody() {
  // Parameters: state, p0..p3, count. Locals: the state, its copy at block start, the 16
  // message words (transposed so vector m[j] holds word j of each lane), and shuffle temporaries.
  const STATE = 0;
  const LANE_POINTERS = [1, 2, 3, 4];
  const COUNT = 5;
  let nextLocal = 6;
  const local = () => nextLocal++;
  const abcd = [local(), local(), local(), local()];
  const saved = [local(), local(), local(), local()];
  const words = Array.from({ length: 16 }, local);
  const loaded = [local(), local(), local(), local()];
  const pairs = [local(), local(), local(), local()];
  const v128Locals = nextLocal - 6;

  const e = new Emitter();
  abcd.forEach((reg, i) => {
    e.load(STATE, 16 * i);
    e.set(reg);
  });
  e.countedLoop(COUNT, () => {
    vectorBlock(e, LANE_POINTERS, { abcd, saved, words, loaded, pairs });
  });
  abcd.forEach((reg, i) => e.store(STATE, 16 * i, reg));
  e.raw(op.end);

  return [...vector([[...unsignedLeb(v128Locals), V128]]), ...e.bytes];
}

/**
 * @typedef {object} StepInstructions how one instruction set (vector or scalar) emits a step
 * @property {() => void} add pops two values, pushes their sum (mod 2^32 per lane)
 * @property {((b: number, c: number, d: number) => void)[]} functions F, G, H, I of the locals b, c, d
 * @property {(word: number) => void} word pushes message word `word` of the block
 * @property {(value: number) => void} constant pushes a constant
 * @property {(scratch: number, shift: number) => void} rotateLeft rotates the value on the stack (may use local `scratch`)
 */

/**
 * The 64 steps of one block over the state locals `abcd`, which are saved first and added back
 * after (RFC 1321): a = b + rotl(a + f(b, c, d) + m[word] + sine, shift).
 * @param {Emitter} e @param {number[]} abcd @param {number[]} saved @param {StepInstructions} isa
 */
function blockSteps(e, abcd, saved, isa) {
  e.copyLocals(abcd, saved);
  for (const step of STEPS) {
    const [a, b, c, d] = step.roles.map((role) => abcd[role]);
    isa.functions[step.round](b, c, d);
    e.get(a);
    isa.add();
    isa.word(step.word);
    isa.add();
    isa.constant(step.sine);
    isa.add();
    isa.rotateLeft(a, step.shift);
    e.get(b);
    isa.add();
    e.set(a);
  }
  abcd.forEach((reg, i) => {
    e.get(reg);
    e.get(saved[i]);
    isa.add();
    e.set(reg);
  });
}

/**
 * One 64-byte block of each lane: read at the lane pointers, which then move on by 64.
 * @param {Emitter} e @param {number[]} lanePointers
 * @param {{ abcd: number[], saved: number[], words: number[], loaded: number[], pairs: number[] }} locals
 */
function vectorBlock(e, lanePointers, { abcd, saved, words, loaded, pairs }) {
  // Message words: load 16 bytes of each lane at a time and transpose the 4x4 word matrix.
  for (let quarter = 0; quarter < 4; quarter++) {
    lanePointers.forEach((pointer, lane) => {
      e.load(pointer, 16 * quarter);
      e.set(loaded[lane]);
    });
    const interleave = (/** @type {number} */ x, /** @type {number} */ y, /** @type {number[]} */ order, /** @type {number} */ into) => {
      e.get(x);
      e.get(y);
      e.shuffleWords(order);
      e.set(into);
    };
    interleave(loaded[0], loaded[1], [0, 4, 1, 5], pairs[0]); // w0 of lanes 0,1; w1 of lanes 0,1
    interleave(loaded[2], loaded[3], [0, 4, 1, 5], pairs[1]); // same for lanes 2,3
    interleave(loaded[0], loaded[1], [2, 6, 3, 7], pairs[2]); // w2, w3 of lanes 0,1
    interleave(loaded[2], loaded[3], [2, 6, 3, 7], pairs[3]);
    interleave(pairs[0], pairs[1], [0, 1, 4, 5], words[4 * quarter]);
    interleave(pairs[0], pairs[1], [2, 3, 6, 7], words[4 * quarter + 1]);
    interleave(pairs[2], pairs[3], [0, 1, 4, 5], words[4 * quarter + 2]);
    interleave(pairs[2], pairs[3], [2, 3, 6, 7], words[4 * quarter + 3]);
  }
  blockSteps(e, abcd, saved, {
    add: () => e.simd(simd.i32x4Add),
    functions: [
      // F = (b & c) | (~b & d)
      (b, c, d) => {
        e.get(c);
        e.get(d);
        e.get(b);
        e.simd(simd.bitselect);
      },
      // G = (b & d) | (c & ~d)
      (b, c, d) => {
        e.get(b);
        e.get(c);
        e.get(d);
        e.simd(simd.bitselect);
      },
      // H = b ^ c ^ d
      (b, c, d) => {
        e.get(b);
        e.get(c);
        e.simd(simd.xor);
        e.get(d);
        e.simd(simd.xor);
      },
      // I = c ^ (b | ~d)
      (b, c, d) => {
        e.get(c);
        e.get(b);
        e.get(d);
        e.simd(simd.not);
        e.simd(simd.or);
        e.simd(simd.xor);
      },
    ],
    word: (word) => e.get(words[word]),
    constant: (value) => e.splat(value),
    // No vector rotate in WebAssembly: (x << s) | (x >>> (32 - s)), through a local.
    rotateLeft: (scratch, shift) => {
      e.set(scratch);
      e.get(scratch);
      e.shift(simd.i32x4Shl, shift);
      e.get(scratch);
      e.shift(simd.i32x4ShrU, 32 - shift);
      e.simd(simd.or);
    },
  });
  for (const pointer of lanePointers) e.addTo(pointer, 64);
}

/**
 * The body of laneBlocks(state, lane, p, count): one lane alone, with scalar instructions
 * (about 0.7x the speed of OpenSSL for one stream, measured), for a lane whose group has no
 * other bytes ready.
 */
function scalarBody() {
  const STATE = 0;
  const LANE = 1;
  const POINTER = 2;
  const COUNT = 3;
  const ADDRESS = 4; // state + 4 * lane: where the lane's word A is; B, C, D follow at +16
  const abcd = [5, 6, 7, 8];
  const saved = [9, 10, 11, 12];
  const e = new Emitter();
  e.get(STATE);
  e.get(LANE);
  e.i32(2);
  e.raw(op.i32Shl, op.i32Add);
  e.set(ADDRESS);
  abcd.forEach((reg, i) => {
    e.get(ADDRESS);
    e.raw(op.i32Load, 2, ...unsignedLeb(16 * i));
    e.set(reg);
  });
  e.countedLoop(COUNT, () => scalarBlock(e, POINTER, abcd, saved));
  abcd.forEach((reg, i) => {
    e.get(ADDRESS);
    e.get(reg);
    e.raw(op.i32Store, 2, ...unsignedLeb(16 * i));
  });
  e.raw(op.end);
  return [...vector([[9, I32]]), ...e.bytes];
}

/**
 * One 64-byte block at the pointer, which then moves on by 64.
 * @param {Emitter} e @param {number} pointer @param {number[]} abcd @param {number[]} saved
 */
function scalarBlock(e, pointer, abcd, saved) {
  blockSteps(e, abcd, saved, {
    add: () => e.raw(op.i32Add),
    functions: [
      // F = d ^ (b & (c ^ d))
      (b, c, d) => {
        e.get(d);
        e.get(b);
        e.get(c);
        e.get(d);
        e.raw(op.i32Xor, op.i32And, op.i32Xor);
      },
      // G = c ^ (d & (b ^ c))
      (b, c, d) => {
        e.get(c);
        e.get(d);
        e.get(b);
        e.get(c);
        e.raw(op.i32Xor, op.i32And, op.i32Xor);
      },
      // H = b ^ c ^ d
      (b, c, d) => {
        e.get(b);
        e.get(c);
        e.raw(op.i32Xor);
        e.get(d);
        e.raw(op.i32Xor);
      },
      // I = c ^ (b | ~d)
      (b, c, d) => {
        e.get(c);
        e.get(b);
        e.get(d);
        e.i32(-1);
        e.raw(op.i32Xor, op.i32Or, op.i32Xor);
      },
    ],
    word: (word) => {
      e.get(pointer);
      e.raw(op.i32Load, 2, ...unsignedLeb(4 * word));
    },
    constant: (value) => e.i32(value),
    rotateLeft: (_scratch, shift) => {
      e.i32(shift);
      e.raw(op.i32Rotl);
    },
  });
  e.addTo(pointer, 64);
}

/** The kernel module's bytes, for `pages` 64 KiB pages of initial memory. @param {number} pages */
export function md5KernelBytes(pages) {
  const i32Params = (/** @type {number} */ n) => [0x60, ...vector(Array.from({ length: n }, () => [I32])), ...vector([])];
  const bodies = [vectorBody(), scalarBody()];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
    ...section(1, vector([i32Params(6), i32Params(4)])),
    ...section(3, vector([[0], [1]])),
    ...section(5, vector([[0x00, ...unsignedLeb(pages)]])), // memory without maximum
    ...section(7, vector([[...utf8Name('blocks'), 0x00, 0], [...utf8Name('laneBlocks'), 0x00, 1], [...utf8Name('memory'), 0x02, 0]])),
    ...section(10, vector(bodies.map((body) => [...unsignedLeb(body.length), ...body]))),
  ]);
}

/** @type {WebAssembly.Module | undefined} */
let compiled;
const INITIAL_PAGES = 1;

/**
 * A new instance of the kernel with its own memory (grow it with memory.grow).
 * @returns {{ blocks: (state: number, p0: number, p1: number, p2: number, p3: number, count: number) => void, laneBlocks: (state: number, lane: number, p: number, count: number) => void, memory: WebAssembly.Memory }}
 */
export function instantiateMd5Kernel() {
  compiled ??= new WebAssembly.Module(md5KernelBytes(INITIAL_PAGES));
  const instance = new WebAssembly.Instance(compiled, {});
  return /** @type {any} */ (instance.exports);
}

/** The initial state words A, B, C, D (RFC 1321). */
export const MD5_INITIAL_STATE = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
