// The accelerated read cache against a scripted origin: single flight, reading a growing file,
// verification of fills, LRU eviction under the byte bound, TTL revalidation, restart.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReadCache, type Decide, type Entry } from '../../src/accel/cache.ts';
import type { Origin, OriginOutcome, OriginQuery } from '../../src/accel/origin.ts';
import type { WireAnswer, WireObject } from '../../src/accel/wire.ts';

const bucket = { name: 'b', ownerOrg: 'org', createdAt: 0, acl: null, policy: null };

class FakeOrigin implements Origin {
  objects = new Map<string, { body: Buffer; version: string; etag?: string }>();
  calls: OriginQuery[] = [];
  /** when set, full bodies are PassThroughs the test writes itself */
  manual = false;
  streams: PassThrough[] = [];

  set(key: string, body: Buffer, etag?: string): void {
    this.objects.set(key, { body, version: 'v-' + randomBytes(4).toString('hex'), etag });
  }

  private object(key: string, withParts: boolean): WireObject {
    const o = this.objects.get(key)!;
    const w: WireObject = { key, size: o.body.length, etag: o.etag ?? createHash('md5').update(o.body).digest('hex'), lastModified: 0, ownerOrg: 'org', meta: { user: {} }, sse: null, storedSize: o.body.length };
    if (withParts) w.parts = null;
    return w;
  }

  async fetch(_region: string, q: OriginQuery): Promise<OriginOutcome> {
    this.calls.push(q);
    await new Promise((r) => setImmediate(r));
    const o = this.objects.get(q.key);
    if (!o) return { status: 'ok', answer: { v: 1, bucket, object: null }, bodyLength: 0 };
    if (q.mode === 'range') {
      if (q.ifMatch !== o.version) return { status: 'changed' };
      const part = o.body.subarray(q.range!.start, q.range!.end + 1);
      return { status: 'ok', answer: { v: 1, bucket, object: this.object(q.key, false) }, version: o.version, bodyLength: part.length, body: Readable.from([part]) };
    }
    if (q.ifNoneMatch === o.version) return { status: 'not-modified', answer: { v: 1, bucket, object: this.object(q.key, false) }, version: o.version };
    const answer: WireAnswer = { v: 1, bucket, object: this.object(q.key, true) };
    if (q.mode === 'meta') return { status: 'ok', answer, version: o.version, bodyLength: 0 };
    let body: Readable;
    if (this.manual) {
      const s = new PassThrough();
      this.streams.push(s);
      body = s;
    } else {
      body = Readable.from([o.body.subarray(0, Math.floor(o.body.length / 2)), o.body.subarray(Math.floor(o.body.length / 2))]);
    }
    return { status: 'ok', answer, version: o.version, bodyLength: o.body.length, body };
  }
}

const allow: Decide = async () => true;
const key = (k: string) => ({ region: 'ord1', bucket: 'b', key: k });

async function readAll(cache: ReadCache, entry: Entry, start = 0, end = entry.answer.object!.storedSize - 1): Promise<Buffer> {
  const reader = await cache.openReader(entry);
  try {
    const chunks: Buffer[] = [];
    for await (const c of reader.read(start, end)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  } finally {
    reader.close();
  }
}

async function settle(cache: ReadCache): Promise<void> {
  await cache.idle();
}

let dir: string;
let origin: FakeOrigin;
let cache: ReadCache | undefined;

function newCache(capacity = 1 << 20, ttlMs = 60_000): ReadCache {
  cache = new ReadCache({ dir, capacity, ttlMs, originFor: () => origin });
  return cache;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-accel-unit-'));
  origin = new FakeOrigin();
});

