// @ts-check
// Worker thread that receives one or more blob files' bytes from the main thread, hashes them
// (MD5 for the ETag, SHA-256 to verify a signed payload), seals them for SSE-C when asked, and
// writes them to disk.
//
// Why a worker: on the event loop, MD5 alone costs ~2 ms per MiB, and every asynchronous write
// is a thread-pool round trip. The MD5s of a thread's uploads are computed side by side, four
// to a vector (checksum/md5-lanes.mjs); an upload that runs ahead of the others in its group
// waits for them a little (see "Pacing" below). Why O_DIRECT: on this class of machine a buffered write followed
// by fdatasync costs ~2 ms of kernel CPU per MiB (page-cache copy and writeback), a direct write
// ~0.2 ms, and the data is on the device when the write returns, so the final fdatasync only
// flushes metadata. Direct I/O needs block-aligned memory, offsets and lengths: bytes are staged
// in a buffer whose aligned start is found by probing (JavaScript cannot see addresses), full
// stages are written, and the last partial block is written padded and the file truncated to
// its exact length. Where O_DIRECT is refused (tmpfs, some file systems) the job falls back to
// buffered writes.
// The staging copy is skipped where it can be: an upload whose MD5 is computed in a lane
// (md5-lanes.mjs) already has its bytes in the lane's ring, block-aligned in the kernel's
// memory, so whole blocks are written straight from there ("ring" jobs). Its last partial block
// is staged at the end, as is everything from the moment the lane leaves its ring for OpenSSL.
// Measured at 16 concurrent 64 MiB uploads: the staging copy was about a seventh of the server's
// CPU time.
//
// Plain JavaScript on purpose: a worker is loaded by Node itself, with no TypeScript loader in
// every context that starts one (tests, the CLI, an installed package).
//
// Bytes arrive in ArrayBuffers transferred (not copied) from the main thread: body chunks as
// the HTTP parser made them, and 1 MiB batches of copied bytes, which go back the same way to
// be reused. (Measured alternatives: a SharedArrayBuffer ring makes V8 copy into it 4x slower;
// structured-clone copies cost more in serialisation than the hashing they move.)
// Protocol (every message carries `job`, a number chosen by the main thread):
//   main → worker  open   {path, md5, sha256, dataKey?}  create the file (exclusive); with
//                                                  dataKey, seal the bytes in the SSE-C format
//                                                  (after hashing them: digests are of the plaintext)
//                  data   {parts: [{buf, length, batch}]}  bytes [0, length) of each buffer, in order
//                  finish {fsync}                  write the tail, truncate, fdatasync, close
//                  abort  {}                       close and unlink; always answered
//   worker → main  ack    {batches, chunks}        a data message is done; its buffers come back
//                  finished {size, stored, ringBytes, md5, sha256}  bytes received, bytes in the
//                                                  file, bytes written straight from the MD5 ring
//                  aborted {}
//                  error  {message, code}          the job failed; the main thread then aborts it
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { Md5Lanes, RING } from '../checksum/md5-lanes.mjs';
import { ChunkSealer } from '../crypto/sse-c-seal.mjs';

/** Bytes staged before a direct write. */
const STAGE = 1 << 20;
/** Alignment of direct writes (offset and length); a multiple of every common logical block size. */
const BLOCK = 4096;
const PROBE_STEP = 16;
/**
 * Most bytes appended to a lane's ring at once. A ring job writes from the ring once STAGE bytes
 * are waiting, so fewer than STAGE + RING_PIECE bytes are unwritten at any time: less than the
 * RING bytes the ring takes before it wraps onto them.
 */
const RING_PIECE = 1 << 20;
/** Blob files are the owner's only (file-modes.ts OWNER_FILE_MODE; this worker imports no TypeScript). */
const OWNER_FILE_MODE = 0o600;

/** @typedef {{ buf: Buffer, base: number }} Stage */
/**
 * An upload being written. `stored` bytes have been accepted for the file, of which `offset` are
 * written; the rest wait in the stage (`fill` bytes) or, for a ring job, in the MD5 lane's ring.
 * @typedef {{ fd: number, path: string, direct: boolean, ring: boolean, ringBytes: number, stage: Stage | undefined, fill: number, offset: number, size: number, stored: number, md5: import('../checksum/md5-lanes.mjs').Md5Lane | undefined, sha256: import('node:crypto').Hash | undefined, sealer: ChunkSealer | undefined, failed: boolean, deferred: any[] }} Job
 */

/** @type {Map<number, Job>} */
const jobs = new Map();
/** The MD5s of this thread's uploads, computed side by side. */
const md5Lanes = new Md5Lanes();
/** Staging buffers with a known aligned start, reused across jobs. @type {Stage[]} */
const spareStages = [];
/** Buffers of this size can never be aligned for direct I/O on this file system: stop trying. */
let directUnsupported = false;
/**
 * The MD5 kernel memory last probed for direct writes from its rings (weakly: a memory the
 * lanes have dropped must not be kept alive by this), and the outcome.
 */
