// The accelerated read cache: objects of any region, kept on this node's disk.
//
// Entries. One per (region, bucket, key) for the key's current version, and one per (region,
// bucket, key, versionId) for each version read by id (GetObject?versionId=): the origin's last answer (bucket fields for
// authorization, the object record), its version token (wire.ts), when the origin last
// confirmed it (validatedAt), and optionally the object's stored bytes in a data file. An entry
// is fresh for `ttlMs` after validation; after that the next request revalidates it with a
// conditional request (If-None-Match: version): 304 refreshes the metadata and keeps the bytes,
// 200 replaces both. Missing buckets and keys are remembered the same way, so a deleted object
// disappears within the TTL and a flood of misses costs one origin request per TTL.
// A version's bytes never change, so a version entry's revalidation is always a 304 that keeps
// them (until the version is deleted); it is still made, because the bucket policy, ACLs and
// tags it authorizes with may change, and a deleted version must disappear within the TTL.
//
// Bytes. A fill streams the origin's answer straight into data/<xx>/<id>.bin; clients read
// from that file as it grows (waiting for bytes not yet written), so the first client's
// response starts before the fill ends and concurrent clients share one origin request. The
// fill checks the length (and, for unencrypted objects and parts whose ETag is an MD5, the MD5
// of each segment, before releasing that segment's last bytes); only then is the file
// fdatasync'ed and a sidecar data/<xx>/<id>.json written, which is what marks it complete. A
// fill that fails is deleted and readers waiting on it get an error (their response is cut).
// SSE-C objects are cached as stored: ciphertext; decryption happens per request.
//
// Bound. `capacity` bytes of data files, counted when a fill starts (its full size is
// reserved up front); to make room the least recently used complete entries lose their bytes.
// An object larger than the whole cache, or one that cannot get room because everything else is
// still filling, is not cached: it is served by ranged reads from the origin ("bypass").
// Readers hold an open descriptor, so evicting a file being read is safe; its disk space is
// freed when the last reader finishes.
//
// Single flight. At most one origin request per entry is in progress; later requests wait for
// it and then use its result (or, when it did not fetch the bytes they need, start their own).
//
// Restart. Complete data files are found again through their sidecars (stale: the first use
// revalidates them); anything else in the directory is removed.
import { randomBytes, createHash, type Hash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, open, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { OWNER_DIR_MODE, OWNER_FILE_MODE } from '../store/file-modes.ts';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ObjectRecord } from '../store/types.ts';
import type { Origin, OriginOutcome } from './origin.ts';
import { objectRecordOf, segmentBounds, type WireAnswer, type WireObject } from './wire.ts';

export interface ObjectKey {
  region: string;
  bucket: string;
  key: string;
  /** a version named by id (absent: the key's current version, whichever it is) */
  versionId?: string;
}

/** hit: answered from the cache alone; miss: the origin was asked (or a fill still running is joined); revalidated: a 304 confirmed the cached copy. */
export type CacheState = 'hit' | 'miss' | 'revalidated';

export interface CacheStats {
  /** requests answered without contacting the origin */
  hits: number;
  /** requests that fetched from the origin, or joined a fill still in progress (coalesced) */
  misses: number;
  /** requests answered from the cache after a 304 from the origin */
  revalidated: number;
  /** of the misses: requests that joined another request's origin fetch */
  coalesced: number;
  /** completed fills */
  fills: number;
  fillFailures: number;
  /** data files removed to make room */
  evictions: number;
  /** requests sent to an origin (fills, metadata, revalidations, bypass ranges) */
  originRequests: number;
  /** objects served without caching (too large for the cache) */
  bypass: number;
}

export interface Entry {
  readonly id: string;
  readonly key: ObjectKey;
  answer: WireAnswer;
  version?: string;
  validatedAt: number;
  data?: DataFile;
  /** this version is not cached: read ranges from the origin */
  bypass: boolean;
  /** objectRecordOf(answer), built on first use */
  record?: ObjectRecord;
}

