// Writing blob files off the event loop: an IngestSink is a Writable whose bytes go to a worker
// thread, which hashes and writes them (see ingest-worker.mjs for why, and for the protocol).
// A chunk that is the whole of its ArrayBuffer (what Node's HTTP parser delivers: each body
// chunk is a fresh copy out of the socket's read buffer) is transferred as it is, without a copy;
// other chunks are copied into 1 MiB batch buffers. The worker transfers both back: batches
// for reuse, chunks to be freed here.
// Measured at 16 concurrent 64 MiB uploads, against copying every chunk into batches: the
// main isolate ran a full mark-compact about every 80 ms then (71 in a run, against 20 now),
// and the server's CPU per upload fell by about a tenth.
// Whoever writes into an IngestSink gives up its chunks: a transferred chunk reads as empty
// afterwards, so a stage upstream must not look at a buffer again once it has pushed all of it.
// An upload has at most a few messages in flight, so a slow disk slows its client down
// instead of filling memory.
import { availableParallelism } from 'node:os';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';

const BATCH_BYTES = 1 << 20;
/** Data messages (about a batch's worth each) of one upload queued in its worker before the upload waits (backpressure). */
const MAX_IN_FLIGHT = 3;
/** Batch buffers kept for reuse: fresh memory costs page faults and garbage collections. */
const MAX_SPARE_BATCHES = 16;

export interface IngestOptions {
  md5: boolean;
  sha256: boolean;
  fsync: boolean;
  /** SSE-C data key: the worker seals the bytes (after hashing them) into the stored format */
  dataKey?: Buffer;
}

export interface IngestResult {
  /** bytes received */
  size: number;
  /** bytes in the file (more than size when sealed) */
  stored: number;
  /** bytes written to the file straight from the MD5 lane's ring, without a staging copy (diagnostics, tests) */
  ringBytes: number;
  md5?: Buffer;
  sha256?: Buffer;
}

type WorkerMessage =
  | { op: 'ack'; job: number; batches: ArrayBuffer[]; chunks: ArrayBuffer[] }
  | { op: 'finished'; job: number; size: number; stored: number; ringBytes: number; md5?: Uint8Array; sha256?: Uint8Array }
  | { op: 'aborted'; job: number }
  | { op: 'error'; job: number; message: string; code?: string };

interface PooledWorker {
  worker: Worker;
  jobs: Map<number, IngestSink>;
}

class IngestPool {
  private readonly workers: PooledWorker[] = [];
  private readonly spareBatches: ArrayBuffer[] = [];
  private nextJob = 1;
  // Disk waits block a worker, so a few more workers than cores keep the cores busy.
  private readonly maxWorkers = availableParallelism() + 2;

  batch(): ArrayBuffer {
    return this.spareBatches.pop() ?? new ArrayBuffer(BATCH_BYTES);
  }

  recycle(buf: ArrayBuffer): void {
    if (this.spareBatches.length < MAX_SPARE_BATCHES) this.spareBatches.push(buf);
  }

  /** An idle worker, else a new one while under the limit, else the least busy. */
  assign(sink: IngestSink): { pooled: PooledWorker; job: number } {
    let chosen = this.workers.find((w) => w.jobs.size === 0);
    if (!chosen && this.workers.length < this.maxWorkers) chosen = this.spawn();
    chosen ??= this.workers.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
    const job = this.nextJob++;
    chosen.jobs.set(job, sink);
    return { pooled: chosen, job };
  }

  /** Terminate every writer thread; their uploads fail as if the thread had died. */
  async retireAll(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private spawn(): PooledWorker {
    const worker = new Worker(new URL('./ingest-worker.mjs', import.meta.url));
    // Requests in flight keep the process alive; an idle worker must not.
    worker.unref();
    const pooled: PooledWorker = { worker, jobs: new Map() };
    worker.on('message', (msg: WorkerMessage) => {
      const sink = pooled.jobs.get(msg.job);
      if (msg.op === 'ack') {
        for (const batch of msg.batches) this.recycle(batch);
        // msg.chunks are dropped here, where young garbage is collected often (see the worker).
        sink?.onAck();
      } else sink?.onMessage(msg);
    });
    // 'error' is followed by 'exit': only the first of them retires the worker.
    const fail = (err: Error) => {
      const index = this.workers.indexOf(pooled);
      if (index < 0) return;
      this.workers.splice(index, 1);
      for (const sink of pooled.jobs.values()) sink.onWorkerLost(err);
      pooled.jobs.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`blob writer thread exited (code ${code})`)));
    this.workers.push(pooled);
    return pooled;
  }
}

const pool = new IngestPool();

/** Bytes for the worker: a chunk handed over whole, or a batch of copied bytes (returned for reuse). */
interface OutgoingPart {
  buf: ArrayBuffer;
  length: number;
  batch: boolean;
}

/** Below this, copying is cheaper than a transfer (and small buffers may share a pool). */
const MIN_HANDOVER_BYTES = 16 * 1024;

/**
 * True when `chunk` is the whole of an ordinary ArrayBuffer, as the bodies Node's HTTP parser
 * delivers are (each a fresh copy out of the socket's read buffer): it can be transferred to a
 * worker without copying and without detaching bytes that anything else looks at.
 */
function ownsWholeBuffer(chunk: Buffer): boolean {
  return chunk.length >= MIN_HANDOVER_BYTES && chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.length && chunk.buffer instanceof ArrayBuffer;
}

/**
 * Stop the writer threads (the pool is shared by every store of the process; new uploads start
 * new threads). Uploads in flight fail and their files are removed. Used by tests to show that
 * losing a writer thread loses no acknowledged data and leaves nothing behind.
 */
