// The store's contract, run against both metadata engines: SQLite (the embedded default) and
// PostgreSQL (a throw-away server, test/global-postgres.ts). One suite, so that what one engine
// does the other cannot quietly do differently: byte-order listing, the rules of a key's
// history, multipart, usage, inline blobs, recovery, and concurrent writers of one key.
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../src/store/blobs.ts';
import { PgDatabase, PgRegionMetadata } from '../../src/store/meta/postgres.ts';
import { RegionStore } from '../../src/store/region-store.ts';
import type { ObjectRecord } from '../../src/store/types.ts';
import { arrayFromAsync } from '../helpers/async.ts';
import { freshDatabase } from '../helpers/postgres.ts';

interface Engine {
  name: 'sqlite' | 'postgres';
  open(options?: { inlineMaxBytes?: number; blobGraceMs?: number }): Promise<{ store: RegionStore; dir: string; database?: PgDatabase; close(): Promise<void> }>;
}

let databaseUrl: string;
const engines: Engine[] = [
  {
    name: 'sqlite',
    async open(options = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'strata-contract-'));
      const store = new RegionStore('r', dir, { fsync: false, inlineMaxBytes: options.inlineMaxBytes ?? 0, blobGraceMs: options.blobGraceMs });
      return { store, dir, close: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
    },
  },
  {
    name: 'postgres',
    async open(options = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'strata-contract-pg-'));
      const database = new PgDatabase(databaseUrl);
      // A region name per store: every open starts from empty tables in the shared database.
      const region = `r${Math.random().toString(36).slice(2, 10)}`;
      const meta = await PgRegionMetadata.open(database, region);
      const store = new RegionStore(region, dir, { fsync: false, inlineMaxBytes: options.inlineMaxBytes ?? 0, blobGraceMs: options.blobGraceMs }, meta);
      return { store, dir, database, close: async () => (await store.close(), await database.close(), rmSync(dir, { recursive: true, force: true })) };
    },
  },
];

beforeAll(async () => {
  databaseUrl = await freshDatabase();
});

const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const settle = () => new Promise((r) => setTimeout(r, 60)); // released blobs are unlinked after the commit

