// Crash safety of versioning: kill -9 the server during a stream of versioned PUTs, delete
// markers and deletes by version id on an Enabled bucket, restart it on the same data root, and
// check that every acknowledged version (by the ids the responses gave) is listed and reads back
// byte-exact, every acknowledged removal stayed removed, nothing half-written is visible, and
// after the start-up recovery the blobs on disk are exactly those the versions reference.
import { ListObjectVersionsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import aws4 from 'aws4';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { killChildren, kill9, startChild, type ChildServer } from '../helpers/child-server.ts';
import { rawRequest } from '../helpers/raw.ts';
import { testAccessKey, testSecretKey } from '../helpers/server.ts';

const repo = resolve(__dirname, '..', '..');
const dataDir = mkdtempSync(join(tmpdir(), 'strata-versioning-crash-'));
const region = join(dataDir, 'regions', 'lga1');
const B = 'crash-versions';
const KEYS = ['k0', 'k1', 'k2', 'dir/k3', 'dir/k4'];
/** Inline (at most 64 KiB) and file bodies, and the empty one. */
const SIZES = [0, 17, 1000, 40_000, 70_000, 300_000];

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

afterAll(async () => {
  await killChildren();
  rmSync(dataDir, { recursive: true, force: true });
});

function client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: testAccessKey, secretAccessKey: testSecretKey } });
}

interface Acked {
  key: string;
  marker: boolean;
  sha?: string;
  size: number;
}

/** What the clients know: versions and markers acknowledged, removals acknowledged, and what was in flight. */
class Ledger {
  readonly acked = new Map<string, Acked>();
  readonly removed = new Set<string>();
  /** removals whose answer never came: the version may or may not be gone */
  readonly removalsUnknown = new Set<string>();
  /** bodies (sha256) of PUTs whose answer never came, by key (one entry per PUT) */
  readonly putsUnknown = new Map<string, string[]>();
  /** keys with a delete (marker) whose answer never came, and how many */
  readonly markersUnknown = new Map<string, number>();

  live(key: string): string[] {
    return [...this.acked].filter(([id, a]) => a.key === key && !this.removed.has(id) && !this.removalsUnknown.has(id)).map(([id]) => id);
  }
}

/** One worker's stream of operations, until `stop()` or its first failed request. */
async function worker(port: number, ledger: Ledger, stop: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !stop(); i++) {
    const key = KEYS[randomInt(KEYS.length)];
    const path = `/${B}/${key}`;
    const dice = randomInt(100);
    const live = ledger.live(key);
    if (dice < 65 || live.length === 0) {
      const body = randomBytes(SIZES[randomInt(SIZES.length)]);
      const digest = sha(body);
      const unknown = ledger.putsUnknown.get(key) ?? [];
      ledger.putsUnknown.set(key, [...unknown, digest]);
      let res;
      try {
        res = await rawRequest(port, { method: 'PUT', path, body });
      } catch {
        return; // the server is gone: this PUT stays unknown
      }
      expect(res.status, res.text).toBe(200);
      const left = ledger.putsUnknown.get(key)!;
      left.splice(left.indexOf(digest), 1);
      ledger.acked.set(String(res.headers['x-amz-version-id']), { key, marker: false, sha: digest, size: body.length });
    } else if (dice < 80) {
      ledger.markersUnknown.set(key, (ledger.markersUnknown.get(key) ?? 0) + 1);
      let res;
      try {
        res = await rawRequest(port, { method: 'DELETE', path });
      } catch {
        return;
      }
      expect([res.status, res.headers['x-amz-delete-marker']]).toEqual([204, 'true']);
      ledger.markersUnknown.set(key, ledger.markersUnknown.get(key)! - 1);
      ledger.acked.set(String(res.headers['x-amz-version-id']), { key, marker: true, size: 0 });
    } else {
      const versionId = live[randomInt(live.length)];
      ledger.removalsUnknown.add(versionId);
      let res;
      try {
        res = await rawRequest(port, { method: 'DELETE', path: `${path}?versionId=${versionId}` });
      } catch {
        return;
      }
      expect(res.status, res.text).toBe(204);
      ledger.removalsUnknown.delete(versionId);
      ledger.removed.add(versionId);
    }
  }
}