export function retireIngestWorkers(): Promise<void> {
  return pool.retireAll();
}

/**
 * Create `path` (it must not exist) and write everything piped in to it, hashing on the way.
 * After 'finish', `result` holds the size and digests and the file is complete (and, with
 * fsync, durable). If the sink is destroyed first, the file is removed before 'close'.
 */
export class IngestSink extends Writable {
  result: IngestResult | undefined;
  private readonly pooled: PooledWorker;
  private readonly job: number;
  /** the batch being filled with copied bytes, and how far */
  private batch: ArrayBuffer | undefined;
  private fill = 0;
  /** what the next data message carries, in order: whole chunks and filled batches */
  private outgoing: OutgoingPart[] = [];
  private outgoingBytes = 0;
  private inFlight = 0;
  /** the chunk being queued (its length kept: a handed-over chunk reads as empty), with its write callback */
  private pending: { chunk: Buffer; length: number; at: number; done: (err?: Error | null) => void } | undefined;
  private finishing: ((err?: Error | null) => void) | undefined;
  private aborting: (() => void) | undefined;
  private workerLost = false;
  private readonly fsync: boolean;

  constructor(path: string, options: IngestOptions) {
    super({ highWaterMark: BATCH_BYTES });
    this.fsync = options.fsync;
    ({ pooled: this.pooled, job: this.job } = pool.assign(this));
    this.post({ op: 'open', job: this.job, path, md5: options.md5, sha256: options.sha256, dataKey: options.dataKey });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.pending = { chunk, length: chunk.length, at: 0, done };
    this.pump();
  }

  /**
   * Queue the pending chunk for the worker, sending a message whenever about a batch's worth is
   * queued, until the chunk is all queued or too many messages are in flight (then onAck resumes).
   */
  private pump(): void {
    const p = this.pending;
    if (!p || this.destroyed) return;
    for (;;) {
      if (this.outgoingBytes >= BATCH_BYTES) {
        if (this.inFlight >= MAX_IN_FLIGHT) return;
        this.sendOutgoing();
      }
      const left = p.length - p.at;
      if (left === 0) break;
      if (p.at === 0 && ownsWholeBuffer(p.chunk)) {
        // Handed over as it is, without a copy (it comes back with the ack, to be freed here).
        this.closeBatch();
        this.outgoing.push({ buf: p.chunk.buffer as ArrayBuffer, length: left, batch: false });
        this.outgoingBytes += left;
        p.at = p.length;
        continue;
      }
      if (this.batch === undefined) {
        this.batch = pool.batch();
        this.fill = 0;
      }
      const n = Math.min(BATCH_BYTES - this.fill, left);
      p.chunk.copy(new Uint8Array(this.batch), this.fill, p.at, p.at + n);
      this.fill += n;
      p.at += n;
      this.outgoingBytes += n;
      if (this.fill === BATCH_BYTES) this.closeBatch();
    }
    this.pending = undefined;
    p.done();
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.outgoingBytes > 0) this.sendOutgoing();
    this.finishing = done;
    this.post({ op: 'finish', job: this.job, fsync: this.fsync });
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.pending = undefined;
    if (this.batch !== undefined) pool.recycle(this.batch);
    this.batch = undefined;
    for (const part of this.outgoing) if (part.batch) pool.recycle(part.buf);
    this.outgoing = [];
    if (this.result || this.workerLost) {
      this.pooled.jobs.delete(this.job);
      return done(err);
    }
    // Not finished: the worker closes and removes the file, then we are done.
    this.aborting = () => done(err);
    this.post({ op: 'abort', job: this.job });
  }

  private post(msg: object): void {
    this.pooled.worker.postMessage(msg);
  }

  /** Put the batch being filled (if any bytes are in it) after the queued parts. */
  private closeBatch(): void {
    if (this.batch === undefined) return;
    if (this.fill > 0) this.outgoing.push({ buf: this.batch, length: this.fill, batch: true });
    else pool.recycle(this.batch);
    this.batch = undefined;
    this.fill = 0;
  }

  private sendOutgoing(): void {
    this.closeBatch();
    const parts = this.outgoing;
    this.outgoing = [];
    this.outgoingBytes = 0;
    this.pooled.worker.postMessage({ op: 'data', job: this.job, parts }, parts.map((part) => part.buf));
    this.inFlight++;
  }

  /** @internal a batch of this upload was written */
  onAck(): void {
    this.inFlight--;
    this.pump();
  }

  /** @internal called by the pool */
  onMessage(msg: Exclude<WorkerMessage, { op: 'ack' }>): void {
    switch (msg.op) {
      case 'finished':
        this.result = {
          size: msg.size,
          stored: msg.stored,
          ringBytes: msg.ringBytes,
          md5: msg.md5 ? Buffer.from(msg.md5) : undefined,
          sha256: msg.sha256 ? Buffer.from(msg.sha256) : undefined,
        };
        this.finishing?.();
        this.finishing = undefined;
        return;
      case 'aborted':
        this.pooled.jobs.delete(this.job);
        this.aborting?.();
        this.aborting = undefined;
        return;
      case 'error': {
        const err = Object.assign(new Error(msg.message), { code: msg.code });
        if (this.finishing) {
          const finishing = this.finishing;
          this.finishing = undefined;
          finishing(err);
        } else this.destroy(err);
        return;
      }
    }
  }

  /** @internal the worker died: nothing it held can be trusted; the caller removes the file */
  onWorkerLost(err: Error): void {
    this.workerLost = true;
    this.pending = undefined;
    const finishing = this.finishing;
    const aborting = this.aborting;
    this.finishing = undefined;
    this.aborting = undefined;
    if (aborting) aborting();
    else if (finishing) finishing(err);
    else this.destroy(err);
  }
}
