// Accelerated endpoints across real processes: three `bin/strata serve` processes share one data
// root (shared identity and master key), each serving one region and naming the others in
// STRATA_REGION_ENDPOINTS:
//   lga1  edge with a 1 s TTL and an 8 MiB cache (TTL, eviction, refusals, policies, SSE-C)
//   ord1  the origin: every object of these tests lives here
//   las1  edge with a 60 s TTL (hits, single flight, multipart, surviving the origin's death)
// Clients reach an edge at 127.0.0.1 with Host: accel-object.ord1.localhost:PORT.
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand, DeleteObjectCommand, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { PutBucketCorsCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveNodeKey, signNodeRequest } from '../../src/accel/node-auth.ts';
import { encryptedSize } from '../../src/crypto/sse-c.ts';
import { loadOrCreateMasterKey } from '../../src/identity/identity-store.ts';
import { errorCode, rawRequest, type RawResponse } from '../helpers/raw.ts';
import { testAccessKey, testSecretKey } from '../helpers/server.ts';

const strataBin = resolve(import.meta.dirname, '../../bin/strata');
const MiB = 1024 * 1024;
const ONLY = 'Accelerated endpoints serve only GetObject and HeadObject.';

interface Node {
  name: string;
  port: number;
  child: ChildProcess;
  cacheDir: string;
  output: string;
}

let root: string;
let lga: Node;
let ord: Node;
let las: Node;
let s3: S3Client;

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

function startNode(name: string, port: number, env: Record<string, string>): Promise<Node> {
  const cacheDir = join(root, `cache-${name}`);
  const child = spawn(strataBin, ['serve'], {
    env: {
      PATH: process.env.PATH,
      HOME: root,
      STRATA_DATA_DIR: join(root, 'data'),
      STRATA_PORT: String(port),
      STRATA_ADMIN_PORT: '0',
      STRATA_REGIONS: name,
      STRATA_ADMIN_ACCESS_KEY: testAccessKey,
      STRATA_ADMIN_SECRET_KEY: testSecretKey,
      STRATA_FSYNC: 'false',
      STRATA_LOG_LEVEL: 'error',
      STRATA_ACCEL_CACHE_DIR: cacheDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const node: Node = { name, port, child, cacheDir, output: '' };
  return new Promise((resolveNode, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${node.output}`)), 90_000);
    const onData = (d: Buffer) => {
      node.output += d.toString();
      if (node.output.includes('Strata listening on')) {
        clearTimeout(timer);
        resolveNode(node);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (node.output += d.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // A node that dies on its own mid-test would otherwise show up only as ECONNREFUSED.
      if (signal === null && code !== 0) console.error(`${name} exited with ${code}:\n${node.output}`);
      reject(new Error(`${name} exited with ${code}:\n${node.output}`));
    });
  });
}

function stopNode(node: Node | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!node || node.child.exitCode !== null || node.child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    node.child.once('exit', () => done());
    node.child.kill(signal);
  });
}

/** GET/HEAD through an edge's accelerated host for region ord1. */
function accel(node: Node, path: string, options: { method?: string; headers?: Record<string, string>; sign?: false; body?: string; host?: string } = {}): Promise<RawResponse> {
  return rawRequest(node.port, { method: options.method ?? 'GET', path, host: options.host ?? `accel-object.ord1.localhost:${node.port}`, headers: options.headers, sign: options.sign, body: options.body });
}

async function stats(node: Node): Promise<Record<string, number> & { origin: Record<string, number> }> {
  const res = await request(`http://127.0.0.1:${node.port}/_strata/accel/stats`);
  return (await res.body.json()) as Record<string, number> & { origin: Record<string, number> };
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code: code ?? -1, stdout: Buffer.concat(out), stderr }));
  });
}

