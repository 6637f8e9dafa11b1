// The data root is the owner's only: with the usual umask 022 in effect, a server that stores
// small (inline) and large objects, a multipart upload, an SSE-C object and a bucket policy, and
// serves an object through its accelerated endpoint (cache files), leaves every directory 0700
// and every file 0600 (databases and their -wal/-shm files, master.key, blobs, cache files).
// A data root made world-readable (as versions before this fix wrote it) is repaired at the
// next start, without following symbolic links out of it.
import { CreateBucketCommand, GetObjectCommand, PutBucketPolicyCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccelServiceImpl } from '../../src/accel/index.ts';
import { loadConfig, type StrataConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/main.ts';
import { rawRequest } from '../helpers/raw.ts';
import { testAccessKey, testSecretKey } from '../helpers/server.ts';

const MiB = 1024 * 1024;
let parent: string;
let dataDir: string;
let config: StrataConfig;
let server: RunningServer | undefined;
let s3: S3Client | undefined;
let savedUmask: number;

async function start(): Promise<void> {
  server = await startServer(config, { logger: false });
  s3 = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: testAccessKey, secretAccessKey: testSecretKey } });
}

async function stop(): Promise<void> {
  s3?.destroy();
  await server?.close();
  s3 = undefined;
  server = undefined;
}

/** Every directory and regular file under `root` (root included) with its permission bits; symlinks are not followed. */
function modesUnder(root: string): Map<string, { dir: boolean; mode: number }> {
  const out = new Map<string, { dir: boolean; mode: number }>();
  const stack = [root];
  out.set('.', { dir: true, mode: statSync(root).mode & 0o777 });
  while (stack.length) {
    const dir = stack.pop()!;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (st.isSymbolicLink()) continue;
      out.set(relative(root, path), { dir: st.isDirectory(), mode: st.mode & 0o777 });
      if (st.isDirectory()) stack.push(path);
    }
  }
  return out;
}

/** Paths whose mode is not owner-only, as "path mode" lines (empty when all are right). */
function notOwnerOnly(modes: Map<string, { dir: boolean; mode: number }>): string[] {
  return [...modes].filter(([, m]) => m.mode !== (m.dir ? 0o700 : 0o600)).map(([p, m]) => `${p} ${m.mode.toString(8)}`);
}

const withKey = (k: Buffer) => ({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: k.toString('base64'), SSECustomerKeyMD5: createHash('md5').update(k).digest('base64') });
const sseKey = randomBytes(32);
const small = Buffer.from('a small object, stored inside the metadata database');
const large = randomBytes(2 * MiB);
const multipart = randomBytes(11 * MiB);

beforeAll(() => {
  // The umask most hosts run with: group and others may read what is created with 0644/0755.
  savedUmask = process.umask(0o022);
  parent = mkdtempSync(join(tmpdir(), 'strata-modes-'));
  // Not yet existing: the server creates the data root itself.
  dataDir = join(parent, 'data');
  config = {
    ...loadConfig({ env: {}, flags: {} }),
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    dataDir,
    accelCacheDir: join(dataDir, 'accel-cache'),
    fsync: false,
    adminAccessKey: testAccessKey,
    adminSecretKey: testSecretKey,
    logLevel: 'error',
  };
});

afterAll(async () => {
  await stop();
  process.umask(savedUmask);
  rmSync(parent, { recursive: true, force: true });
});

