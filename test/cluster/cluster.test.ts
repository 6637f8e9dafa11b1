// Three Strata nodes on loopback over one PostgreSQL database and one shared data directory,
// each a real `bin/strata serve` process: what one node acknowledges, the others read and list at
// once; racing writers leave one winner and no leaked blob; Complete and Abort of one upload
// exclude each other; the quota holds across nodes; a node killed mid-upload loses nothing
// acknowledged and its leftovers are collected; a revoked key stops working everywhere.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killChildren, kill9, startChild, type ChildServer } from '../helpers/child-server.ts';
import { freshDatabase } from '../helpers/postgres.ts';
import { rawRequest } from '../helpers/raw.ts';
import { testAccessKey, testSecretKey } from '../helpers/server.ts';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '..', '..');
const region = 'lga1';
const schema = `"strata_region_${region}"`;
const GRACE_SECONDS = 2;

let databaseUrl: string;
let dataDir: string;
let nodes: ChildServer[] = [];
let clients: S3Client[] = [];
let db: pg.Client;

function nodeEnv(): Record<string, string> {
  return {
    STRATA_METADATA_URL: databaseUrl,
    STRATA_BLOB_GRACE_SECONDS: String(GRACE_SECONDS),
    STRATA_GC_INTERVAL_SECONDS: '1',
    STRATA_REGIONS: region,
    STRATA_LOG_LEVEL: 'error',
    STRATA_ACCEL_TTL_SECONDS: '1',
  };
}

function clientFor(node: ChildServer, credentials = { accessKeyId: testAccessKey, secretAccessKey: testSecretKey }): S3Client {
  return new S3Client({ endpoint: node.endpoint, region: 'us-east-1', forcePathStyle: true, credentials, maxAttempts: 1 });
}

/** The CLI on the cluster's data root and database. */
function strata(args: string[]) {
  return run(join(repo, 'bin', 'strata'), args, { env: { ...process.env, STRATA_DATA_DIR: dataDir, ...nodeEnv() } });
}