let probedRingMemory = /** @type {WeakRef<ArrayBufferLike> | undefined} */ (undefined);
let ringMemoryAligned = false;

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

/** Write all of buf[from, from+length) at position, looping over short writes. */
function writeFully(fd, buf, from, length, position) {
  let done = 0;
  while (done < length) {
    const n = fs.writeSync(fd, buf, from + done, length - done, position + done);
    if (n <= 0) throw new Error('blob write made no progress');
    done += n;
  }
}

/**
 * A staging buffer whose `base` is aligned for direct I/O on `fd`, found by trying one block
 * write at file position `position` (a multiple of BLOCK at or past the bytes written so far:
 * it is overwritten or truncated later) from successive offsets. Undefined when none works.
 * @returns {Stage | undefined}
 */
function stageFor(fd, position) {
  const spare = spareStages.pop();
  if (spare) return spare;
  const buf = Buffer.allocUnsafeSlow(STAGE + BLOCK);
  buf.fill(0, 0, BLOCK * 2);
  for (let base = 0; base < BLOCK; base += PROBE_STEP) {
    try {
      fs.writeSync(fd, buf, base, BLOCK, position);
      return { buf, base };
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EINVAL') throw err;
    }
  }
  return undefined;
}

/**
 * Whether the rings of the MD5 kernel's memory are aligned for direct writes to `fd` (a new,
 * empty file): tried once per kernel memory with a zeroed block at file position 0.
 */
function ringsAligned(fd) {
  const probe = md5Lanes.alignmentProbe();
  if (probedRingMemory?.deref() === probe.buffer) return ringMemoryAligned;
  let aligned = true;
  try {
    fs.writeSync(fd, probe, 0, probe.length, 0);
  } catch (err) {
    // Any other error says nothing about alignment: nothing is remembered.
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EINVAL') throw err;
    aligned = false;
  }
  probedRingMemory = new WeakRef(probe.buffer);
  ringMemoryAligned = aligned;
  return aligned;
}

function open(msg) {
  const { path } = msg;
  /** @type {Job} */
  const job = { fd: -1, path, direct: false, ring: false, ringBytes: 0, stage: undefined, fill: 0, offset: 0, size: 0, stored: 0, md5: msg.md5 ? md5Lanes.open() : undefined, sha256: msg.sha256 ? createHash('sha256') : undefined, sealer: msg.dataKey ? new ChunkSealer(Buffer.from(msg.dataKey)) : undefined, failed: false, deferred: [] };
  jobs.set(msg.job, job);
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
  if (!directUnsupported && fs.constants.O_DIRECT) {
    try {
      job.fd = fs.openSync(path, flags | fs.constants.O_DIRECT, OWNER_FILE_MODE);
      // Sealed bytes differ from the plaintext in the ring: those are staged.
      if (job.md5?.inRing && !job.sealer && ringsAligned(job.fd)) {
        const lane = job.md5;
        job.direct = true;
        job.ring = true;
        lane.onLeavingRing = () => leaveRing(job, lane.total);
        return;
      }
      job.stage = stageFor(job.fd, 0);
      job.direct = job.stage !== undefined;
      if (!job.direct) reopenBuffered(job, true);
      return;
    } catch (err) {
      const code = /** @type {NodeJS.ErrnoException} */ (err).code;
      if (code !== 'EINVAL') throw err;
      // The file system refuses O_DIRECT at open (tmpfs): buffered writes from now on.
      directUnsupported = true;
      if (job.fd >= 0) fs.closeSync(job.fd);
      job.fd = -1;
      fs.rmSync(path, { force: true });
    }
  }
  job.fd = fs.openSync(path, flags, OWNER_FILE_MODE);
}

/**
 * Give up direct I/O for this job and every later one (no buffer can be aligned here): the file
 * is reopened for buffered writes, emptied when `truncate` (nothing written to it counts yet).
 */
function reopenBuffered(job, truncate) {
  directUnsupported = true;
  job.direct = false;
  fs.closeSync(job.fd);
  // Not closed twice if the reopening fails: the number may already be another file's.
  job.fd = -1;
  job.fd = fs.openSync(job.path, fs.constants.O_WRONLY | (truncate ? fs.constants.O_TRUNC : 0));
}

/** Bytes that arrived: hashed as they are (the plaintext, under SSE-C), then stored. */
function data(job, bytes) {
  job.sha256?.update(bytes);
  job.size += bytes.length;
  const rest = job.ring ? storeThroughRing(job, bytes) : bytes;
  if (rest.length === 0) return;
  job.md5?.update(rest);
  if (job.sealer) job.sealer.write(rest, (sealed) => store(job, sealed));
  else store(job, rest);
}