describe('data root file modes', () => {
  it('creates every directory 0700 and every file 0600 under umask 022', async () => {
    await start();
    const client = s3!;
    await client.send(new CreateBucketCommand({ Bucket: 'modes' }));
    await client.send(new PutObjectCommand({ Bucket: 'modes', Key: 'small.txt', Body: small }));
    await client.send(new PutObjectCommand({ Bucket: 'modes', Key: 'large.bin', Body: large }));
    await new Upload({ client, params: { Bucket: 'modes', Key: 'multi.bin', Body: multipart }, partSize: 5 * MiB, queueSize: 2 }).done();
    await client.send(new PutObjectCommand({ Bucket: 'modes', Key: 'sealed.bin', Body: large, ...withKey(sseKey) }));
    await client.send(new PutObjectCommand({ Bucket: 'modes', Key: 'small-sealed.txt', Body: small, ...withKey(sseKey) }));
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::modes/small.txt' }] };
    await client.send(new PutBucketPolicyCommand({ Bucket: 'modes', Policy: JSON.stringify(policy) }));

    // Through the accelerated endpoint (served in process from the local store): the cache
    // writes the object's plaintext and a sidecar to disk once the fill completes.
    const host = `accel-object.${config.defaultRegion}.${config.baseDomain}:${server!.port}`;
    const viaAccel = await rawRequest(server!.port, { path: '/modes/large.bin', host });
    expect(viaAccel.status).toBe(200);
    expect(viaAccel.body.equals(large)).toBe(true);
    const accel = server!.services.accel as AccelServiceImpl;
    for (let i = 0; i < 200 && accel.stats().fills < 1; i++) await new Promise((r) => setTimeout(r, 25));
    expect(accel.stats().fills).toBe(1);

    const got = await client.send(new GetObjectCommand({ Bucket: 'modes', Key: 'multi.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(multipart)).toBe(true);

    // Walked while the server runs, so the databases' -wal and -shm files exist.
    const modes = modesUnder(dataDir);
    const names = [...modes.keys()];
    const region = join('regions', config.defaultRegion);
    for (const expected of ['master.key', 'identity.db', 'identity.db-wal', 'identity.db-shm', join(region, 'meta.db'), join(region, 'meta.db-wal'), join(region, 'meta.db-shm')]) {
      expect(names).toContain(expected);
    }
    // large.bin, sealed.bin and three multipart parts (two of 5 MiB, one of 1 MiB) are blob files.
    const blobs = names.filter((n) => n.startsWith(join(region, 'blobs') + '/') && !modes.get(n)!.dir);
    expect(blobs.length).toBeGreaterThanOrEqual(5);
    const cacheFiles = names.filter((n) => n.startsWith('accel-cache/') && !modes.get(n)!.dir);
    expect(cacheFiles.some((n) => n.endsWith('.bin'))).toBe(true);
    expect(cacheFiles.some((n) => n.endsWith('.json'))).toBe(true);
    expect(notOwnerOnly(modes)).toEqual([]);
  });

  it('repairs a world-readable data root at start-up without following symlinks out of it', async () => {
    await stop();
    // As versions before this fix left it (and a bit worse): 0755 directories, 0644 files.
    for (const [path, m] of modesUnder(dataDir)) chmodSync(join(dataDir, path), m.dir ? 0o755 : 0o644);
    expect(notOwnerOnly(modesUnder(dataDir)).length).toBeGreaterThan(20);
    // A link from the data root to a file outside it: the repair must not chmod the target.
    const outside = join(parent, 'outside.txt');
    writeFileSync(outside, 'not part of the data root', { mode: 0o644 });
    chmodSync(outside, 0o644);
    symlinkSync(outside, join(dataDir, 'link-to-outside'));

    await start();
    expect(notOwnerOnly(modesUnder(dataDir))).toEqual([]);
    expect(statSync(outside).mode & 0o777).toBe(0o644);
    // The data is intact and still served, the small inline object included.
    const got = await s3!.send(new GetObjectCommand({ Bucket: 'modes', Key: 'small.txt' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(small)).toBe(true);
    const sealed = await s3!.send(new GetObjectCommand({ Bucket: 'modes', Key: 'sealed.bin', ...withKey(sseKey) }));
    expect(Buffer.from(await sealed.Body!.transformToByteArray()).equals(large)).toBe(true);

    // Writes after the repair stay owner-only, the databases' recreated side files included.
    await s3!.send(new PutObjectCommand({ Bucket: 'modes', Key: 'after.bin', Body: randomBytes(MiB) }));
    expect(notOwnerOnly(modesUnder(dataDir))).toEqual([]);
  });
});
