// The MD5 that names every object's ETag, computed four uploads at a time in WebAssembly vector
// lanes. Every digest must equal node:crypto's, whatever the sizes, the interleaving of
// updates, the number of streams and which of them finish, fail or wait.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Md5Lanes, RING, SEGMENT } from '../../src/checksum/md5-lanes.mjs';
import { instantiateMd5Kernel, MD5_INITIAL_STATE } from '../../src/checksum/md5-wasm.mjs';

const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');

/** Bytes to slice streams from: sizes above RING come out of a few distinct megabytes. */
const pool = randomBytes(3 * 1024 * 1024);
function bytesOf(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let at = 0; at < size; ) {
    const from = (seed * 7919 + at) % (pool.length - 1);
    const n = Math.min(size - at, pool.length - from);
    pool.copy(out, at, from, from + n);
    at += n;
  }
  return out;
}

/** Pad a message as RFC 1321 does, for the bare kernel. */
function padded(data: Buffer): Buffer {
  const length = Math.ceil((data.length + 9) / 64) * 64;
  const out = Buffer.alloc(length);
  data.copy(out);
  out[data.length] = 0x80;
  out.writeBigUInt64LE(BigInt(data.length) * 8n, length - 8);
  return out;
}

describe('MD5 kernel (WebAssembly)', () => {
  // Lengths around the padding boundaries (55/56 bytes fit one block, 64 does not) and larger.
  const lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 65_537];

  it('hashes four different messages of each length in the four lanes, as node:crypto does', () => {
    const kernel = instantiateMd5Kernel();
    kernel.memory.grow(8);
    for (const length of lengths) {
      const messages = [0, 1, 2, 3].map(() => randomBytes(length));
      const mem = Buffer.from(kernel.memory.buffer);
      const state = 0;
      for (let word = 0; word < 4; word++) for (let lane = 0; lane < 4; lane++) mem.writeUInt32LE(MD5_INITIAL_STATE[word], state + 16 * word + 4 * lane);
      const blocks = padded(messages[0]).length / 64;
      const at = messages.map((m, lane) => {
        const p = 4096 + lane * 131_072;
        padded(m).copy(mem, p);
        return p;
      });
      kernel.blocks(state, at[0], at[1], at[2], at[3], blocks);
      messages.forEach((m, lane) => {
        const digest = Buffer.alloc(16);
        for (let word = 0; word < 4; word++) digest.writeUInt32LE(mem.readUInt32LE(state + 16 * word + 4 * lane), 4 * word);
        expect(digest.toString('hex'), `length ${length}, lane ${lane}`).toBe(md5(m));
      });
    }
  });

  it('hashes one lane alone with the scalar function and leaves the other lanes untouched', () => {
    const kernel = instantiateMd5Kernel();
    kernel.memory.grow(8);
    const mem = Buffer.from(kernel.memory.buffer);
    for (const length of lengths) {
      for (const lane of [0, 3]) {
        const message = randomBytes(length);
        mem.fill(0xab, 0, 64);
        for (let word = 0; word < 4; word++) mem.writeUInt32LE(MD5_INITIAL_STATE[word], 16 * word + 4 * lane);
        padded(message).copy(mem, 4096);
        kernel.laneBlocks(0, lane, 4096, padded(message).length / 64);
        const digest = Buffer.alloc(16);
        for (let word = 0; word < 4; word++) digest.writeUInt32LE(mem.readUInt32LE(16 * word + 4 * lane), 4 * word);
        expect(digest.toString('hex')).toBe(md5(message));
        for (let other = 0; other < 4; other++) {
          if (other !== lane) for (let word = 0; word < 4; word++) expect(mem.readUInt32LE(16 * word + 4 * other)).toBe(0xabababab);
        }
      }
    }
  });
});