async function body(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Every blob the metadata references, and every blob file (and temp file) on the shared disk. */
async function blobAccounting(): Promise<{ referenced: Set<string>; files: string[]; temporary: string[] }> {
  const referenced = new Set<string>();
  const rows = await db.query<{ blob: string | null; manifest: string | null }>(
    `SELECT blob, manifest FROM ${schema}.objects UNION ALL SELECT blob, manifest FROM ${schema}.object_versions UNION ALL SELECT blob, NULL FROM ${schema}.parts`,
  );
  for (const r of rows.rows) {
    if (r.blob) referenced.add(r.blob);
    if (r.manifest) for (const p of JSON.parse(r.manifest) as { blob: string }[]) referenced.add(p.blob);
  }
  const root = join(dataDir, 'regions', region);
  const files = readdirSync(join(root, 'blobs')).flatMap((shard) => readdirSync(join(root, 'blobs', shard)));
  return { referenced, files, temporary: readdirSync(join(root, 'tmp')) };
}

/** Wait (bounded) until the shared disk holds exactly the referenced file blobs and no temp file. */
async function collected(): Promise<void> {
  let last;
  for (let i = 0; i < 60; i++) {
    last = await blobAccounting();
    const fileRefs = [...last.referenced].filter((id) => !id.startsWith('i'));
    if (last.temporary.length === 0 && last.files.length === fileRefs.length && fileRefs.every((id) => last!.files.includes(id))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`blobs not collected: ${JSON.stringify({ files: last!.files.length, referenced: last!.referenced.size, temporary: last!.temporary })}`);
}

beforeAll(async () => {
  databaseUrl = await freshDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'strata-cluster-'));
  // The first node creates the schema and the bootstrap key; the others join it.
  nodes.push(await startChild(dataDir, nodeEnv()));
  nodes.push(...(await Promise.all([startChild(dataDir, nodeEnv()), startChild(dataDir, nodeEnv())])));
  clients = nodes.map((n) => clientFor(n));
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  await clients[0].send(new CreateBucketCommand({ Bucket: 'shared' }));
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await db?.end();
  await killChildren();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a cluster of three nodes', () => {
  it('reads and lists on B and C at once what A acknowledged', async () => {
    for (let i = 0; i < 10; i++) {
      const data = randomBytes(i % 2 ? 100 : 200_000);
      await clients[0].send(new PutObjectCommand({ Bucket: 'shared', Key: `raw/${i}`, Body: data }));
      expect(sha(await body(clients[1], 'shared', `raw/${i}`))).toBe(sha(data));
      const listed = await clients[2].send(new ListObjectsV2Command({ Bucket: 'shared', Prefix: 'raw/' }));
      expect(listed.KeyCount).toBe(i + 1);
    }
    await clients[2].send(new DeleteObjectCommand({ Bucket: 'shared', Key: 'raw/0' }));
    await expect(clients[0].send(new HeadObjectCommand({ Bucket: 'shared', Key: 'raw/0' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  it('leaves one winner and no leaked blob when all three nodes overwrite one key', async () => {
    const bodies = Array.from({ length: 15 }, (_, i) => randomBytes(i % 3 === 0 ? 50 : 100_000 + i));
    const results = await Promise.allSettled(bodies.map((b, i) => clients[i % 3].send(new PutObjectCommand({ Bucket: 'shared', Key: 'contended', Body: b }))));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const winner = sha(await body(clients[1], 'shared', 'contended'));
    expect(bodies.map(sha)).toContain(winner);
    for (const c of clients) expect(sha(await body(c, 'shared', 'contended'))).toBe(winner);
    await collected();
  });

  it('lets exactly one of a concurrent Complete and Abort of one upload win', async () => {
    for (let round = 0; round < 4; round++) {
      const key = `mp-${round}`;
      const { UploadId } = await clients[0].send(new CreateMultipartUploadCommand({ Bucket: 'shared', Key: key }));
      const part1 = randomBytes(5 * 1024 * 1024);
      const part2 = randomBytes(1000);
      const p1 = await clients[1].send(new UploadPartCommand({ Bucket: 'shared', Key: key, UploadId, PartNumber: 1, Body: part1 }));
      const p2 = await clients[2].send(new UploadPartCommand({ Bucket: 'shared', Key: key, UploadId, PartNumber: 2, Body: part2 }));
      const [complete, abort] = await Promise.allSettled([
        clients[round % 3].send(new CompleteMultipartUploadCommand({ Bucket: 'shared', Key: key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } })),
        clients[(round + 1) % 3].send(new AbortMultipartUploadCommand({ Bucket: 'shared', Key: key, UploadId })),
      ]);
      if (complete.status === 'fulfilled') {
        // Abort after (or instead of) Complete: NoSuchUpload, or 204 when it ran first... but then Complete fails.
        if (abort.status === 'fulfilled') throw new Error('both Complete and Abort succeeded');
        expect((abort.reason as { name: string }).name).toBe('NoSuchUpload');
        expect(sha(await body(clients[2], 'shared', key))).toBe(sha(Buffer.concat([part1, part2])));
      } else {
        expect(abort.status).toBe('fulfilled');
        expect((complete.reason as { name: string }).name).toBe('NoSuchUpload');
        await expect(clients[0].send(new HeadObjectCommand({ Bucket: 'shared', Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
      }
    }
    await collected();
  });

  it('holds the quota under concurrent writes through all nodes', async () => {
    await clients[0].send(new CreateBucketCommand({ Bucket: 'quota' }));
    const { rows } = await db.query<{ bytes: string }>(`SELECT COALESCE(SUM(bytes), 0) AS bytes FROM ${schema}.usage WHERE org = 'default'`);
    const used = Number(rows[0].bytes);
    await strata(['quota', 'set', 'default', String(used + 100_000), '--region', region]);
    const writes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => clients[i % 3].send(new PutObjectCommand({ Bucket: 'quota', Key: `q${i}`, Body: randomBytes(30_000) }))));
    const accepted = writes.filter((w) => w.status === 'fulfilled').length;
    expect(accepted).toBe(3);
    for (const w of writes) if (w.status === 'rejected') expect((w.reason as { name: string }).name).toBe('QuotaExceeded');
    const after = await db.query<{ bytes: string }>(`SELECT SUM(bytes) AS bytes FROM ${schema}.usage WHERE org = 'default'`);
    expect(Number(after.rows[0].bytes)).toBe(used + 90_000);
    await strata(['quota', 'reset', 'default', '--region', region]);
  });

  it('loses nothing acknowledged when a node is killed mid-upload, and collects what it left', async () => {
    const victim = nodes[2];
    const acknowledged: [string, string][] = [];
    for (let i = 0; i < 5; i++) {
      const data = randomBytes(150_000);
      await clients[2].send(new PutObjectCommand({ Bucket: 'shared', Key: `before-kill/${i}`, Body: data }));
      acknowledged.push([`before-kill/${i}`, sha(data)]);
    }
    // A PUT whose body stops half-way: its temp file is on the shared disk when the node dies.
    const halfSent = request({ host: '127.0.0.1', port: victim.port, method: 'PUT', path: '/shared/half', headers: { 'content-length': String(10 * 1024 * 1024), authorization: 'x' } });
    halfSent.on('error', () => undefined);
    halfSent.write(randomBytes(1024 * 1024));
    await new Promise((r) => setTimeout(r, 200));
    await kill9(victim.proc);
    halfSent.destroy();
    for (const [key, digest] of acknowledged) expect(sha(await body(clients[0], 'shared', key))).toBe(digest);
    // Another node replaces the dead one, on the same disk and database.
    nodes[2] = await startChild(dataDir, nodeEnv());
    clients[2].destroy();
    clients[2] = clientFor(nodes[2]);
    expect(sha(await body(clients[2], 'shared', 'before-kill/4'))).toBe(acknowledged[4][1]);
    await collected();
  });

  it('serves accelerated reads from every node, each filling its own cache', async () => {
    const first = randomBytes(300_000);
    await clients[0].send(new PutObjectCommand({ Bucket: 'shared', Key: 'accelerated', Body: first }));
    const accelerated = (node: ChildServer) => rawRequest(node.port, { host: `accel-object.${region}.localhost:${node.port}`, path: '/shared/accelerated' });
    for (const node of nodes) {
      const miss = await accelerated(node);
      const hit = await accelerated(node);
      expect([miss.status, miss.headers['x-strata-cache'], hit.headers['x-strata-cache']]).toEqual([200, 'miss', 'hit']);
      expect(sha(hit.body)).toBe(sha(first));
    }
    // An overwrite through one node reaches every node's cache once the TTL has passed.
    const second = randomBytes(1000);
    await clients[1].send(new PutObjectCommand({ Bucket: 'shared', Key: 'accelerated', Body: second }));
    await new Promise((r) => setTimeout(r, 1200));
    for (const node of nodes) expect(sha((await accelerated(node)).body)).toBe(sha(second));
  });

  it('refuses a revoked key on every node within the documented time', async () => {
    const manifest = join(dataDir, '..', `cluster-user-${process.pid}.yaml`);
    writeFileSync(manifest, 'apiVersion: objectstorage.coreweave.com/v1alpha1\nkind: User\nmetadata:\n  name: revoked\n  namespace: default\nspec:\n  owner: default\n  access: full\n');
    await strata(['apply', '-f', manifest]);
    const secret = JSON.parse((await strata(['get', 'secrets', 'default-revoked-obj-store-creds', '-o', 'json'])).stdout) as { data: { accessKey: string; secretKey: string } };
    const credentials = { accessKeyId: Buffer.from(secret.data.accessKey, 'base64').toString(), secretAccessKey: Buffer.from(secret.data.secretKey, 'base64').toString() };
    const users = nodes.map((n) => clientFor(n, credentials));
    try {
      for (const c of users) await c.send(new ListObjectsV2Command({ Bucket: 'shared', MaxKeys: 1 }));
      await strata(['delete', 'users.objectstorage.coreweave.com', 'revoked', '-n', 'default']);
      const deletedAt = Date.now();
      for (const c of users) {
        for (;;) {
          const refused = await c.send(new ListObjectsV2Command({ Bucket: 'shared', MaxKeys: 1 })).then(() => false, (e: { name: string }) => e.name === 'InvalidAccessKeyId');
          if (refused) break;
          // The README's bound for a revocation to reach every node.
          expect(Date.now() - deletedAt).toBeLessThan(3000);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      for (const c of users) c.destroy();
      rmSync(manifest, { force: true });
    }
  });
});