/** A PUT that declares 4 MiB and sends 1 MiB: in flight when the server dies, never completed. */
function startHalfPut(server: ChildServer, key: string): Promise<unknown> {
  const opts = {
    host: `127.0.0.1:${server.port}`,
    path: `/${B}/${key}`,
    method: 'PUT',
    headers: { 'content-length': String(4 * 1024 * 1024), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    service: 's3',
    region: 'us-east-1',
  };
  aws4.sign(opts, { accessKeyId: testAccessKey, secretAccessKey: testSecretKey });
  const body = new PassThrough();
  const pending = request(`${server.endpoint}${opts.path}`, { method: 'PUT', headers: opts.headers as Record<string, string>, body }).catch((e: Error) => e);
  body.write(randomBytes(1024 * 1024));
  return pending;
}

interface Listed {
  key: string;
  versionId: string;
  latest: boolean;
  marker: boolean;
  size: number;
}

/** Every version and marker of the bucket, in listing order (key, then newest first). */
async function listAll(s3: S3Client): Promise<Listed[]> {
  const all: Listed[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (let page = 0; page < 100; page++) {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: B, MaxKeys: 50, KeyMarker, VersionIdMarker }));
    const rows: Listed[] = [
      ...(r.Versions ?? []).map((v) => ({ key: v.Key!, versionId: v.VersionId!, latest: v.IsLatest!, marker: false, size: v.Size! })),
      ...(r.DeleteMarkers ?? []).map((m) => ({ key: m.Key!, versionId: m.VersionId!, latest: m.IsLatest!, marker: true, size: 0 })),
    ];
    // A page's two lists, merged again: by key, then newest first (an id starts with its sequence number).
    rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.versionId < b.versionId ? 1 : -1));
    all.push(...rows);
    if (!r.IsTruncated) return all;
    KeyMarker = r.NextKeyMarker;
    VersionIdMarker = r.NextVersionIdMarker;
  }
  throw new Error('ListObjectVersions did not end within 100 pages');
}

/** Blob ids the metadata references (current and noncurrent versions, parts), files and inline apart. */
function referencedBlobs(): { files: string[]; inline: string[] } {
  const db = new Database(join(region, 'meta.db'), { readonly: true });
  try {
    const ids: string[] = [];
    for (const table of ['objects', 'object_versions']) {
      for (const row of db.prepare<[], { blob: string | null; manifest: string | null }>(`SELECT blob, manifest FROM ${table}`).all()) {
        if (row.blob) ids.push(row.blob);
        if (row.manifest) ids.push(...(JSON.parse(row.manifest) as { blob: string }[]).map((p) => p.blob));
      }
    }
    ids.push(...db.prepare<[], { blob: string }>('SELECT blob FROM parts').all().map((r) => r.blob));
    const inlineStored = db.prepare<[], { id: string }>('SELECT id FROM inline_blobs').all().map((r) => r.id);
    expect(inlineStored.sort()).toEqual(ids.filter((id) => id.startsWith('i')).sort());
    return { files: ids.filter((id) => !id.startsWith('i')).sort(), inline: inlineStored };
  } finally {
    db.close();
  }
}

function blobFiles(): string[] {
  const root = join(region, 'blobs');
  return readdirSync(root).flatMap((shard) => readdirSync(join(root, shard))).sort();
}