describe('Md5Lanes', () => {
  it('gives node:crypto digests for streams of every size, fed in random interleavings, finishing at random', () => {
    for (let trial = 0; trial < 12; trial++) {
      const lanes = new Md5Lanes();
      const sizes = [0, 1, 63, 64, SEGMENT - 1, SEGMENT, SEGMENT + 1, RING - 1, RING, RING + 65, 3 * RING + 7];
      const count = 1 + randomInt(trial < 6 ? 8 : 20);
      const streams = Array.from({ length: count }, (_, i) => {
        const data = bytesOf(sizes[randomInt(sizes.length)], trial * 100 + i);
        return { lane: lanes.open(), data, at: 0, done: false };
      });
      while (streams.some((s) => !s.done)) {
        const s = streams[randomInt(streams.length)];
        if (s.done) continue;
        // Mostly socket-sized pieces, sometimes a few bytes, sometimes a whole message's worth.
        const roll = randomInt(10);
        const n = Math.min(s.data.length - s.at, roll === 0 ? randomInt(70) : roll === 1 ? randomInt(1_100_000) : randomInt(70_000));
        s.lane.update(s.data.subarray(s.at, s.at + n));
        s.at += n;
        if (s.at === s.data.length) {
          expect(s.lane.digest().toString('hex')).toBe(md5(s.data));
          s.done = true;
        }
      }
      expect(lanes.lanesInUse).toBe(0);
    }
  });

  it('hashes four streams fed evenly in rounds of all four lanes', () => {
    const lanes = new Md5Lanes();
    const streams = [0, 1, 2, 3].map((i) => ({ lane: lanes.open(), data: bytesOf(8 * SEGMENT * 4, i) }));
    const piece = 64 * 1024;
    for (let at = 0; at < streams[0].data.length; at += piece) {
      for (const s of streams) s.lane.update(s.data.subarray(at, at + piece));
    }
    for (const s of streams) expect(s.lane.digest().toString('hex')).toBe(md5(s.data));
    const [, one, two, three, four] = lanes.roundsByLanes;
    expect(four).toBe(streams[0].data.length / SEGMENT);
    expect(one + two + three).toBe(0);
  });

  it('moves a stream that is alone in its group to OpenSSL once its ring is full, and still gives the right digest', () => {
    const lanes = new Md5Lanes();
    const data = bytesOf(RING * 2 + 12_345, 7);
    const lane = lanes.open();
    for (let at = 0; at < data.length; at += 65_536) lane.update(data.subarray(at, at + 65_536));
    expect(lanes.lanesInUse).toBe(0);
    expect(lanes.roundsByLanes.reduce((a, b) => a + b)).toBe(0);
    expect(lane.digest().toString('hex')).toBe(md5(data));
    // The same for a fifth stream, alone in the second group while the first is full.
    const four = [0, 1, 2, 3].map(() => lanes.open());
    const fifth = lanes.open();
    for (let at = 0; at < data.length; at += 65_536) fifth.update(data.subarray(at, at + 65_536));
    expect(lanes.lanesInUse).toBe(4);
    expect(fifth.digest().toString('hex')).toBe(md5(data));
    for (const lane of four) lane.discard();
  });

  it('asks a stream to wait only when its ring is full and a partner of its group is still sending', () => {
    let now = 1000;
    const lanes = new Md5Lanes({ now: () => now });
    const fast = lanes.open();
    const slow = lanes.open();
    fast.update(bytesOf(RING - 1000, 1));
    expect(fast.shouldWait(1000)).toBe(false);
    expect(fast.shouldWait(1001)).toBe(true);
    // A partner quiet for 100 ms or more (a stalled client) is not waited for; one that sends is.
    now += 100;
    expect(fast.shouldWait(1001)).toBe(false);
    slow.update(Buffer.from('x'));
    expect(fast.shouldWait(1001)).toBe(true);
    now += 99;
    expect(fast.shouldWait(1001)).toBe(true);
    // Once the other stream has a segment too, a round of both makes room.
    slow.update(bytesOf(SEGMENT - 1, 2));
    expect(fast.shouldWait(1001)).toBe(false);
    slow.discard();
    // Alone in its group: nobody to wait for.
    fast.update(bytesOf(SEGMENT, 3));
    expect(fast.shouldWait(RING)).toBe(false);
    fast.discard();
    expect(lanes.lanesInUse).toBe(0);
  });

  it('uses OpenSSL beyond the last lane, reuses lanes given up, and gives memory back when idle', () => {
    const lanes = new Md5Lanes();
    const idleMemory = lanes.memoryBytes;
    const opened = Array.from({ length: 20 }, () => lanes.open());
    expect(lanes.lanesInUse).toBe(16);
    expect(lanes.memoryBytes).toBeGreaterThanOrEqual(idleMemory + 16 * RING);
    const data = bytesOf(SEGMENT * 3, 9);
    for (const lane of opened) lane.update(data);
    for (const lane of opened.slice(0, 6)) lane.discard();
    expect(lanes.lanesInUse).toBe(10);
    const again = lanes.open();
    again.update(data);
    expect(lanes.lanesInUse).toBe(11);
    for (const lane of [...opened.slice(6), again]) expect(lane.digest().toString('hex')).toBe(md5(data));
    expect(lanes.lanesInUse).toBe(0);
    expect(lanes.memoryBytes).toBe(idleMemory);
    // And it works as before on the fresh memory.
    const next = [0, 1].map(() => lanes.open());
    for (const lane of next) lane.update(data);
    for (const lane of next) expect(lane.digest().toString('hex')).toBe(md5(data));
  });

  it('hashes with OpenSSL where the WebAssembly kernel cannot be instantiated', () => {
    const lanes = new Md5Lanes({
      kernel: () => {
        throw new Error('WebAssembly.CompileError: no SIMD here');
      },
    });
    const data = bytesOf(RING + 5, 4);
    const streams = [0, 1, 2, 3, 4].map(() => lanes.open());
    for (const lane of streams) lane.update(data);
    expect(lanes.lanesInUse).toBe(0);
    expect(lanes.memoryBytes).toBe(0);
    for (const lane of streams) expect(lane.digest().toString('hex')).toBe(md5(data));
  });

  it('shows the bytes a ring holds (ringView), refuses what it no longer holds, and says before it leaves its ring', () => {
    const lanes = new Md5Lanes();
    const [a, b] = [lanes.open(), lanes.open()];
    const data = bytesOf(RING + 3 * SEGMENT, 5);
    // Two lanes fed evenly hash in rounds and never leave: the ring wraps.
    for (let at = 0; at < data.length; at += SEGMENT) {
      a.update(data.subarray(at, at + SEGMENT));
      b.update(bytesOf(SEGMENT, at));
    }
    expect(a.ringView(RING - 100, RING).equals(data.subarray(RING - 100, RING))).toBe(true);
    expect(a.ringView(RING, data.length).equals(data.subarray(RING))).toBe(true);
    expect(a.ringView(data.length, data.length).length).toBe(0);
    expect(() => a.ringView(RING - 1, RING + 1)).toThrow(/holds no bytes/); // across the ring's end
    expect(() => a.ringView(data.length - 1, data.length + 1)).toThrow(/holds no bytes/); // not appended yet
    expect(() => a.ringView(data.length - RING - 1, data.length - RING)).toThrow(/holds no bytes/); // overwritten
    a.discard();
    b.discard();

    // Alone in its group, a lane leaves its ring for OpenSSL when the ring is full; the hook
    // runs first, while its bytes are still there.
    const alone = lanes.open();
    const seen: Buffer[] = [];
    alone.onLeavingRing = () => seen.push(Buffer.from(alone.ringView(0, alone.total)));
    const first = bytesOf(RING + 10, 6);
    alone.update(first);
    expect(seen.length).toBe(1);
    expect(seen[0].equals(first.subarray(0, RING))).toBe(true);
    expect(alone.inRing).toBe(false);
    expect(() => alone.ringView(0, 1)).toThrow(/holds no bytes/);
    expect(alone.digest().toString('hex')).toBe(md5(first));
  });

  it('refuses bytes and digests after the digest', () => {
    const lane = new Md5Lanes().open();
    lane.update(Buffer.from('abc'));
    expect(lane.digest().toString('hex')).toBe(md5(Buffer.from('abc')));
    expect(() => lane.update(Buffer.from('d'))).toThrow(/finished/);
    expect(() => lane.digest()).toThrow(/finished/);
  });
});