interface DataFile {
  readonly fileId: string;
  readonly path: string;
  readonly sidecar: string;
  readonly size: number;
  written: number;
  state: 'filling' | 'complete' | 'failed';
  error?: Error;
  /** resolves once the file exists (readers open it then) */
  ready: Promise<void>;
  listeners: Set<() => void>;
  source?: Readable;
  released: boolean;
  done?: Promise<void>;
  /** shared read handle, opened on first read, closed when idle and evicted (or past MAX_IDLE_HANDLES) */
  handle?: Promise<FileHandle>;
  /** readers currently holding `handle` */
  refs: number;
}

export interface StoredReader {
  /** stored bytes [start, end] (inclusive) of the cached object */
  read(start: number, end: number): Readable;
  close(): void;
}

interface Sidecar {
  v: 1;
  key: ObjectKey;
  version: string;
  size: number;
  answer: WireAnswer;
}

export interface CacheOptions {
  dir: string;
  capacity: number;
  ttlMs: number;
  /** metadata-only entries kept at most (memory bound); data entries are bounded by capacity */
  maxEntries?: number;
  originFor(region: string): Origin;
  log?: (message: string, err?: unknown) => void;
}

/** Decides, from an answer, whether the request would be served bytes (authorized, object exists, key right, conditions pass). */
export type Decide = (answer: WireAnswer) => Promise<boolean>;

/** Bytes per read of a cache file, and the read-ahead of a reader stream. */
const READ_CHUNK = 1 << 20;
/** Most bytes gathered from the origin stream into one write. */
const WRITE_BATCH = 4 << 20;
/** Read handles kept open for cached files nobody is reading (saves an open/close per hit). */
const MAX_IDLE_HANDLES = 256;

function entryId(k: ObjectKey): string {
  // The key goes last: it may contain NUL, bucket names and version ids cannot.
  return `${k.region}\u0000${k.bucket}\u0000${k.versionId === undefined ? 'c' : 'v' + k.versionId}\u0000${k.key}`;
}

/** The byBucket index's key: region and bucket names contain no NUL. */
function bucketKey(k: Pick<ObjectKey, 'region' | 'bucket'>): string {
  return `${k.region}\u0000${k.bucket}`;
}

function notify(data: DataFile): void {
  const listeners = [...data.listeners];
  data.listeners.clear();
  for (const l of listeners) l();
}

async function waitFor(data: DataFile, bytes: number): Promise<void> {
  while (data.state === 'filling' && data.written < bytes) await new Promise<void>((resolve) => data.listeners.add(resolve));
  if (data.state === 'failed') throw new Error(`cache fill failed: ${data.error?.message ?? 'unknown'}`);
}

/** Per-segment MD5 check of unencrypted segments whose ETag is a plain MD5. */
class SegmentChecker {
  private readonly bounds: Array<{ start: number; end: number; md5?: string }>;
  private index = 0;
  private hash: Hash | undefined;
  private offset = 0;

  constructor(object: WireObject) {
    this.bounds = segmentBounds(object).map((b) => {
      const etag = b.etag.replace(/"/g, '');
      return { start: b.start, end: b.end, md5: !b.encrypted && /^[0-9a-f]{32}$/.test(etag) ? etag : undefined };
    });
    this.begin();
  }

  private begin(): void {
    while (this.index < this.bounds.length && this.bounds[this.index].end === this.bounds[this.index].start) this.index++;
    this.hash = this.index < this.bounds.length && this.bounds[this.index].md5 ? createHash('md5') : undefined;
  }

  update(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const seg = this.bounds[this.index];
      if (!seg) throw new Error('more bytes than the object has');
      const take = Math.min(chunk.length - pos, seg.end - this.offset);
      this.hash?.update(chunk.subarray(pos, pos + take));
      pos += take;
      this.offset += take;
      if (this.offset === seg.end) {
        if (this.hash && this.hash.digest('hex') !== seg.md5) throw new Error(`segment ${this.index + 1} does not match its ETag`);
        this.index++;
        this.begin();
      }
    }
  }
}