describe.each(engines)('store contract: $name', (engine) => {
  let store: RegionStore;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ store, close } = await engine.open({ inlineMaxBytes: 1024 }));
  });
  afterAll(() => close());

  async function blob(body: string | Buffer): Promise<string> {
    const data = Buffer.from(body);
    return (await store.blobs.write(Readable.from([data]), [], { declaredSize: data.length })).id;
  }

  async function object(bucket: string, key: string, body: string, ownerOrg = 'org'): Promise<ObjectRecord> {
    return { bucket, key, size: Buffer.byteLength(body), etag: `"${body}"`, lastModified: 1, ownerOrg, meta: { user: { m: body } }, blob: await blob(body), manifest: null, sse: null };
  }

  async function bytes(id: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of store.blobs.read(id)) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  }

  it('creates, finds, configures and deletes buckets', async () => {
    expect(await store.createBucket('b1', 'org', null)).toBe('created');
    expect(await store.createBucket('b1', 'org', null)).toBe('owned');
    expect(await store.createBucket('b1', 'other', null)).toBe('taken');
    await store.createBucket('a0', 'org', { owner: 'org', grants: [] });
    await store.createBucket('z9', 'other', null);
    expect((await store.listBuckets('org')).map((b) => b.name)).toEqual(['a0', 'b1']);
    expect((await store.listBuckets()).map((b) => b.name)).toEqual(['a0', 'b1', 'z9']);
    await store.setBucketPolicy('b1', '{"Statement":[]}');
    await store.setBucketTags('b1', [['k', 'v']]);
    await store.setBucketAcl('b1', { owner: 'org', grants: [{ grantee: { type: 'Group', uri: 'u' }, permission: 'READ' }] });
    await store.setBucketConfig('b1', (c) => ({ ...c, publicAccessBlock: { blockPublicAcls: true, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false } }));
    const b1 = (await store.getBucket('b1'))!;
    expect(b1).toMatchObject({ ownerOrg: 'org', policy: '{"Statement":[]}', tags: [['k', 'v']], acl: { grants: [{ permission: 'READ' }] } });
    expect(b1.config?.publicAccessBlock?.blockPublicAcls).toBe(true);
    expect(await store.setBucketConfig('missing', (c) => c)).toBeUndefined();
    await store.commitObject(await object('a0', 'k', 'x'));
    await expect(store.deleteBucket('a0')).rejects.toMatchObject({ code: 'BucketNotEmpty' });
    await store.deleteBucket('z9');
    expect(await store.getBucket('z9')).toBeUndefined();
  });

  it('commits, overwrites and deletes objects, releasing what they held', async () => {
    await store.createBucket('obj', 'org', null);
    const first = await object('obj', 'k', 'first body, long enough to be a file? no: inline');
    await store.commitObject(first);
    const got = (await store.getObject('obj', 'k'))!;
    expect(got).toMatchObject({ size: first.size, etag: first.etag, meta: { user: { m: first.meta.user.m } }, versionId: null });
    expect(await bytes(got.blob!)).toBe(first.meta.user.m);
    const second = await object('obj', 'k', 'second');
    const { previous } = await store.commitObject(second);
    expect(previous?.etag).toBe(first.etag);
    await settle();
    expect(await arrayFromAsync(store.blobs.listAll())).not.toContain(first.blob);
    await expect(store.commitObject(await object('obj', 'k', 'third'), { mustNotExist: true })).rejects.toMatchObject({ code: 'PreconditionFailed' });
    await expect(store.commitObject(await object('obj', 'k', 'third'), { ifMatch: '"nope"' })).rejects.toMatchObject({ code: 'PreconditionFailed' });
    await store.commitObject(await object('obj', 'k', 'third'), { ifMatch: '"second"' });
    await expect(store.commitObject(await object('no-bucket', 'k', 'x'))).rejects.toMatchObject({ code: 'NoSuchBucket' });
    const outcome = await store.deleteObject('obj', 'k');
    expect(outcome).toMatchObject({ deleteMarker: false, versionId: undefined });
    expect(outcome.removed?.etag).toBe('"third"');
    expect(await store.getObject('obj', 'k')).toBeUndefined();
    expect(await store.deleteObject('obj', 'k')).toMatchObject({ removed: undefined });
    const meta = await store.updateObjectMeta('b1', 'missing', (m) => m).catch((e) => e);
    expect(meta.code).toBe('NoSuchKey');
  });

  it('lists keys in UTF-8 byte order with prefixes, delimiters and markers', async () => {
    await store.createBucket('list', 'org', null);
    const keys = ['a', 'a/b', 'a/c/d', 'a/c/e', 'b', 'B', 'é', 'z/🙂', '\u{ffff}', 'a\u{10000}', 'photos/2006/jan', 'photos/2006/feb', 'photos/2007/x', 'sp ace', 'a\u0001'];
    for (const key of keys) await store.commitObject({ bucket: 'list', key, size: 1, etag: '"e"', lastModified: 0, ownerOrg: 'org', meta: { user: {}, storageClass: key === 'b' ? 'STANDARD_IA' : undefined }, blob: null, manifest: [], sse: null });
    const all = await store.listObjects('list', { prefix: '', delimiter: '', after: '', maxKeys: 1000 });
    expect(all.contents.map((c) => c.key)).toEqual([...keys].sort(utf8Order));
    expect(all.contents.find((c) => c.key === 'b')?.storageClass).toBe('STANDARD_IA');
    const grouped = await store.listObjects('list', { prefix: 'photos/', delimiter: '/', after: '', maxKeys: 1000 });
    expect(grouped.commonPrefixes).toEqual(['photos/2006/', 'photos/2007/']);
    const top = await store.listObjects('list', { prefix: '', delimiter: '/', after: '', maxKeys: 3 });
    expect([...top.contents.map((c) => c.key), ...top.commonPrefixes].sort(utf8Order)).toEqual(['B', 'a', 'a\u0001']);
    expect(top.isTruncated).toBe(true);
    const next = await store.listObjects('list', { prefix: '', delimiter: '/', after: top.nextMarker!, maxKeys: 3 });
    expect([...next.contents.map((c) => c.key), ...next.commonPrefixes].sort(utf8Order)).toEqual(['a/', 'a\u{10000}', 'b']);
    const paged: string[] = [];
    let after = '';
    for (;;) {
      const page = await store.listObjects('list', { prefix: 'a', delimiter: '', after, maxKeys: 2 });
      paged.push(...page.contents.map((c) => c.key));
      if (!page.isTruncated) break;
      after = page.nextMarker!;
    }
    expect(paged).toEqual(keys.filter((k) => k.startsWith('a')).sort(utf8Order));
  });

  it('keeps every version of a versioned key, with delete markers, suspension and promotion', async () => {
    await store.createBucket('ver', 'org', null);
    await store.commitObject(await object('ver', 'k', 'v0')); // before versioning: the null version
    await store.setVersioning('ver', 'Enabled');
    const v1 = await store.commitObject(await object('ver', 'k', 'v1'));
    const v2 = await store.commitObject(await object('ver', 'k', 'v2'));
    expect(v1.versionId).toMatch(/^[0-9a-z]{11}[A-Za-z0-9_-]{21}$/);
    expect(v2.versionId).not.toBe(v1.versionId);
    expect((await store.getVersion('ver', 'k', v1.versionId!))?.record.etag).toBe('"v1"');
    expect((await store.getVersion('ver', 'k', 'null'))?.record.etag).toBe('"v0"');
    await expect(store.getVersion('ver', 'k', 'not-an-id')).rejects.toMatchObject({ code: 'InvalidArgument' });
    const marker = await store.deleteObject('ver', 'k', { ownerOrg: 'org' });
    expect(marker.deleteMarker).toBe(true);
    expect(await store.getObject('ver', 'k')).toBeUndefined();
    expect(await store.getVersion('ver', 'k')).toMatchObject({ isDeleteMarker: true, isLatest: true });
    const listed = await store.listVersions('ver', { prefix: '', delimiter: '', keyMarker: '', maxKeys: 10 });
    expect(listed.entries.map((e) => [e.record.versionId ?? 'null', e.isDeleteMarker, e.isLatest])).toEqual([
      [marker.versionId, true, true],
      [v2.versionId, false, false],
      [v1.versionId, false, false],
      ['null', false, false],
    ]);
    const firstPage = await store.listVersions('ver', { prefix: '', delimiter: '', keyMarker: '', maxKeys: 2 });
    const rest = await store.listVersions('ver', { prefix: '', delimiter: '', keyMarker: firstPage.nextKeyMarker!, afterSeq: firstPage.entries[1].seq, maxKeys: 10 });
    expect(rest.entries.map((e) => e.record.versionId ?? 'null')).toEqual([v1.versionId, 'null']);
    // Removing the marker brings v2 back; removing v2 for good brings v1 back.
    expect(await store.deleteObject('ver', 'k', { versionId: marker.versionId })).toMatchObject({ deleteMarker: true });
    expect((await store.getObject('ver', 'k'))?.etag).toBe('"v2"');
    await store.deleteObject('ver', 'k', { versionId: v2.versionId! });
    expect((await store.getObject('ver', 'k'))?.etag).toBe('"v1"');
    // Suspended: writes are the null version and replace only it.
    await store.setVersioning('ver', 'Suspended');
    const s1 = await store.commitObject(await object('ver', 'k', 's1'));
    expect(s1.versionId).toBeNull();
    await store.commitObject(await object('ver', 'k', 's2'));
    const history = await store.listVersions('ver', { prefix: '', delimiter: '', keyMarker: '', maxKeys: 10 });
    expect(history.entries.map((e) => e.record.etag)).toEqual(['"s2"', '"v1"']);
    // Tags of a noncurrent version by id.
    await store.updateObjectMeta('ver', 'k', (m) => ({ ...m, tags: [['t', '1']] }), v1.versionId!);
    expect((await store.getVersion('ver', 'k', v1.versionId!))?.record.meta.tags).toEqual([['t', '1']]);
    await expect(store.deleteBucket('ver')).rejects.toMatchObject({ code: 'BucketNotEmpty' });
    // Every version counts; markers do not; the counters agree with a recount.
    expect(await store.checkUsage()).toEqual([]);
  });

  it('uploads, replaces, lists, completes and aborts multipart uploads', async () => {
    await store.createBucket('mp', 'org', null);
    const upload = { uploadId: 'u1', bucket: 'mp', key: 'big', initiated: 5, ownerOrg: 'org', initiator: 'org', meta: { user: {} }, sse: null };
    await store.createUpload(upload);
    await expect(store.createUpload({ ...upload, uploadId: 'u0', bucket: 'none' })).rejects.toMatchObject({ code: 'NoSuchBucket' });
    const part = async (n: number, body: string) => ({ uploadId: 'u1', partNumber: n, size: body.length, storedSize: body.length, etag: `"p${n}${body}"`, lastModified: 0, blob: await blob(body), checksum: null, sse: null });
    const p1 = await part(1, 'one');
    const p1again = await part(1, 'uno!');
    const p2 = await part(2, 'two');
    const p3 = await part(3, 'three');
    for (const p of [p1, p1again, p2, p3]) await store.commitPart(p, 'org');
    expect((await store.getPart('u1', 1))?.etag).toBe(p1again.etag);
    expect((await store.listParts('u1', 1, 10)).map((p) => p.partNumber)).toEqual([2, 3]);
    expect((await store.usageOf('org')).bytes).toBeGreaterThanOrEqual(4 + 3 + 5);
    expect((await store.listUploads('mp', '', '', '', 10)).map((u) => u.uploadId)).toEqual(['u1']);
    const record = await store.completeUpload('u1', (u, parts) => ({
      bucket: u.bucket, key: u.key, size: 7, etag: '"mp-2"', lastModified: 9, ownerOrg: u.ownerOrg, meta: { user: {} }, blob: null, sse: null,
      manifest: [1, 2].map((n) => ({ partNumber: n, blob: parts.get(n)!.blob, size: parts.get(n)!.size, storedSize: parts.get(n)!.storedSize, etag: parts.get(n)!.etag })),
    }));
    expect(record.manifest?.map((p) => p.blob)).toEqual([p1again.blob, p2.blob]);
    expect(await store.getUpload('u1')).toBeUndefined();
    await settle();
    const blobs = await arrayFromAsync(store.blobs.listAll());
    expect(blobs).not.toContain(p1.blob);
    expect(blobs).not.toContain(p3.blob);
    expect(blobs).toContain(p2.blob);
    await expect(store.commitPart(await part(4, 'late'), 'org')).rejects.toMatchObject({ code: 'NoSuchUpload' });
    await store.createUpload({ ...upload, uploadId: 'u2' });
    await store.commitPart({ ...(await part(1, 'gone')), uploadId: 'u2' }, 'org');
    await store.abortUpload('u2');
    await expect(store.abortUpload('u2')).rejects.toMatchObject({ code: 'NoSuchUpload' });
    expect(await store.checkUsage()).toEqual([]);
  });

  it('keeps small bodies inline, committed with their metadata', async () => {
    await store.createBucket('inl', 'org', null);
    const small = await object('inl', 'k', 'tiny');
    expect(small.blob!.startsWith('i')).toBe(true);
    expect(await arrayFromAsync(store.blobs.listAll())).not.toContain(small.blob);
    await store.commitObject(small);
    expect(await arrayFromAsync(store.blobs.listAll())).toContain(small.blob);
    expect(await bytes(small.blob!)).toBe('tiny');
    const pinned = await store.blobs.pin(small.blob!);
    expect(pinned.size).toBe(4);
    await pinned.close();
  });

  it('one winner, no leaked blob, when many writers race for one key', async () => {
    await store.createBucket('race', 'org2', null);
    const records = await Promise.all(Array.from({ length: 12 }, (_, i) => object('race', 'k', `writer-${i}-${'x'.repeat(2000)}`, 'org2')));
    const results = await Promise.allSettled(records.map((r) => store.commitObject(r)));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    await settle();
    const winner = (await store.getObject('race', 'k'))!;
    const left = (await arrayFromAsync(store.blobs.listAll())).filter((id) => records.some((r) => r.blob === id));
    expect(left).toEqual([winner.blob]);
    expect(await store.usageOf('org2')).toEqual({ bytes: winner.size, objects: 1 });
    // Versioned: every writer keeps its own version, with distinct ids.
    await store.setVersioning('race', 'Enabled');
    const versioned = await Promise.all(Array.from({ length: 12 }, (_, i) => object('race', 'v', `v-${i}`, 'org2')));
    const ids = (await Promise.all(versioned.map((r) => store.commitObject(r)))).map((r) => r.versionId);
    expect(new Set(ids).size).toBe(12);
    const listed = await store.listVersions('race', { prefix: 'v', delimiter: '', keyMarker: '', maxKeys: 100 });
    expect(listed.entries).toHaveLength(12);
    expect(listed.entries.filter((e) => e.isLatest)).toHaveLength(1);
    expect(await store.checkUsage()).toEqual([]);
  });

  it('recovery removes unreferenced blobs, sparing young ones when a grace period is set', async () => {
    const opened = await engine.open({ blobGraceMs: 60_000 });
    try {
      const young = BlobStore.newId();
      const old = BlobStore.newId();
      for (const id of [young, old]) writeFileSync(opened.store.blobs.pathOf(id), 'orphan');
      utimesSync(opened.store.blobs.pathOf(old), new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
      await opened.store.createBucket('keep', 'org', null);
      const kept = await opened.store.blobs.write(Readable.from([Buffer.from('kept')]), [], {});
      await opened.store.commitObject({ bucket: 'keep', key: 'k', size: 4, etag: '"k"', lastModified: 0, ownerOrg: 'org', meta: { user: {} }, blob: kept.id, manifest: null, sse: null });
      utimesSync(opened.store.blobs.pathOf(kept.id), new Date(0), new Date(0));
      const { unreferenced } = await opened.store.recover();
      expect(unreferenced).toBe(1);
      expect(existsSync(opened.store.blobs.pathOf(old))).toBe(false);
      expect(existsSync(opened.store.blobs.pathOf(young))).toBe(true);
      expect(existsSync(opened.store.blobs.pathOf(kept.id))).toBe(true);
    } finally {
      await opened.close();
    }
  });
});

describe('postgres engine', () => {
  it('runs a transaction again after a serialization failure', async () => {
    const { store, database, close } = await engines[1].open();
    try {
      database!.injectSerializationFailures = 2;
      await store.createBucket('retried', 'org', null);
      expect(database!.retries).toBe(2);
      await store.commitObject({ bucket: 'retried', key: 'k', size: 0, etag: '"e"', lastModified: 0, ownerOrg: 'org', meta: { user: {} }, blob: null, manifest: [], sse: null });
      expect((await store.getObject('retried', 'k'))?.etag).toBe('"e"');
    } finally {
      await close();
    }
  });
});