afterEach(async () => {
  await cache?.close();
  cache = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function dataFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

describe('ReadCache', () => {
  it('fills on a miss, then hits without asking the origin', async () => {
    const c = newCache();
    const body = randomBytes(100_000);
    origin.set('k', body);
    const first = await c.lookup(key('k'), 'bytes', allow, Date.now());
    expect(first.state).toBe('miss');
    expect((await readAll(c, first.entry)).equals(body)).toBe(true);
    await settle(c);
    const second = await c.lookup(key('k'), 'bytes', allow, Date.now());
    expect(second.state).toBe('hit');
    expect((await readAll(c, second.entry, 10, 19)).equals(body.subarray(10, 20))).toBe(true);
    expect(origin.calls.length).toBe(1);
    expect(c.stats.fills).toBe(1);
    expect(c.bytes).toBe(body.length);
  });

  it('concurrent lookups share one origin request and read the file while it grows', async () => {
    const c = newCache();
    const body = randomBytes(300_000);
    origin.set('k', body);
    origin.manual = true;
    const lookups = await Promise.all(Array.from({ length: 5 }, () => c.lookup(key('k'), 'bytes', allow, Date.now())));
    expect(origin.calls.length).toBe(1);
    expect(lookups.filter((l) => l.state === 'miss').length).toBe(5);
    expect(c.stats.coalesced).toBe(4);
    const reads = lookups.map((l) => readAll(c, l.entry));
    const stream = origin.streams[0];
    // The first bytes reach the readers before the rest exists.
    stream.write(body.subarray(0, 1000));
    const reader = await c.openReader(lookups[0].entry);
    const early: Buffer[] = [];
    for await (const chunk of reader.read(0, 999)) early.push(chunk as Buffer);
    reader.close();
    expect(Buffer.concat(early).equals(body.subarray(0, 1000))).toBe(true);
    stream.end(body.subarray(1000));
    for (const r of await Promise.all(reads)) expect(r.equals(body)).toBe(true);
    expect(origin.calls.length).toBe(1);
  });

  it('a fill that ends short is discarded: readers fail, the bytes are released, the next lookup fetches again', async () => {
    const c = newCache();
    const body = randomBytes(50_000);
    origin.set('k', body);
    origin.manual = true;
    const { entry } = await c.lookup(key('k'), 'bytes', allow, Date.now());
    const read = readAll(c, entry).then(() => 'ok', () => 'failed');
    origin.streams[0].end(body.subarray(0, 10_000));
    expect(await read).toBe('failed');
    await settle(c);
    expect(c.stats.fillFailures).toBe(1);
    expect(c.bytes).toBe(0);
    expect(dataFiles().filter((f) => f.endsWith('.bin'))).toEqual([]);
    origin.manual = false;
    const again = await c.lookup(key('k'), 'bytes', allow, Date.now());
    expect(again.state).toBe('miss');
    expect((await readAll(c, again.entry)).equals(body)).toBe(true);
  });

  it('a fill whose bytes do not match the ETag is discarded', async () => {
    const c = newCache();
    origin.set('k', randomBytes(4096), createHash('md5').update('something else').digest('hex'));
    const { entry } = await c.lookup(key('k'), 'bytes', allow, Date.now());
    expect(await readAll(c, entry).then(() => 'ok', () => 'failed')).toBe('failed');
    await settle(c);
    expect(c.stats.fillFailures).toBe(1);
    expect(c.stats.fills).toBe(0);
  });

  it('does not fetch bytes for a request that would be refused', async () => {
    const c = newCache();
    origin.set('k', randomBytes(10_000));
    origin.manual = true;
    const { entry } = await c.lookup(key('k'), 'bytes', async () => false, Date.now());
    expect(entry.data).toBeUndefined();
    expect(origin.streams[0].destroyed).toBe(true);
    expect(c.bytes).toBe(0);
    // A second refused request uses the fresh metadata and does not ask again.
    await c.lookup(key('k'), 'bytes', async () => false, Date.now());
    expect(origin.calls.length).toBe(1);
  });

  it('evicts least recently used entries to stay under the bound', async () => {
    const c = newCache(10_000);
    for (const k of ['a', 'b', 'c']) origin.set(k, randomBytes(4000));
    for (const k of ['a', 'b']) {
      const { entry } = await c.lookup(key(k), 'bytes', allow, Date.now());
      await readAll(c, entry);
    }
    await settle(c);
    await c.lookup(key('a'), 'bytes', allow, Date.now()); // a is now more recent than b
    const { entry } = await c.lookup(key('c'), 'bytes', allow, Date.now());
    await readAll(c, entry);
    await settle(c);
    expect(c.bytes).toBeLessThanOrEqual(10_000);
    expect(c.stats.evictions).toBe(1);
    expect((await c.lookup(key('a'), 'bytes', allow, Date.now())).state).toBe('hit');
    expect((await c.lookup(key('b'), 'bytes', allow, Date.now())).state).toBe('miss');
    await settle(c);
    const bins = dataFiles().filter((f) => f.endsWith('.bin'));
    expect(bins.reduce((n, f) => n + statSync(f).size, 0)).toBeLessThanOrEqual(10_000);
  });

  it('objects larger than the cache are read from the origin by range', async () => {
    const c = newCache(1000);
    const body = randomBytes(5000);
    origin.set('big', body);
    const { entry } = await c.lookup(key('big'), 'bytes', allow, Date.now());
    expect(entry.bypass).toBe(true);
    expect((await readAll(c, entry, 100, 4999)).equals(body.subarray(100))).toBe(true);
    expect(c.bytes).toBe(0);
    expect(origin.calls.at(-1)?.mode).toBe('range');
  });

  it('revalidates after the TTL: 304 keeps the bytes, a new version replaces them, a delete removes them', async () => {
    const c = newCache(1 << 20, 30);
    const v1 = randomBytes(2000);
    origin.set('k', v1);
    await readAll(c, (await c.lookup(key('k'), 'bytes', allow, Date.now())).entry);
    await settle(c);
    await new Promise((r) => setTimeout(r, 40));
    const same = await c.lookup(key('k'), 'bytes', allow, Date.now());
    expect(same.state).toBe('revalidated');
    expect(origin.calls.at(-1)?.ifNoneMatch).toBeDefined();
    expect((await readAll(c, same.entry)).equals(v1)).toBe(true);

    const v2 = randomBytes(3000);
    origin.set('k', v2);
    await new Promise((r) => setTimeout(r, 40));
    const changed = await c.lookup(key('k'), 'bytes', allow, Date.now());
    expect(changed.state).toBe('miss');
    expect((await readAll(c, changed.entry)).equals(v2)).toBe(true);
    await settle(c);
    expect(c.bytes).toBe(3000);

    origin.objects.delete('k');
    await new Promise((r) => setTimeout(r, 40));
    const gone = await c.lookup(key('k'), 'bytes', allow, Date.now());
    expect(gone.entry.answer.object).toBeNull();
    expect(c.bytes).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(dataFiles().filter((f) => f.endsWith('.bin'))).toEqual([]);
  });

  it('with a TTL of 0 every request revalidates, and concurrent ones still share one request', async () => {
    const c = newCache(1 << 20, 0);
    origin.set('k', randomBytes(1000));
    await readAll(c, (await c.lookup(key('k'), 'bytes', allow, Date.now())).entry);
    await settle(c);
    const before = origin.calls.length;
    const results = await Promise.all(Array.from({ length: 4 }, () => c.lookup(key('k'), 'bytes', allow, Date.now())));
    expect(origin.calls.length - before).toBe(1);
    expect(results.map((r) => r.state).sort()).toEqual(['hit', 'hit', 'hit', 'revalidated']);
  });

  it('finds complete files again after a restart, stale, and revalidates them before use', async () => {
    const c = newCache();
    const body = randomBytes(5000);
    origin.set('k', body);
    await readAll(c, (await c.lookup(key('k'), 'bytes', allow, Date.now())).entry);
    await settle(c);
    await c.close();
    const c2 = newCache();
    expect(c2.bytes).toBe(5000);
    const calls = origin.calls.length;
    const r = await c2.lookup(key('k'), 'bytes', allow, Date.now());
    expect(r.state).toBe('revalidated');
    expect(origin.calls.length).toBe(calls + 1);
    expect((await readAll(c2, r.entry)).equals(body)).toBe(true);
  });

  it('dropBucket forgets one bucket of one region through its own index, without walking the others', async () => {
    const c = (cache = new ReadCache({ dir, capacity: 1 << 20, ttlMs: 60_000, maxEntries: 6, originFor: () => origin }));
    for (const k of ['k1', 'k2', 'k4', 'k5']) origin.set(k, randomBytes(1000));
    origin.set('x', randomBytes(10));
    origin.set('y', randomBytes(10));
    await c.lookup(key('k1'), 'bytes', allow, Date.now());
    await settle(c);
    expect(c.bytes).toBe(1000);
    await c.lookup(key('k2'), 'meta', allow, Date.now());
    await c.lookup(key('k3'), 'meta', allow, Date.now()); // missing: a negative entry
    await c.lookup({ region: 'ord1', bucket: 'c', key: 'x' }, 'meta', allow, Date.now());
    await c.lookup({ region: 'las1', bucket: 'b', key: 'y' }, 'meta', allow, Date.now());
    // Past maxEntries: the least recently used (k1, with its bytes) is evicted, and leaves the index.
    await c.lookup(key('k4'), 'meta', allow, Date.now());
    await c.lookup(key('k5'), 'meta', allow, Date.now());
    expect([c.size, c.bytes]).toEqual([6, 0]);

    // The drop must not scan the whole cache (unauthenticated requests can trigger it).
    const entries = (c as unknown as { entries: Record<string | symbol, unknown> }).entries;
    const walked = () => {
      throw new Error('dropBucket walked every entry');
    };
    const traps = ['values', 'keys', 'entries', 'forEach', Symbol.iterator];
    for (const name of traps) entries[name] = walked;
    let dropped: number;
    try {
      dropped = c.dropBucket('ord1', 'b');
    } finally {
      for (const name of traps) delete entries[name];
    }
    expect(dropped).toBe(4);
    expect(c.size).toBe(2);
    expect(c.dropBucket('ord1', 'b')).toBe(0);
    expect(c.dropBucket('ord1', 'nothing-here')).toBe(0);
    // The other bucket and the same name in another region are untouched; b asks the origin again.
    expect((await c.lookup({ region: 'ord1', bucket: 'c', key: 'x' }, 'meta', allow, 0)).state).toBe('hit');
    expect((await c.lookup({ region: 'las1', bucket: 'b', key: 'y' }, 'meta', allow, 0)).state).toBe('hit');
    expect((await c.lookup(key('k2'), 'meta', allow, 0)).state).toBe('miss');
    expect(c.dropBucket('ord1', 'b')).toBe(1);
  });

  it('removes incomplete fills left by a crash', async () => {
    const c = newCache();
    origin.set('k', randomBytes(5000));
    origin.manual = true;
    const { entry } = await c.lookup(key('k'), 'bytes', allow, Date.now());
    await entry.data!.ready;
    origin.streams[0].write(randomBytes(100));
    await new Promise((r) => setTimeout(r, 20));
    expect(dataFiles().some((f) => f.endsWith('.bin'))).toBe(true);
    // Simulate a crash: a new cache on the same directory while the fill is unfinished.
    const c2 = new ReadCache({ dir, capacity: 1 << 20, ttlMs: 1000, originFor: () => origin });
    expect(c2.bytes).toBe(0);
    expect(dataFiles().filter((f) => f.endsWith('.bin'))).toEqual([]);
    await c2.close();
  });
});