/** Bytes of every cached data file under a node's cache directory. */
function cachedFiles(node: Node): Array<{ path: string; size: number }> {
  const files: Array<{ path: string; size: number }> = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, name.name);
      if (name.isDirectory()) walk(p);
      else files.push({ path: p, size: statSync(p).size });
    }
  };
  walk(node.cacheDir);
  return files;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function put(bucket: string, key: string, body: Buffer | string, extra: Record<string, unknown> = {}): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'strata-accel-'));
  const [pl, po, pv] = [await freePort(), await freePort(), await freePort()];
  const endpoints = `lga1=http://127.0.0.1:${pl},ord1=http://127.0.0.1:${po},las1=http://127.0.0.1:${pv}`;
  // The first process creates the master key and the identity database; the others then share them.
  ord = await startNode('ord1', po, { STRATA_REGION_ENDPOINTS: endpoints });
  [lga, las] = await Promise.all([
    startNode('lga1', pl, { STRATA_REGION_ENDPOINTS: endpoints, STRATA_ACCEL_TTL_SECONDS: '1', STRATA_ACCEL_CACHE_BYTES: String(8 * MiB) }),
    startNode('las1', pv, { STRATA_REGION_ENDPOINTS: endpoints, STRATA_ACCEL_TTL_SECONDS: '60', STRATA_ACCEL_CACHE_BYTES: String(64 * MiB) }),
  ]);
  s3 = new S3Client({ endpoint: `http://127.0.0.1:${ord.port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: testAccessKey, secretAccessKey: testSecretKey } });
  for (const b of ['accel-data', 'accel-public', 'accel-private']) await s3.send(new CreateBucketCommand({ Bucket: b }));
}, 180_000);

afterAll(async () => {
  s3?.destroy();
  await Promise.all([stopNode(lga), stopNode(ord), stopNode(las)]);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('accelerated reads through a node of another region', () => {
  it('a miss streams from the origin and fills; the next read is a hit that never reaches the origin', async () => {
    const body = randomBytes(3 * MiB);
    await put('accel-data', 'models/one.bin', body);
    const before = (await stats(ord)).origin;
    const first = await accel(las, '/accel-data/models/one.bin');
    expect(first.status).toBe(200);
    expect(first.headers['x-strata-cache']).toBe('miss');
    expect(first.body.equals(body)).toBe(true);
    expect(first.headers.etag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);

    const second = await accel(las, '/accel-data/models/one.bin');
    expect(second.status).toBe(200);
    expect(second.headers['x-strata-cache']).toBe('hit');
    expect(second.body.equals(body)).toBe(true);
    const after = (await stats(ord)).origin;
    expect(after.full - before.full).toBe(1);
    expect(after.notModified - before.notModified).toBe(0);
    const edge = await stats(las);
    expect(edge.fills).toBeGreaterThanOrEqual(1);
    expect(edge.hits).toBeGreaterThanOrEqual(1);

    // Ranges, HEAD and conditional reads come from the cached copy too.
    const range = await accel(las, '/accel-data/models/one.bin', { headers: { range: 'bytes=1000-1999' } });
    expect(range.status).toBe(206);
    expect(range.headers['content-range']).toBe(`bytes 1000-1999/${body.length}`);
    expect(range.body.equals(body.subarray(1000, 2000))).toBe(true);
    const head = await accel(las, '/accel-data/models/one.bin', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(body.length));
    const notModified = await accel(las, '/accel-data/models/one.bin', { headers: { 'if-none-match': first.headers.etag as string } });
    expect(notModified.status).toBe(304);
    expect((await stats(ord)).origin.full).toBe(after.full);
    // The virtual-hosted form of the accelerated host.
    const virtual = await accel(las, '/models/one.bin', { host: `accel-data.accel-object.ord1.localhost:${las.port}` });
    expect(virtual.status).toBe(200);
    expect(virtual.body.equals(body)).toBe(true);
  });

  it('concurrent misses for one object cause a single origin fetch', async () => {
    const body = randomBytes(6 * MiB);
    await put('accel-data', 'models/popular.bin', body);
    const before = (await stats(ord)).origin.full;
    const results = await Promise.all(Array.from({ length: 8 }, () => accel(las, '/accel-data/models/popular.bin')));
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.body.equals(body)).toBe(true);
    }
    expect((await stats(ord)).origin.full - before).toBe(1);
    expect(results.filter((r) => r.headers['x-strata-cache'] === 'miss').length).toBeGreaterThanOrEqual(1);
    expect((await stats(las)).coalesced).toBeGreaterThanOrEqual(1);
  });

  it('keys with spaces, plus signs, quotes, percent signs and non-ASCII characters', async () => {
    const key = "dir/a b+c'd%e(f)~g é*.txt";
    await put('accel-data', key, 'odd key');
    const path = '/accel-data/' + key.split('/').map(encodeURIComponent).join('/').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
    const r = await accel(las, path);
    expect(r.status).toBe(200);
    expect(r.text).toBe('odd key');
  });

  it('a presigned URL for the accelerated host works with plain curl', async () => {
    await put('accel-data', 'presigned.txt', 'presigned bytes');
    const client = new S3Client({ endpoint: `http://accel-object.ord1.localhost:${lga.port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: testAccessKey, secretAccessKey: testSecretKey } });
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'accel-data', Key: 'presigned.txt' }), { expiresIn: 300 });
    client.destroy();
    const out = await run('curl', ['-s', url]);
    expect(out.stdout.toString()).toBe('presigned bytes');
  });

  it('multipart objects: whole, by partNumber and across part boundaries', async () => {
    const body = randomBytes(11 * MiB);
    await new Upload({ client: s3, params: { Bucket: 'accel-data', Key: 'mp.bin', Body: body }, partSize: 5 * MiB, queueSize: 2 }).done();
    const whole = await accel(las, '/accel-data/mp.bin');
    expect(whole.status).toBe(200);
    expect(whole.body.equals(body)).toBe(true);
    const part2 = await accel(las, '/accel-data/mp.bin?partNumber=2');
    expect(part2.status).toBe(206);
    expect(part2.headers['x-amz-mp-parts-count']).toBe('3');
    expect(part2.body.equals(body.subarray(5 * MiB, 10 * MiB))).toBe(true);
    const across = await accel(las, '/accel-data/mp.bin', { headers: { range: `bytes=${5 * MiB - 10}-${10 * MiB + 9}` } });
    expect(across.body.equals(body.subarray(5 * MiB - 10, 10 * MiB + 10))).toBe(true);
  });

  it('an overwrite is seen once the TTL has passed; an unchanged object is revalidated with a 304; a delete disappears', async () => {
    await put('accel-data', 'ttl.txt', 'version one');
    const v1 = await accel(lga, '/accel-data/ttl.txt');
    expect(v1.text).toBe('version one');
    await put('accel-data', 'ttl.txt', 'version two, longer');
    await sleep(1200);
    const v2 = await accel(lga, '/accel-data/ttl.txt');
    expect(v2.status).toBe(200);
    expect(v2.text).toBe('version two, longer');
    expect(v2.headers['x-strata-cache']).toBe('miss');

    await sleep(1200);
    const before = (await stats(ord)).origin;
    const same = await accel(lga, '/accel-data/ttl.txt');
    expect(same.text).toBe('version two, longer');
    expect(same.headers['x-strata-cache']).toBe('revalidated');
    const after = (await stats(ord)).origin;
    expect(after.notModified - before.notModified).toBe(1);
    expect(after.full - before.full).toBe(0);

    await s3.send(new DeleteObjectCommand({ Bucket: 'accel-data', Key: 'ttl.txt' }));
    await sleep(1200);
    const gone = await accel(lga, '/accel-data/ttl.txt');
    expect(gone.status).toBe(404);
    expect(errorCode(gone.text)).toBe('NoSuchKey');
    const noBucket = await accel(lga, '/no-such-bucket-here/x');
    expect(noBucket.status).toBe(404);
    expect(errorCode(noBucket.text)).toBe('NoSuchBucket');
  });

  it('eviction keeps the cache under its bound (8 MiB), least recently used first', async () => {
    const objects = Array.from({ length: 5 }, () => randomBytes(2 * MiB));
    for (let i = 0; i < objects.length; i++) await put('accel-data', `evict/${i}`, objects[i]);
    for (let i = 0; i < objects.length; i++) {
      const r = await accel(lga, `/accel-data/evict/${i}`);
      expect(r.body.equals(objects[i])).toBe(true);
      const s = await stats(lga);
      expect(s.bytes).toBeLessThanOrEqual(8 * MiB);
      const onDisk = cachedFiles(lga).filter((f) => f.path.endsWith('.bin')).reduce((n, f) => n + f.size, 0);
      expect(onDisk).toBeLessThanOrEqual(8 * MiB);
    }
    const s = await stats(lga);
    expect(s.evictions).toBeGreaterThanOrEqual(1);
    expect(s.capacity).toBe(8 * MiB);
    // The first object was evicted: reading it again goes back to the origin.
    const before = (await stats(ord)).origin.full;
    const again = await accel(lga, '/accel-data/evict/0');
    expect(again.body.equals(objects[0])).toBe(true);
    expect(again.headers['x-strata-cache']).toBe('miss');
    expect((await stats(ord)).origin.full - before).toBe(1);
  });

  it('objects larger than the whole cache are served by ranged origin reads, not cached', async () => {
    const body = randomBytes(9 * MiB);
    await put('accel-data', 'huge.bin', body);
    const r = await accel(lga, '/accel-data/huge.bin');
    expect(r.status).toBe(200);
    expect(r.body.equals(body)).toBe(true);
    const part = await accel(lga, '/accel-data/huge.bin', { headers: { range: 'bytes=5-9' } });
    expect(part.body.equals(body.subarray(5, 10))).toBe(true);
    expect((await stats(lga)).bytes).toBeLessThanOrEqual(8 * MiB);
    expect((await stats(lga)).bypass).toBeGreaterThanOrEqual(1);
  });

  it('writes, deletes, lists, multipart and bucket configuration are refused with a clear error', async () => {
    await put('accel-data', 'keep.txt', 'keep me');
    const cases: Array<[string, string, Record<string, string> | undefined, number, string]> = [
      ['PUT', '/accel-data/new.txt', undefined, 405, 'MethodNotAllowed'],
      ['PUT', '/accel-data/copy.txt', { 'x-amz-copy-source': '/accel-data/keep.txt' }, 405, 'MethodNotAllowed'],
      ['DELETE', '/accel-data/keep.txt', undefined, 405, 'MethodNotAllowed'],
      ['POST', '/accel-data/big?uploads', undefined, 405, 'MethodNotAllowed'],
      ['POST', '/accel-data?delete', undefined, 405, 'MethodNotAllowed'],
      ['PUT', '/accel-data?policy', undefined, 405, 'MethodNotAllowed'],
      ['PUT', '/another-bucket', undefined, 405, 'MethodNotAllowed'],
      ['GET', '/', undefined, 400, 'InvalidRequest'],
      ['GET', '/accel-data', undefined, 400, 'InvalidRequest'],
      ['GET', '/accel-data?list-type=2', undefined, 400, 'InvalidRequest'],
      ['GET', '/accel-data?policy', undefined, 400, 'InvalidRequest'],
      ['GET', '/accel-data/keep.txt?acl', undefined, 400, 'InvalidRequest'],
      ['GET', '/accel-data/keep.txt?tagging', undefined, 400, 'InvalidRequest'],
      ['GET', '/accel-data/keep.txt?uploadId=x', undefined, 400, 'InvalidRequest'],
    ];
    for (const [method, path, headers, status, code] of cases) {
      const r = await accel(lga, path, { method, headers, body: method === 'PUT' && !headers ? 'data' : undefined });
      expect({ method, path, status: r.status, code: errorCode(r.text) }).toEqual({ method, path, status, code });
      expect(r.text).toContain(ONLY);
    }
    const headBucket = await accel(lga, '/accel-data', { method: 'HEAD' });
    expect(headBucket.status).toBe(400);
    expect(headBucket.headers['x-amz-error-code']).toBe('InvalidRequest');
    // Nothing was written or deleted at the origin.
    const list = await rawRequest(ord.port, { path: '/accel-data?list-type=2&prefix=new' });
    expect(list.text).not.toContain('<Key>new.txt</Key>');
    const kept = await accel(lga, '/accel-data/keep.txt');
    expect(kept.text).toBe('keep me');
  });

  it('a public-read bucket policy lets anonymous curl use the accelerated host; private objects are refused', async () => {
    await put('accel-public', 'my-new-file.txt', 'public bytes\n');
    await put('accel-private', 'secret.txt', 'private bytes\n');
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: ['arn:aws:s3:::accel-public/*'] }] };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'accel-public', Policy: JSON.stringify(policy) }));

    const byHost = await run('curl', ['-s', '-H', `Host: accel-object.ord1.localhost:${lga.port}`, `http://127.0.0.1:${lga.port}/accel-public/my-new-file.txt`]);
    expect(byHost.stdout.toString()).toBe('public bytes\n');
    const virtual = await run('curl', ['-s', '--resolve', `accel-public.accel-object.ord1.localhost:${lga.port}:127.0.0.1`, `http://accel-public.accel-object.ord1.localhost:${lga.port}/my-new-file.txt`]);
    expect(virtual.stdout.toString()).toBe('public bytes\n');

    const anonymous = await run('curl', ['-s', '-w', '\n%{http_code}', '-H', `Host: accel-object.ord1.localhost:${lga.port}`, `http://127.0.0.1:${lga.port}/accel-private/secret.txt`]);
    const [text, code] = anonymous.stdout.toString().split(/\n(?=\d{3}$)/);
    expect(code).toBe('403');
    expect(errorCode(text)).toBe('AccessDenied');
    const signed = await accel(lga, '/accel-private/secret.txt');
    expect(signed.text).toBe('private bytes\n');
    const wrongSecret = await rawRequest(lga.port, { path: '/accel-private/secret.txt', host: `accel-object.ord1.localhost:${lga.port}`, sign: { accessKeyId: testAccessKey, secretAccessKey: 'not-the-secret-0000000000' } });
    expect(wrongSecret.status).toBe(403);
    expect(errorCode(wrongSecret.text)).toBe('SignatureDoesNotMatch');
    // Anonymous callers may not use response-* overrides, as on the origin.
    const override = await accel(lga, '/accel-public/my-new-file.txt?response-content-type=text/html', { sign: false });
    expect(override.status).toBe(400);
  });

  it('policy and ACL changes reach the edge within the TTL, through revalidation', async () => {
    await put('accel-private', 'later-public.txt', 'soon public');
    expect((await accel(lga, '/accel-private/later-public.txt', { sign: false })).status).toBe(403);
    await put('accel-private', 'later-public.txt', 'soon public', { ACL: 'public-read' });
    await sleep(1200);
    const r = await accel(lga, '/accel-private/later-public.txt', { sign: false });
    expect(r.status).toBe(200);
    expect(r.text).toBe('soon public');

    // A tag-conditioned Deny is applied to tags changed after the bytes were cached (304 path).
    await put('accel-public', 'tagged.txt', 'tagged');
    expect((await accel(lga, '/accel-public/tagged.txt', { sign: false })).status).toBe(200);
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: ['arn:aws:s3:::accel-public/*'] },
        { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: ['arn:aws:s3:::accel-public/*'], Condition: { StringEquals: { 's3:ExistingObjectTag/hidden': 'yes' } } },
      ],
    };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'accel-public', Policy: JSON.stringify(policy) }));
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'accel-public', Key: 'tagged.txt', Tagging: { TagSet: [{ Key: 'hidden', Value: 'yes' }] } }));
    await sleep(1200);
    const denied = await accel(lga, '/accel-public/tagged.txt', { sign: false });
    expect(denied.status).toBe(403);
    expect(denied.headers['x-strata-cache']).toBe('revalidated');
  });

  it('SSE-C objects are served only with the right key and never cached in plaintext', async () => {
    const marker = 'PLAINTEXT-MARKER-' + randomBytes(8).toString('hex');
    const plaintext = Buffer.from((marker + '\n').repeat(20000));
    const key = randomBytes(32);
    const sse = {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': key.toString('base64'),
      'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(key).digest('base64'),
    };
    await put('accel-data', 'secret.bin', plaintext, { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: sse['x-amz-server-side-encryption-customer-key-md5'] });

    const ok = await accel(lga, '/accel-data/secret.bin', { headers: sse });
    expect(ok.status).toBe(200);
    expect(ok.body.equals(plaintext)).toBe(true);
    expect(ok.headers['x-amz-server-side-encryption-customer-key-md5']).toBe(sse['x-amz-server-side-encryption-customer-key-md5']);
    const hit = await accel(lga, '/accel-data/secret.bin', { headers: { ...sse, range: 'bytes=70000-140000' } });
    expect(hit.status).toBe(206);
    expect(hit.body.equals(plaintext.subarray(70000, 140001))).toBe(true);

    const noKey = await accel(lga, '/accel-data/secret.bin');
    expect(noKey.status).toBe(400);
    expect(errorCode(noKey.text)).toBe('InvalidRequest');
    const other = randomBytes(32);
    const wrongKey = await accel(lga, '/accel-data/secret.bin', {
      headers: { ...sse, 'x-amz-server-side-encryption-customer-key': other.toString('base64'), 'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(other).digest('base64') },
    });
    expect(wrongKey.status).toBe(403);
    expect(errorCode(wrongKey.text)).toBe('AccessDenied');

    // The cached file is the stored ciphertext; no cache file of any node holds the plaintext.
    const files = [...cachedFiles(lga), ...cachedFiles(las)];
    expect(files.some((f) => f.path.endsWith('.bin') && f.size === encryptedSize(plaintext.length))).toBe(true);
    for (const f of files) {
      // A metadata file may be renamed into place (from .tmp) between the listing and this read;
      // the grep below covers whatever it became.
      let bytes: Buffer;
      try {
        bytes = readFileSync(f.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      expect(bytes.includes(marker)).toBe(false);
    }
    const grep = await run('grep', ['-r', '-l', marker, lga.cacheDir, las.cacheDir]);
    expect(grep.code).toBe(1);
  });

  it('SSE-C multipart objects decrypt part by part from the cache', async () => {
    const key = randomBytes(32);
    const keyMd5 = createHash('md5').update(key).digest('base64');
    const body = randomBytes(10 * MiB + 12345);
    await new Upload({ client: s3, params: { Bucket: 'accel-data', Key: 'secret-mp.bin', Body: body, SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: keyMd5 }, partSize: 5 * MiB, queueSize: 2 }).done();
    const headers = { 'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key': key.toString('base64'), 'x-amz-server-side-encryption-customer-key-md5': keyMd5 };
    const whole = await accel(las, '/accel-data/secret-mp.bin', { headers });
    expect(whole.status).toBe(200);
    expect(whole.body.equals(body)).toBe(true);
    const across = await accel(las, '/accel-data/secret-mp.bin', { headers: { ...headers, range: `bytes=${5 * MiB - 100}-${5 * MiB + 100}` } });
    expect(across.body.equals(body.subarray(5 * MiB - 100, 5 * MiB + 101))).toBe(true);
  });

  it('the internal origin endpoint refuses requests without a valid, recent node signature', async () => {
    const target = `/_strata/accel/v1/object?region=ord1&bucket=accel-private&key=secret.txt&mode=full`;
    const unsigned = await request(`http://127.0.0.1:${ord.port}${target}`);
    expect(unsigned.statusCode).toBe(403);
    expect(errorCode(await unsigned.body.text())).toBe('AccessDenied');

    const nodeKey = deriveNodeKey(loadOrCreateMasterKey(join(root, 'data')));
    const forged = await request(`http://127.0.0.1:${ord.port}${target}`, { headers: signNodeRequest(deriveNodeKey(randomBytes(32)), 'GET', target) });
    expect(forged.statusCode).toBe(403);
    await forged.body.dump();
    const old = await request(`http://127.0.0.1:${ord.port}${target}`, { headers: signNodeRequest(nodeKey, 'GET', target, Date.now() - 10 * 60 * 1000) });
    expect(old.statusCode).toBe(403);
    await old.body.dump();
    const moved = await request(`http://127.0.0.1:${ord.port}${target.replace('secret.txt', 'other.txt')}`, { headers: signNodeRequest(nodeKey, 'GET', target) });
    expect(moved.statusCode).toBe(403);
    await moved.body.dump();
    const good = await request(`http://127.0.0.1:${ord.port}${target}`, { headers: signNodeRequest(nodeKey, 'GET', target) });
    expect(good.statusCode).toBe(200);
    const raw = Buffer.from(await good.body.arrayBuffer());
    expect(raw.toString()).toContain('private bytes');
    expect((await stats(ord)).origin.rejected).toBeGreaterThanOrEqual(3);
  });

  it('CORS: preflights on object and bucket paths and the headers of reads follow the origin region’s rules', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'accel-cors' }));
    await put('accel-cors', 'page.txt', 'cors bytes', { ACL: 'public-read' });
    const ask = (path: string) => accel(lga, path, { method: 'OPTIONS', sign: false, headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' } });
    const before = await ask('/accel-cors/page.txt');
    expect([before.status, errorCode(before.text)]).toEqual([403, 'AccessForbidden']);
    await s3.send(new PutBucketCorsCommand({ Bucket: 'accel-cors', CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['https://*.example.com'], AllowedMethods: ['GET'], ExposeHeaders: ['ETag'] }] } }));
    await sleep(1200); // past lga's TTL: the edge asks the origin again
    const object = await ask('/accel-cors/page.txt');
    expect(object.status, object.text).toBe(200);
    expect(object.headers['access-control-allow-origin']).toBe('https://app.example.com');
    // A bucket path asks the origin about the bucket alone (no key) over the wire.
    const bucketPath = await ask('/accel-cors');
    expect(bucketPath.status, bucketPath.text).toBe(200);
    expect(bucketPath.headers['access-control-allow-methods']).toBe('GET');
    const read = await accel(lga, '/accel-cors/page.txt', { sign: false, headers: { origin: 'https://app.example.com' } });
    expect(read.status).toBe(200);
    expect(read.text).toBe('cors bytes');
    expect(read.headers['access-control-expose-headers']).toBe('ETag');
    const missing = await accel(lga, '/accel-cors/absent.txt', { headers: { origin: 'https://app.example.com' } });
    expect([missing.status, errorCode(missing.text)]).toEqual([404, 'NoSuchKey']);
    expect(missing.headers['access-control-allow-origin']).toBe('https://app.example.com');
  });

  // Last: stops the origin.
  it('with the origin gone, cached objects are still served within the TTL; others answer 503', async () => {
    const body = randomBytes(MiB);
    await put('accel-data', 'survivor.bin', body);
    await put('accel-data', 'never-fetched.bin', 'x');
    const warm = await accel(las, '/accel-data/survivor.bin');
    expect(warm.body.equals(body)).toBe(true);
    await stopNode(ord, 'SIGKILL');
    const hit = await accel(las, '/accel-data/survivor.bin');
    expect(hit.status).toBe(200);
    expect(hit.headers['x-strata-cache']).toBe('hit');
    expect(hit.body.equals(body)).toBe(true);
    const miss = await accel(las, '/accel-data/never-fetched.bin');
    expect(miss.status).toBe(503);
    expect(errorCode(miss.text)).toBe('ServiceUnavailable');
  });
});