/**
 * A ring job's bytes: the MD5 lane copies them into its ring, and whole blocks are written from
 * there. Returns the bytes still to be hashed and stored the usual way: those after the lane
 * left its ring, if it did.
 */
function storeThroughRing(job, bytes) {
  const lane = /** @type {import('../checksum/md5-lanes.mjs').Md5Lane} */ (job.md5);
  let at = 0;
  while (at < bytes.length) {
    const piece = bytes.subarray(at, at + RING_PIECE);
    const position = job.stored;
    lane.update(piece);
    at += piece.length;
    if (!job.ring) {
      // The lane moved to OpenSSL during this piece, which hashed the bytes its ring did not
      // take; leaveRing staged those it did. The rest of the piece only needs storing.
      store(job, piece.subarray(job.stored - position));
      return bytes.subarray(at);
    }
    job.stored += piece.length;
    // Writes of about a stage each: a write per chunk would cost a device request per 64 KiB.
    if (job.stored - job.offset >= STAGE) writeFromRing(job);
  }
  return bytes.subarray(at);
}

/** Write a ring job's whole blocks, straight from the lane's ring (in two writes where it wraps). */
function writeFromRing(job) {
  const lane = /** @type {import('../checksum/md5-lanes.mjs').Md5Lane} */ (job.md5);
  const end = job.stored - (job.stored % BLOCK);
  while (job.offset < end) {
    const to = Math.min(end, (Math.floor(job.offset / RING) + 1) * RING);
    const view = lane.ringView(job.offset, to);
    writeFully(job.fd, view, 0, view.length, job.offset);
    job.ringBytes += view.length;
    job.offset = to;
  }
}

/**
 * A ring job becomes a staged one: of the bytes it holds in the ring, [offset, upTo) of its
 * stream, the whole blocks are written from there, and the last partial block is copied into a
 * stage (or, where no stage can be aligned, written buffered). Called when the lane leaves its
 * ring, and before the last partial block is written.
 */
function leaveRing(job, upTo) {
  const lane = /** @type {import('../checksum/md5-lanes.mjs').Md5Lane} */ (job.md5);
  job.stored = upTo;
  writeFromRing(job);
  const unwritten = lane.ringView(job.offset, upTo);
  job.ring = false;
  job.stage = stageFor(job.fd, job.offset);
  if (job.stage) {
    unwritten.copy(job.stage.buf, job.stage.base);
    job.fill = unwritten.length;
    return;
  }
  // No aligned stage after all: buffered writes from here on (finish() then syncs the data).
  reopenBuffered(job, false);
  writeFully(job.fd, unwritten, 0, unwritten.length, job.offset);
  job.offset = upTo;
  // The probe block written at open reaches past a short stream's end.
  fs.ftruncateSync(job.fd, upTo);
}

/** Append bytes to the file, through the aligned stage when writing directly. */
function store(job, bytes) {
  job.stored += bytes.length;
  if (!job.direct) {
    writeFully(job.fd, bytes, 0, bytes.length, job.offset);
    job.offset += bytes.length;
    return;
  }
  const stage = /** @type {Stage} */ (job.stage);
  let at = 0;
  while (at < bytes.length) {
    const n = Math.min(STAGE - job.fill, bytes.length - at);
    bytes.copy(stage.buf, stage.base + job.fill, at, at + n);
    job.fill += n;
    at += n;
    if (job.fill === STAGE) {
      writeFully(job.fd, stage.buf, stage.base, STAGE, job.offset);
      job.offset += STAGE;
      job.fill = 0;
    }
  }
}

function finish(job, fsync) {
  // A ring job's last partial block is written from a stage, padded.
  if (job.ring && job.stored > job.offset) leaveRing(job, job.stored);
  job.sealer?.end((sealed) => store(job, sealed));
  if (job.direct) {
    const stage = /** @type {Stage} */ (job.stage);
    if (job.fill > 0) {
      const padded = Math.ceil(job.fill / BLOCK) * BLOCK;
      stage.buf.fill(0, stage.base + job.fill, stage.base + padded);
      writeFully(job.fd, stage.buf, stage.base, padded, job.offset);
    }
    // The padding of the last block (and the probe block of an empty file) is cut off.
    fs.ftruncateSync(job.fd, job.stored);
  }
  if (fsync) fs.fdatasyncSync(job.fd);
  release(job);
}

/** Close the job's file and return its staging buffer; idempotent. */
function release(job) {
  if (job.fd >= 0) {
    try {
      fs.closeSync(job.fd);
    } catch {
      // already unusable; nothing more to do with it
    }
    job.fd = -1;
  }
  if (job.stage) {
    if (spareStages.length < 8) spareStages.push(job.stage);
    job.stage = undefined;
  }
}