describe('kill -9 during versioned writes', () => {
  it('keeps every acknowledged version and removal, shows nothing half-written, and leaves no orphan blob', async () => {
    let server = await startChild(dataDir);
    expect((await rawRequest(server.port, { method: 'PUT', path: `/${B}` })).status).toBe(200);
    const enable = '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>';
    expect((await rawRequest(server.port, { method: 'PUT', path: `/${B}?versioning`, body: enable, headers: { 'content-md5': createHash('md5').update(enable).digest('base64') } })).status).toBe(200);

    const ledger = new Ledger();
    let stopped = false;
    const workers = Array.from({ length: 6 }, () => worker(server.port, ledger, () => stopped));
    // Let the stream run until enough is acknowledged (bounded in time), then kill mid-stream.
    const until = Date.now() + 4000;
    while (Date.now() < until && ledger.acked.size < 80) await new Promise((r) => setTimeout(r, 20));
    const halfPut = startHalfPut(server, 'k0');
    await new Promise((r) => setTimeout(r, 100));
    await kill9(server.proc);
    stopped = true;
    await Promise.all([...workers, halfPut]);
    const ackedVersions = [...ledger.acked.values()].filter((a) => !a.marker).length;
    expect(ackedVersions).toBeGreaterThan(10);
    expect(ledger.removed.size).toBeGreaterThan(0);
    // The kill came mid-stream: some requests were never answered.
    const unanswered = [...ledger.putsUnknown.values()].reduce((n, l) => n + l.length, 0) + [...ledger.markersUnknown.values()].reduce((n, c) => n + c, 0) + ledger.removalsUnknown.size;
    expect(unanswered).toBeGreaterThan(0);
    if (process.env.STRATA_TEST_VERBOSE) console.info({ acked: ledger.acked.size, removed: ledger.removed.size, unanswered });

    server = await startChild(dataDir);
    const s3 = client(server.endpoint);
    const listed = await listAll(s3);
    const byId = new Map(listed.map((l) => [l.versionId, l]));
    expect(byId.size).toBe(listed.length);

    // Every acknowledged version or marker that no acknowledged removal took is there, as what it was.
    for (const [id, a] of ledger.acked) {
      if (ledger.removed.has(id)) expect(byId.has(id), `removed ${id} is listed`).toBe(false);
      else if (!ledger.removalsUnknown.has(id)) expect(byId.get(id), `acknowledged ${id} (${a.key})`).toMatchObject({ key: a.key, marker: a.marker, size: a.size });
    }
    // Whatever else is listed was in flight, complete: a whole body a client sent for that key,
    // or a marker of a key with an unanswered delete.
    const unknownPerKey = new Map<string, number>();
    for (const l of listed) {
      if (ledger.acked.has(l.versionId)) continue;
      unknownPerKey.set(`${l.key}:${l.marker}`, (unknownPerKey.get(`${l.key}:${l.marker}`) ?? 0) + 1);
      if (l.marker) expect(ledger.markersUnknown.get(l.key) ?? 0, `unexpected marker ${l.versionId} on ${l.key}`).toBeGreaterThan(0);
      else expect(ledger.putsUnknown.get(l.key)?.length ?? 0, `unexpected version ${l.versionId} on ${l.key}`).toBeGreaterThan(0);
    }
    for (const [k, n] of unknownPerKey) {
      const [key, marker] = k.split(':');
      expect(n).toBeLessThanOrEqual(marker === 'true' ? ledger.markersUnknown.get(key)! : ledger.putsUnknown.get(key)!.length);
    }

    // Each listed version reads back byte-exact; each key has one latest, its newest entry.
    for (const l of listed.filter((x) => !x.marker)) {
      const got = await rawRequest(server.port, { path: `/${B}/${l.key}?versionId=${l.versionId}` });
      expect([got.status, got.headers['x-amz-version-id'], got.body.length]).toEqual([200, l.versionId, l.size]);
      const a = ledger.acked.get(l.versionId);
      if (a) expect(sha(got.body)).toBe(a.sha);
      else expect(ledger.putsUnknown.get(l.key)!).toContain(sha(got.body));
    }
    const current = new Set<string>();
    for (const key of KEYS) {
      const entries = listed.filter((l) => l.key === key);
      if (entries.length === 0) continue;
      expect(entries.map((e) => e.latest)).toEqual(entries.map((_, i) => i === 0));
      const head = await rawRequest(server.port, { method: 'HEAD', path: `/${B}/${key}` });
      if (entries[0].marker) expect([head.status, head.headers['x-amz-delete-marker']]).toEqual([404, 'true']);
      else {
        expect([head.status, head.headers['x-amz-version-id']]).toEqual([200, entries[0].versionId]);
        current.add(key);
      }
    }
    const plain = await s3.send(new ListObjectsV2Command({ Bucket: B }));
    expect((plain.Contents ?? []).map((c) => c.Key).sort()).toEqual([...current].sort());

    // After recovery: the blob files are exactly those the versions reference, no temporary file
    // is left, and usage counts every listed version.
    expect(blobFiles()).toEqual(referencedBlobs().files);
    expect(readdirSync(join(region, 'tmp'))).toEqual([]);
    const usage = await promisify(execFile)(join(repo, 'bin', 'strata'), ['usage', 'check', '--data-dir', dataDir, '--region', 'lga1'], { timeout: 30_000 });
    expect(usage.stdout).toContain('usage consistent');
    const db = new Database(join(region, 'meta.db'), { readonly: true });
    const recorded = db.prepare<[], { bytes: number; objects: number }>("SELECT bytes, objects FROM usage WHERE org = 'default'").get();
    db.close();
    const versions = listed.filter((l) => !l.marker);
    expect(recorded).toEqual({ bytes: versions.reduce((n, l) => n + l.size, 0), objects: versions.length });

    // Versions written after the restart are the newest of their key (the sequence went on).
    const after = randomBytes(5000);
    const put = await rawRequest(server.port, { method: 'PUT', path: `/${B}/k1`, body: after });
    expect(put.status).toBe(200);
    const k1 = (await listAll(s3)).filter((l) => l.key === 'k1');
    expect([k1[0].versionId, k1[0].latest]).toEqual([put.headers['x-amz-version-id'], true]);
    expect(k1.slice(1).every((l) => !l.latest)).toBe(true);
    expect((await rawRequest(server.port, { path: `/${B}/k1` })).body.equals(after)).toBe(true);
    s3.destroy();
    await kill9(server.proc);
  });
});