export class ReadCache {
  readonly stats: CacheStats = { hits: 0, misses: 0, revalidated: 0, coalesced: 0, fills: 0, fillFailures: 0, evictions: 0, originRequests: 0, bypass: 0 };
  /** insertion order is recency order: the first entry is the least recently used */
  private readonly entries = new Map<string, Entry>();
  /** ids of `entries` by region and bucket, so that dropping a bucket visits only its own entries */
  private readonly byBucket = new Map<string, Set<string>>();
  private readonly ops = new Map<string, Promise<{ entry: Entry; state: CacheState }>>();
  private readonly fills = new Set<DataFile>();
  /** data/<xx> subdirectories known to exist */
  private readonly subdirs = new Set<string>();
  /** data files with an open read handle and no reader, least recently used first */
  private readonly idleHandles = new Set<DataFile>();
  private readonly dataDir: string;
  private readonly maxEntries: number;
  private used = 0;
  private closed = false;

  constructor(private readonly opts: CacheOptions) {
    this.dataDir = join(opts.dir, 'data');
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.load();
  }

  get capacity(): number {
    return this.opts.capacity;
  }

  /** bytes reserved by data files (complete and filling) */
  get bytes(): number {
    return this.used;
  }

  /** entries holding bytes (complete or filling) */
  get dataEntries(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.data && e.data.state !== 'failed') n++;
    return n;
  }

  get size(): number {
    return this.entries.size;
  }

  recordOf(entry: Entry): ObjectRecord | undefined {
    if (!entry.answer.object) return undefined;
    entry.record ??= objectRecordOf(entry.key.bucket, entry.answer.object);
    return entry.record;
  }

  // ---- lookup ---------------------------------------------------------------------------

  /**
   * The entry for `key`, fresh (validated within the TTL, or after `since`), with bytes when
   * need is 'bytes' and `decide` says the request would be served them.
   */
  async lookup(key: ObjectKey, need: 'meta' | 'bytes', decide: Decide, since: number): Promise<{ entry: Entry; state: CacheState }> {
    const id = entryId(key);
    for (let round = 0; round < 8; round++) {
      if (this.closed) throw new Error('cache closed');
      const e = this.entries.get(id);
      if (e && this.isFresh(e, since)) {
        const object = e.answer.object;
        const hasBytes = !object || object.storedSize === 0 || e.bypass || (e.data !== undefined && e.data.state !== 'failed');
        if (need === 'meta' || hasBytes || !(await decide(e.answer))) {
          if (this.entries.get(id) === e) this.touch(e);
          if (need === 'bytes' && e.data?.state === 'filling' && e.data.written < e.data.size) {
            this.stats.misses++;
            this.stats.coalesced++;
            return { entry: e, state: 'miss' };
          }
          this.stats.hits++;
          return { entry: e, state: 'hit' };
        }
      }
      const pending = this.ops.get(id);
      if (pending) {
        await pending;
        continue;
      }
      const op = this.runOp(id, key, this.entries.get(id), need, decide);
      this.ops.set(id, op);
      try {
        return await op;
      } finally {
        if (this.ops.get(id) === op) this.ops.delete(id);
      }
    }
    throw new Error('cache lookup did not settle');
  }

  private isFresh(e: Entry, since: number): boolean {
    return e.validatedAt >= since || Date.now() - e.validatedAt < this.opts.ttlMs;
  }

  private async runOp(id: string, key: ObjectKey, prev: Entry | undefined, need: 'meta' | 'bytes', decide: Decide): Promise<{ entry: Entry; state: CacheState }> {
    const prevUsable = prev?.version !== undefined && (need === 'meta' || prev.bypass || prev.data?.state === 'complete' || prev.answer.object?.storedSize === 0);
    const mode = need === 'meta' ? 'meta' : 'full';
    this.stats.originRequests++;
    const out: OriginOutcome = await this.opts.originFor(key.region).fetch(key.region, { bucket: key.bucket, key: key.key, versionId: key.versionId, mode, ifNoneMatch: prevUsable ? prev!.version : undefined });
    const now = Date.now();
    if (out.status === 'not-modified') {
      if (!prev || prev.version !== out.version || !out.answer.object || !prev.answer.object) throw new Error('origin answered 304 for a version this node does not hold');
      prev.answer = { ...out.answer, object: { ...out.answer.object, parts: prev.answer.object.parts } };
      prev.record = undefined;
      prev.validatedAt = now;
      this.setEntry(prev);
      this.stats.revalidated++;
      return { entry: prev, state: 'revalidated' };
    }
    if (out.status !== 'ok') throw new Error(`unexpected origin answer ${out.status}`);
    this.stats.misses++;
    const entry: Entry = { id, key, answer: out.answer, version: out.answer.object ? out.version : undefined, validatedAt: now, bypass: false };
    if (prev && prev.version !== undefined && prev.version === entry.version) {
      if (prev.data && prev.data.state !== 'failed') entry.data = prev.data;
      entry.bypass = prev.bypass;
      if (!entry.answer.object?.parts && prev.answer.object?.parts) entry.answer.object!.parts = prev.answer.object.parts;
    } else if (prev) {
      this.dropData(prev);
    }
    this.setEntry(entry);
    const body = out.body;
    // The body may be dropped below (destroying an undici body emits an abort error) or fail while
    // we wait on decide(): either must not become an uncaught 'error' event. The fill attaches its own.
    body?.on('error', () => undefined);
    let kept = false;
    try {
      const object = out.answer.object;
      if (body && mode === 'full' && object && !entry.data && !entry.bypass && object.storedSize > 0 && (await decide(out.answer))) {
        if (out.bodyLength !== object.storedSize) throw new Error('origin body length differs from the object size');
        if (this.entries.get(id) === entry) {
          if (this.reserve(object.storedSize, id)) {
            entry.data = this.startFill(entry, body, object.storedSize);
            kept = true;
          } else {
            // Larger than the whole cache: never cached (for this version). Merely no room now
            // (everything else is still filling): this request reads from the origin and the
            // next one tries again.
            entry.bypass = object.storedSize > this.opts.capacity;
            this.stats.bypass++;
          }
        }
      }
    } finally {
      if (!kept) body?.destroy();
    }
    return { entry, state: 'miss' };
  }

  // ---- entries and space ------------------------------------------------------------------

  private touch(e: Entry): void {
    this.entries.delete(e.id);
    this.entries.set(e.id, e);
  }

  /** Put `e` last in recency order (replacing any entry of its id) and index it by bucket. */
  private putEntry(e: Entry): void {
    this.entries.delete(e.id);
    this.entries.set(e.id, e);
    const name = bucketKey(e.key);
    let ids = this.byBucket.get(name);
    if (!ids) this.byBucket.set(name, (ids = new Set()));
    ids.add(e.id);
  }

  private removeEntry(e: Entry): void {
    this.entries.delete(e.id);
    const name = bucketKey(e.key);
    const ids = this.byBucket.get(name);
    ids?.delete(e.id);
    if (ids?.size === 0) this.byBucket.delete(name);
  }

  private setEntry(e: Entry): void {
    const existing = this.entries.get(e.id);
    if (existing && existing !== e) this.dropData(existing);
    this.putEntry(e);
    if (this.entries.size > this.maxEntries) {
      for (const old of this.entries.values()) {
        if (this.entries.size <= this.maxEntries) break;
        if (old === e || old.data?.state === 'filling' || this.ops.has(old.id)) continue;
        this.dropData(old);
        this.removeEntry(old);
      }
    }
  }

  /**
   * Forget every entry of one bucket (its acceleration was suspended): their bytes are released
   * and the next read asks the origin again. Entries with an operation in flight keep their
   * record until it ends, but lose their bytes as any dropped entry does.
   */
  dropBucket(region: string, bucket: string): number {
    const ids = this.byBucket.get(bucketKey({ region, bucket }));
    if (!ids) return 0;
    let dropped = 0;
    for (const id of [...ids]) {
      const e = this.entries.get(id)!;
      this.dropData(e);
      if (!this.ops.has(id)) this.removeEntry(e);
      dropped++;
    }
    return dropped;
  }

  /** Remove an entry's bytes (complete ones now; a fill still running releases itself when done). */
  private dropData(e: Entry): void {
    const data = e.data;
    e.data = undefined;
    if (data && data.state === 'complete') this.release(data);
  }

  private release(data: DataFile): void {
    if (data.released) return;
    data.released = true;
    this.used -= data.size;
    if (data.refs === 0) this.closeHandle(data);
    unlink(data.sidecar).catch(() => undefined);
    unlink(data.path).catch(() => undefined);
  }

  // ---- read handles -------------------------------------------------------------------------

  private async acquireHandle(data: DataFile): Promise<FileHandle> {
    data.refs++;
    this.idleHandles.delete(data);
    try {
      if (!data.handle) {
        data.handle = open(data.path, 'r');
        data.handle.catch(() => undefined);
      }
      return await data.handle;
    } catch (err) {
      data.handle = undefined;
      data.refs--;
      throw err;
    }
  }

  private releaseHandle(data: DataFile): void {
    data.refs--;
    if (data.refs > 0) return;
    if (data.released || data.state === 'failed' || this.closed) {
      this.closeHandle(data);
      return;
    }
    this.idleHandles.add(data);
    if (this.idleHandles.size > MAX_IDLE_HANDLES) {
      const oldest = this.idleHandles.values().next().value as DataFile;
      this.closeHandle(oldest);
    }
  }

  private closeHandle(data: DataFile): void {
    this.idleHandles.delete(data);
    const handle = data.handle;
    data.handle = undefined;
    handle?.then((fh) => fh.close()).catch(() => undefined);
  }

  /** Make room for `size` bytes by evicting least recently used complete entries. */
  private reserve(size: number, exceptId: string): boolean {
    if (size > this.opts.capacity) return false;
    if (this.used + size > this.opts.capacity) {
      for (const e of this.entries.values()) {
        if (this.used + size <= this.opts.capacity) break;
        if (e.id === exceptId || e.data?.state !== 'complete') continue;
        this.dropData(e);
        this.stats.evictions++;
      }
    }
    if (this.used + size > this.opts.capacity) return false;
    this.used += size;
    return true;
  }

  // ---- fills --------------------------------------------------------------------------------

  private startFill(entry: Entry, source: Readable, size: number): DataFile {
    const fileId = randomBytes(16).toString('hex');
    const base = join(this.dataDir, fileId.slice(0, 2), fileId);
    let markReady!: () => void;
    let markFailed!: (err: Error) => void;
    const data: DataFile = {
      fileId,
      path: base + '.bin',
      sidecar: base + '.json',
      size,
      written: 0,
      state: 'filling',
      ready: new Promise<void>((resolve, reject) => {
        markReady = resolve;
        markFailed = reject;
      }),
      listeners: new Set(),
      source,
      released: false,
      refs: 0,
    };
    data.ready.catch(() => undefined);
    this.fills.add(data);
    data.done = this.fill(entry, data, source, markReady, markFailed).finally(() => this.fills.delete(data));
    return data;
  }

  private async fill(entry: Entry, data: DataFile, source: Readable, markReady: () => void, markFailed: (err: Error) => void): Promise<void> {
    let fh: FileHandle | undefined;
    try {
      const sub = data.fileId.slice(0, 2);
      if (!this.subdirs.has(sub)) {
        await mkdir(join(this.dataDir, sub), { recursive: true, mode: OWNER_DIR_MODE });
        this.subdirs.add(sub);
      }
      fh = await open(data.path, 'wx', OWNER_FILE_MODE);
      markReady();
      const checker = new SegmentChecker(entry.answer.object!);
      for await (const batch of batches(source, WRITE_BATCH)) {
        let length = 0;
        for (const chunk of batch) length += chunk.length;
        if (data.written + length > data.size) throw new Error('origin sent more bytes than the object has');
        await writeAll(fh, batch, length, data.written);
        for (const chunk of batch) checker.update(chunk);
        data.written += length;
        notify(data);
      }
      if (data.written !== data.size) throw new Error(`origin body ended after ${data.written} of ${data.size} bytes`);
      await fh.datasync();
      await fh.close();
      fh = undefined;
      const sidecar: Sidecar = { v: 1, key: entry.key, version: entry.version!, size: data.size, answer: entry.answer };
      await writeFile(data.sidecar + '.tmp', JSON.stringify(sidecar), { mode: OWNER_FILE_MODE });
      await rename(data.sidecar + '.tmp', data.sidecar);
      data.state = 'complete';
      data.source = undefined;
      this.stats.fills++;
      notify(data);
      // Replaced by a newer version (or evicted) while filling: its readers are done with it.
      const current = this.entries.get(entry.id);
      if (!current || current.data !== data) this.release(data);
    } catch (err) {
      data.state = 'failed';
      data.error = err as Error;
      data.source = undefined;
      markFailed(err as Error);
      notify(data);
      source.destroy();
      await fh?.close().catch(() => undefined);
      this.stats.fillFailures++;
      if (!data.released) {
        data.released = true;
        this.used -= data.size;
      }
      if (data.refs === 0) this.closeHandle(data);
      await unlink(data.path).catch(() => undefined);
      await unlink(data.sidecar + '.tmp').catch(() => undefined);
      const current = this.entries.get(entry.id);
      if (current?.data === data) current.data = undefined;
      if (!this.closed) this.opts.log?.(`accel: fill of ${entry.key.region}/${entry.key.bucket}/${entry.key.key} failed`, err);
    }
  }

  // ---- readers ------------------------------------------------------------------------------

  /** A reader of the entry's stored bytes: its data file (complete or growing), or the origin for bypassed objects. */
  async openReader(entry: Entry): Promise<StoredReader> {
    const object = entry.answer.object;
    if (!object || object.storedSize === 0) return { read: () => Readable.from([]), close: () => undefined };
    if (entry.bypass || !entry.data) return this.originReader(entry);
    const data = entry.data;
    await data.ready;
    const fh = await this.acquireHandle(data);
    let closed = false;
    const streams = new Set<Readable>();
    return {
      read: (start, end) => {
        const stream = Readable.from(readRange(fh, data, start, end), { objectMode: false, highWaterMark: READ_CHUNK });
        streams.add(stream);
        stream.once('close', () => streams.delete(stream));
        return stream;
      },
      close: () => {
        if (closed) return;
        closed = true;
        // The handle is shared: stop this reader's streams before giving it back.
        for (const stream of streams) stream.destroy();
        this.releaseHandle(data);
      },
    };
  }

  private originReader(entry: Entry): StoredReader {
    const { key } = entry;
    const version = entry.version!;
    const stats = this.stats;
    const origin = this.opts.originFor(key.region);
    const active = new Set<Readable>();
    return {
      read: (start, end) => {
        async function* generate(): AsyncGenerator<Buffer> {
          stats.originRequests++;
          const out = await origin.fetch(key.region, { bucket: key.bucket, key: key.key, versionId: key.versionId, mode: 'range', range: { start, end }, ifMatch: version });
          if (out.status !== 'ok' || !out.body) throw new Error(`origin range read: ${out.status}`);
          let n = 0;
          try {
            for await (const chunk of out.body as AsyncIterable<Buffer>) {
              n += chunk.length;
              yield chunk;
            }
          } finally {
            out.body.destroy();
          }
          if (n !== end - start + 1) throw new Error('origin range read ended early');
        }
        const stream = Readable.from(generate(), { objectMode: false, highWaterMark: READ_CHUNK });
        active.add(stream);
        stream.once('close', () => active.delete(stream));
        return stream;
      },
      close: () => {
        for (const s of active) s.destroy();
      },
    };
  }

  // ---- start-up and shutdown ----------------------------------------------------------------

  /** Find complete data files again (as stale entries); remove everything else. */
  private load(): void {
    mkdirSync(this.dataDir, { recursive: true, mode: OWNER_DIR_MODE });
    const found: Array<{ mtime: number; entry: Entry }> = [];
    for (const subName of readdirSync(this.dataDir)) {
      const sub = join(this.dataDir, subName);
      if (!/^[0-9a-f]{2}$/.test(subName) || !statSync(sub).isDirectory()) {
        rmSync(sub, { recursive: true, force: true });
        continue;
      }
      this.subdirs.add(subName);
      const names = readdirSync(sub);
      const complete = new Set<string>();
      for (const name of names) {
        if (!name.endsWith('.json')) continue;
        const fileId = name.slice(0, -5);
        const base = join(sub, fileId);
        try {
          const sidecar = JSON.parse(readFileSync(base + '.json', 'utf8')) as Sidecar;
          const st = statSync(base + '.bin');
          if (sidecar.v !== 1 || st.size !== sidecar.size || !sidecar.answer?.object || sidecar.answer.object.storedSize !== sidecar.size) throw new Error('inconsistent');
          const data: DataFile = { fileId, path: base + '.bin', sidecar: base + '.json', size: sidecar.size, written: sidecar.size, state: 'complete', ready: Promise.resolve(), listeners: new Set(), released: false, refs: 0 };
          const entry: Entry = { id: entryId(sidecar.key), key: sidecar.key, answer: sidecar.answer, version: sidecar.version, validatedAt: 0, data, bypass: false };
          found.push({ mtime: statSync(base + '.json').mtimeMs, entry });
          complete.add(fileId);
        } catch {
          /* removed below */
        }
      }
      for (const name of names) {
        const fileId = name.replace(/\.(bin|json)$/, '');
        if (!complete.has(fileId)) rmSync(join(sub, name), { force: true, recursive: true });
      }
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const { entry } of found) {
      const existing = this.entries.get(entry.id);
      if (existing?.data) {
        // Two copies of one key (a crash between a new fill and the old file's removal): keep the newer.
        existing.data.released = true;
        rmSync(existing.data.path, { force: true });
        rmSync(existing.data.sidecar, { force: true });
        this.used -= existing.data.size;
      }
      this.putEntry(entry);
      this.used += entry.data!.size;
    }
    // The bound may have shrunk since: evict the least recently used until under it.
    for (const e of this.entries.values()) {
      if (this.used <= this.opts.capacity) break;
      this.dropData(e);
      this.removeEntry(e);
    }
  }

  /** Resolves when every fill now running has finished (tests, benchmarks). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.fills].map((d) => d.done));
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.fills];
    for (const data of pending) data.source?.destroy(new Error('cache closing'));
    await Promise.allSettled(pending.map((d) => d.done));
    for (const data of [...this.idleHandles]) this.closeHandle(data);
  }
}

async function* readRange(fh: FileHandle, data: DataFile, start: number, end: number): AsyncGenerator<Buffer> {
  let pos = start;
  while (pos <= end) {
    if (data.state !== 'complete') await waitFor(data, pos + 1);
    const limit = data.state === 'complete' ? end + 1 : Math.min(end + 1, data.written);
    const length = Math.min(limit - pos, READ_CHUNK);
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await fh.read(buf, 0, length, pos);
    if (bytesRead === 0) throw new Error('cache file is shorter than its entry');
    pos += bytesRead;
    yield bytesRead === length ? buf : buf.subarray(0, bytesRead);
  }
}

/** Write every byte of `buffers` at `position` (one writev per call, repeated on short writes). */
async function writeAll(fh: FileHandle, buffers: Buffer[], length: number, position: number): Promise<void> {
  let done = 0;
  let pending = buffers;
  for (;;) {
    const { bytesWritten } = await fh.writev(pending, position + done);
    done += bytesWritten;
    if (done >= length) return;
    // Short write: continue after the bytes that made it.
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    pending = rest;
  }
}

/**
 * The chunks of a byte stream, in batches of whatever is buffered (up to `max` bytes), so that a
 * fill behind a fast origin writes large blocks instead of one small write per network chunk.
 */
async function* batches(source: Readable, max: number): AsyncGenerator<Buffer[]> {
  let ended = source.readableEnded;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const onReadable = () => wake?.();
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  const onError = (err: Error) => {
    failure = err;
    wake?.();
  };
  const onClose = () => {
    if (!ended && !failure) failure = new Error('origin stream closed before its end');
    wake?.();
  };
  source.on('readable', onReadable);
  source.on('end', onEnd);
  source.on('error', onError);
  source.on('close', onClose);
  try {
    for (;;) {
      const batch: Buffer[] = [];
      let n = 0;
      let chunk: Buffer | null;
      while (n < max && (chunk = source.read() as Buffer | null) !== null) {
        batch.push(chunk);
        n += chunk.length;
      }
      if (batch.length > 0) {
        yield batch;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    source.off('readable', onReadable);
    source.off('end', onEnd);
    source.off('error', onError);
    source.off('close', onClose);
  }
}