/** Bytes a data message carries. */
const messageBytes = (msg) => msg.parts.reduce((sum, part) => sum + part.length, 0);

/**
 * Write and hash a data message's bytes, then give its buffers back (the main thread sends more
 * of the upload only when it has few messages unanswered: this ack is its backpressure).
 */
function processData(job, msg) {
  try {
    for (const part of msg.parts) {
      if (job && !job.failed) data(job, Buffer.from(part.buf, 0, part.length));
    }
  } catch (err) {
    fail(job, msg.job, err);
  } finally {
    // Every buffer goes back, even for a failed job: batches to be reused, chunks to be
    // freed by the main thread's young-generation collections, which its own allocations
    // trigger every few tens of megabytes. Kept here, they would wait for this thread's
    // rare full collections (measured: +50 MB of peak RSS during one large upload).
    const batches = msg.parts.filter((part) => part.batch).map((part) => part.buf);
    const chunks = msg.parts.filter((part) => !part.batch).map((part) => part.buf);
    port.postMessage({ op: 'ack', job: msg.job, batches, chunks }, [...batches, ...chunks]);
  }
}

// Pacing for the MD5 lanes. An upload that runs ahead of the others in its lane group would
// fill its ring and be hashed without them, at a fraction of the group's speed, and the last
// of them would be left to hash alone at the end. Its data messages wait here instead,
// unanswered, which slows its client down (backpressure) while the others catch up; each
// round that hashes the whole group makes room. A partner that has gone quiet is not waited
// for (Md5Lane.shouldWait), and no message waits longer than WAIT_FOR_LANES_MS.
// Measured (16 concurrent 64 MiB uploads): with 20 ms, a third of the rounds ran without one
// lane, which then hashed a whole upload's worth alone; with 100 ms, 85-90% ran full.
const WAIT_FOR_LANES_MS = 100;
/** @type {Set<Job>} */
const waiting = new Set();
/** @type {NodeJS.Timeout | undefined} */
let waitTimer;

/** Process waiting messages that now fit (all of them when `force`). */
function drainWaiting(force) {
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const job of waiting) {
      while (job.deferred.length > 0 && (force || job.failed || !job.md5?.shouldWait(messageBytes(job.deferred[0])))) {
        processData(job, job.deferred.shift());
        progressed = true;
      }
      if (job.deferred.length === 0) waiting.delete(job);
    }
  }
  if (waiting.size === 0 && waitTimer) {
    clearTimeout(waitTimer);
    waitTimer = undefined;
  }
}

function armWaitTimer() {
  waitTimer ??= setTimeout(() => {
    waitTimer = undefined;
    drainWaiting(true);
  }, WAIT_FOR_LANES_MS);
}

/** Mark the job failed and tell the main thread, which then aborts it. */
function fail(job, jobId, err) {
  const e = /** @type {NodeJS.ErrnoException} */ (err);
  if (job) job.failed = true;
  port.postMessage({ op: 'error', job: jobId, message: e.message, code: e.code });
}

port.on('message', (msg) => {
  const job = jobs.get(msg.job);
  try {
    switch (msg.op) {
      case 'open':
        open(msg);
        return;
      case 'data': {
        if (job && !job.failed && (job.deferred.length > 0 || job.md5?.shouldWait(messageBytes(msg)))) {
          job.deferred.push(msg);
          waiting.add(job);
          armWaitTimer();
          return;
        }
        processData(job, msg);
        if (waiting.size > 0) drainWaiting(false);
        return;
      }
      case 'finish': {
        if (!job || job.failed) return;
        // Its held-back data first: a finishing upload waits for no partner.
        while (job.deferred.length > 0) processData(job, job.deferred.shift());
        waiting.delete(job);
        if (job.failed) return;
        finish(job, msg.fsync);
        jobs.delete(msg.job);
        const md5 = job.md5?.digest();
        const sha256 = job.sha256?.digest();
        port.postMessage({ op: 'finished', job: msg.job, size: job.size, stored: job.stored, ringBytes: job.ringBytes, md5, sha256 });
        if (waiting.size > 0) drainWaiting(false);
        return;
      }
      case 'abort':
        if (job) {
          job.failed = true;
          for (const deferred of job.deferred.splice(0)) processData(job, deferred);
          waiting.delete(job);
          job.md5?.discard();
          release(job);
          jobs.delete(msg.job);
          fs.rmSync(job.path, { force: true });
          if (waiting.size > 0) drainWaiting(false);
        }
        port.postMessage({ op: 'aborted', job: msg.job });
        return;
    }
  } catch (err) {
    if (!job && msg.op === 'open') fail(jobs.get(msg.job), msg.job, err);
    else fail(job, msg.job, err);
  }
});
