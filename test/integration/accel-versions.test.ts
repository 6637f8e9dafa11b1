// Reads by version (?versionId=) on the accelerated endpoints, across real processes sharing one
// data root:
//   ord1  the origin; its own accelerated host reads its store in process (no endpoint for ord1)
//   lga1  an edge that fetches ord1 over HTTP (STRATA_REGION_ENDPOINTS), with a 4 MiB cache
// Both have a 1 s TTL. Every answer is compared with the regional endpoint's (status, error code,
// x-amz-version-id, x-amz-delete-marker, Allow, ETag, length, bytes). SDK clients reach the
// accelerated host accel-object.ord1.localhost through an agent that resolves it to 127.0.0.1.
import {
  CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutBucketPolicyCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Agent, createServer as createHttpServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveNodeKey, signNodeRequest } from '../../src/accel/node-auth.ts';
import { loadOrCreateMasterKey } from '../../src/identity/identity-store.ts';
import { errorCode, rawRequest, type RawResponse } from '../helpers/raw.ts';
import { testAccessKey, testSecretKey } from '../helpers/server.ts';

const strataBin = resolve(import.meta.dirname, '../../bin/strata');
const MiB = 1024 * 1024;

interface Node {
  name: string;
  port: number;
  child: ChildProcess;
  output: string;
}

let root: string;
let ord: Node;
let lga: Node;
let s3: S3Client;
const clients: S3Client[] = [];

function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => done(port));
    });
  });
}

function startNode(name: string, port: number, env: Record<string, string>): Promise<Node> {
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
      STRATA_ACCEL_CACHE_DIR: join(root, `cache-${name}`),
      STRATA_ACCEL_TTL_SECONDS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const node: Node = { name, port, child, output: '' };
  return new Promise((done, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${node.output}`)), 90_000);
    child.stdout!.on('data', (d: Buffer) => {
      node.output += d.toString();
      if (node.output.includes('Strata listening on')) {
        clearTimeout(timer);
        done(node);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (node.output += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${node.output}`));
    });
  });
}

function stopNode(node: Node | undefined): Promise<void> {
  if (!node || node.child.exitCode !== null || node.child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    node.child.once('exit', () => done());
    node.child.kill('SIGTERM');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Longer than the 1 s TTL of both edges. */
const pastTtl = () => sleep(1200);

/** Every name resolves to the loopback address, so the SDK can use the accelerated host name. */
const loopback: LookupFunction = (_host, options, callback) => {
  if (options.all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

function accelClient(node: Node): S3Client {
  const client = new S3Client({
    endpoint: `http://accel-object.ord1.localhost:${node.port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: testAccessKey, secretAccessKey: testSecretKey },
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, lookup: loopback } as ConstructorParameters<typeof Agent>[0]) }),
  });
  clients.push(client);
  return client;
}

interface Edge {
  label: string;
  node: () => Node;
  sdk: () => S3Client;
}
let ordSdk: S3Client;
let lgaSdk: S3Client;
const edges: Edge[] = [
  { label: 'in process (ord1)', node: () => ord, sdk: () => ordSdk },
  { label: 'over HTTP (lga1)', node: () => lga, sdk: () => lgaSdk },
];

type Req = { method?: string; headers?: Record<string, string>; sign?: false };
const viaEdge = (node: Node, path: string, r: Req = {}) => rawRequest(node.port, { ...r, path, host: `accel-object.ord1.localhost:${node.port}` });
const viaRegion = (path: string, r: Req = {}) => rawRequest(ord.port, { ...r, path });

/** What must be the same on both endpoints. */
function shape(r: RawResponse) {
  const h = r.headers;
  const element = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(r.text)?.[1];
  const failed = r.status >= 300;
  return {
    status: r.status,
    code: failed ? (errorCode(r.text) ?? h['x-amz-error-code']) : undefined,
    errorKey: failed ? element('Key') : undefined,
    errorVersionId: failed ? element('VersionId') : undefined,
    versionId: h['x-amz-version-id'],
    deleteMarker: h['x-amz-delete-marker'],
    allow: h.allow,
    etag: h.etag,
    lastModified: h['last-modified'],
    contentLength: failed ? undefined : h['content-length'],
    contentRange: h['content-range'],
    body: failed ? undefined : createHash('sha256').update(r.body).digest('hex'),
  };
}

/** The request through both edges answers what the regional endpoint answers; returns that answer. */
async function sameAsRegion(path: string, r: Req = {}): Promise<ReturnType<typeof shape>> {
  const regional = shape(await viaRegion(path, r));
  for (const edge of edges) {
    const answer = shape(await viaEdge(edge.node(), path, r));
    expect({ edge: edge.label, path, method: r.method ?? 'GET', ...answer }).toEqual({ edge: edge.label, path, method: r.method ?? 'GET', ...regional });
  }
  return regional;
}

async function originStats(): Promise<Record<string, number>> {
  const res = await request(`http://127.0.0.1:${ord.port}/_strata/accel/stats`);
  return ((await res.body.json()) as { origin: Record<string, number> }).origin;
}

async function edgeStats(node: Node): Promise<Record<string, number>> {
  const res = await request(`http://127.0.0.1:${node.port}/_strata/accel/stats`);
  return (await res.body.json()) as Record<string, number>;
}

async function versioned(bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
}

async function put(bucket: string, key: string, body: Buffer | string, extra: Record<string, unknown> = {}): Promise<string> {
  const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
  return out.VersionId ?? 'null';
}

async function sdkError(p: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await p;
  } catch (err) {
    return err as S3ServiceException;
  }
  throw new Error('the call succeeded');
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'strata-accel-versions-'));
  const [po, pl] = [await freePort(), await freePort()];
  // ord1 names no endpoint for itself: its accelerated host reads its own store in process.
  ord = await startNode('ord1', po, {});
  lga = await startNode('lga1', pl, { STRATA_REGION_ENDPOINTS: `ord1=http://127.0.0.1:${po}`, STRATA_ACCEL_CACHE_BYTES: String(4 * MiB) });
  s3 = new S3Client({ endpoint: `http://127.0.0.1:${ord.port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: testAccessKey, secretAccessKey: testSecretKey } });
  ordSdk = accelClient(ord);
  lgaSdk = accelClient(lga);
}, 180_000);

afterAll(async () => {
  s3?.destroy();
  for (const c of clients) c.destroy();
  await Promise.all([stopNode(lga), stopNode(ord)]);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('accelerated reads by version', () => {
  it('GET and HEAD with ?versionId= serve that version, with x-amz-version-id, through the SDK', async () => {
    await versioned('av-read');
    const bodies = [Buffer.from('first version'), randomBytes(MiB + 17), Buffer.from('third and current')];
    const ids: string[] = [];
    for (const b of bodies) ids.push(await put('av-read', 'k.bin', b));
    expect(new Set(ids).size).toBe(3);
    for (const edge of edges) {
      const sdk = edge.sdk();
      for (let i = 0; i < bodies.length; i++) {
        const got = await sdk.send(new GetObjectCommand({ Bucket: 'av-read', Key: 'k.bin', VersionId: ids[i] }));
        expect(got.VersionId).toBe(ids[i]);
        expect(Buffer.from(await got.Body!.transformToByteArray()).equals(bodies[i])).toBe(true);
        const head = await sdk.send(new HeadObjectCommand({ Bucket: 'av-read', Key: 'k.bin', VersionId: ids[i] }));
        expect(head.VersionId).toBe(ids[i]);
        expect(head.ContentLength).toBe(bodies[i].length);
        expect(head.ETag).toBe(`"${createHash('md5').update(bodies[i]).digest('hex')}"`);
      }
      // Without versionId: the current version, and its id.
      const current = await sdk.send(new GetObjectCommand({ Bucket: 'av-read', Key: 'k.bin' }));
      expect(current.VersionId).toBe(ids[2]);
      expect(await current.Body!.transformToString()).toBe('third and current');
      // A range of a noncurrent version, from the cache.
      const range = await sdk.send(new GetObjectCommand({ Bucket: 'av-read', Key: 'k.bin', VersionId: ids[1], Range: 'bytes=1000-1999' }));
      expect(range.ContentRange).toBe(`bytes 1000-1999/${bodies[1].length}`);
      expect(Buffer.from(await range.Body!.transformToByteArray()).equals(bodies[1].subarray(1000, 2000))).toBe(true);
    }
    for (let i = 0; i < ids.length; i++) {
      expect((await sameAsRegion(`/av-read/k.bin?versionId=${ids[i]}`)).versionId).toBe(ids[i]);
      await sameAsRegion(`/av-read/k.bin?versionId=${ids[i]}`, { method: 'HEAD' });
      await sameAsRegion(`/av-read/k.bin?versionId=${ids[i]}`, { headers: { range: 'bytes=3-9' } });
    }
    expect((await sameAsRegion('/av-read/k.bin')).versionId).toBe(ids[2]);
    // Conditional reads of a version: 304 and 412 as on the region.
    const etag = `"${createHash('md5').update(bodies[0]).digest('hex')}"`;
    expect((await sameAsRegion(`/av-read/k.bin?versionId=${ids[0]}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await sameAsRegion(`/av-read/k.bin?versionId=${ids[1]}`, { headers: { 'if-match': etag } })).status).toBe(412);
  });

  it('a version is cached under its id: filled once, later served without fetching its bytes again (a 304 after the TTL)', async () => {
    await versioned('av-cache');
    const old = randomBytes(256 * 1024);
    const v1 = await put('av-cache', 'c.bin', old);
    await put('av-cache', 'c.bin', 'newer');
    for (const edge of edges) {
      const node = edge.node();
      const before = await originStats();
      const first = await viaEdge(node, `/av-cache/c.bin?versionId=${v1}`);
      expect(first.headers['x-strata-cache']).toBe('miss');
      expect(first.body.equals(old)).toBe(true);
      const again = await viaEdge(node, `/av-cache/c.bin?versionId=${v1}`);
      expect(again.headers['x-strata-cache']).toBe('hit');
      expect(again.body.equals(old)).toBe(true);
      // The current version has an entry of its own; it does not replace the version's.
      expect((await viaEdge(node, '/av-cache/c.bin')).text).toBe('newer');
      expect((await viaEdge(node, `/av-cache/c.bin?versionId=${v1}`)).headers['x-strata-cache']).toBe('hit');
      await pastTtl();
      const later = await viaEdge(node, `/av-cache/c.bin?versionId=${v1}`);
      expect(later.headers['x-strata-cache']).toBe('revalidated');
      expect(later.headers['x-amz-version-id']).toBe(v1);
      expect(later.body.equals(old)).toBe(true);
      const after = await originStats();
      // One full fetch for the version, one for the current version; the revalidation sent no bytes.
      expect(after.full - before.full).toBe(2);
      expect(after.notModified - before.notModified).toBe(1);
    }
  });

  it('an overwrite on the regional endpoint is seen through the accelerated host once the TTL has passed; the old version stays readable by id', async () => {
    await versioned('av-over');
    const v1 = await put('av-over', 'o.txt', 'one');
    for (const edge of edges) {
      const r = await viaEdge(edge.node(), '/av-over/o.txt');
      expect([r.text, r.headers['x-amz-version-id']]).toEqual(['one', v1]);
    }
    const v2 = await put('av-over', 'o.txt', 'two, longer');
    for (const edge of edges) {
      // Within the TTL the cached current version may still be served, but its bytes and its
      // version id always belong together.
      const r = await viaEdge(edge.node(), '/av-over/o.txt');
      expect([[r.text, r.headers['x-amz-version-id']]]).toContainEqual(r.text === 'one' ? ['one', v1] : ['two, longer', v2]);
    }
    await pastTtl();
    for (const edge of edges) {
      const r = await viaEdge(edge.node(), '/av-over/o.txt');
      expect([r.text, r.headers['x-amz-version-id'], r.headers['x-strata-cache']]).toEqual(['two, longer', v2, 'miss']);
      const old = await edge.sdk().send(new GetObjectCommand({ Bucket: 'av-over', Key: 'o.txt', VersionId: v1 }));
      expect(await old.Body!.transformToString()).toBe('one');
    }
    await sameAsRegion('/av-over/o.txt');

    // A bucket that was never versioned: as before, no x-amz-version-id, overwrites seen after the TTL.
    await s3.send(new CreateBucketCommand({ Bucket: 'av-plain' }));
    await put('av-plain', 'p.txt', 'plain one');
    expect((await sameAsRegion('/av-plain/p.txt')).versionId).toBeUndefined();
    await put('av-plain', 'p.txt', 'plain two');
    await pastTtl();
    for (const edge of edges) expect((await viaEdge(edge.node(), '/av-plain/p.txt')).text).toBe('plain two');
    expect((await sameAsRegion('/av-plain/p.txt')).versionId).toBeUndefined();
  });

  it('delete markers answer as on the regional endpoint: 404 when current, 405 by id, with x-amz-delete-marker', async () => {
    await versioned('av-marker');
    const v1 = await put('av-marker', 'm.txt', 'before the marker');
    for (const edge of edges) expect((await viaEdge(edge.node(), '/av-marker/m.txt')).status).toBe(200);
    const del = await s3.send(new DeleteObjectCommand({ Bucket: 'av-marker', Key: 'm.txt' }));
    expect(del.DeleteMarker).toBe(true);
    const marker = del.VersionId!;
    await pastTtl();
    for (const method of ['GET', 'HEAD']) {
      const current = await sameAsRegion('/av-marker/m.txt', { method });
      expect(current).toMatchObject({ status: 404, code: 'NoSuchKey', deleteMarker: 'true', versionId: marker });
      const byId = await sameAsRegion(`/av-marker/m.txt?versionId=${marker}`, { method });
      expect(byId).toMatchObject({ status: 405, code: 'MethodNotAllowed', deleteMarker: 'true', versionId: marker, allow: 'DELETE' });
      expect((await sameAsRegion(`/av-marker/m.txt?versionId=${v1}`, { method })).status).toBe(200);
    }
    for (const edge of edges) {
      const gone = await sdkError(edge.sdk().send(new GetObjectCommand({ Bucket: 'av-marker', Key: 'm.txt' })));
      expect([gone.name, gone.$metadata.httpStatusCode]).toEqual(['NoSuchKey', 404]);
      const byId = await sdkError(edge.sdk().send(new GetObjectCommand({ Bucket: 'av-marker', Key: 'm.txt', VersionId: marker })));
      expect(byId.$metadata.httpStatusCode).toBe(405);
      const old = await edge.sdk().send(new GetObjectCommand({ Bucket: 'av-marker', Key: 'm.txt', VersionId: v1 }));
      expect(await old.Body!.transformToString()).toBe('before the marker');
    }
    // Removing the marker makes v1 current again.
    await s3.send(new DeleteObjectCommand({ Bucket: 'av-marker', Key: 'm.txt', VersionId: marker }));
    await pastTtl();
    expect(await sameAsRegion('/av-marker/m.txt')).toMatchObject({ status: 200, versionId: v1 });
    // The marker's id now names nothing.
    expect(await sameAsRegion(`/av-marker/m.txt?versionId=${marker}`)).toMatchObject({ status: 404, code: 'NoSuchVersion' });
  });

  it('unknown, removed and malformed version ids answer as on the regional endpoint', async () => {
    await versioned('av-unknown');
    const v1 = await put('av-unknown', 'u.txt', 'only version');
    const twin = v1.slice(0, -1) + (v1.endsWith('A') ? 'B' : 'A');
    const v0 = '0'.repeat(11) + 'A'.repeat(21);
    for (const method of ['GET', 'HEAD']) {
      expect(await sameAsRegion(`/av-unknown/u.txt?versionId=${twin}`, { method })).toMatchObject({ status: 404, code: 'NoSuchVersion' });
      expect(await sameAsRegion(`/av-unknown/u.txt?versionId=${v0}`, { method })).toMatchObject({ status: 404, code: 'NoSuchVersion' });
      expect(await sameAsRegion('/av-unknown/u.txt?versionId=null', { method })).toMatchObject({ status: 404, code: 'NoSuchVersion' });
      expect(await sameAsRegion(`/av-unknown/missing.txt?versionId=${v1}`, { method })).toMatchObject({ status: 404, code: 'NoSuchVersion' });
      for (const bad of ['not-a-version', '', 'NULL', v1 + 'x', encodeURIComponent(v1.slice(0, 31) + '/')]) {
        expect(await sameAsRegion(`/av-unknown/u.txt?versionId=${bad}`, { method })).toMatchObject({ status: 400, code: 'InvalidArgument' });
      }
      expect(await sameAsRegion(`/av-unknown-no-bucket/u.txt?versionId=${v1}`, { method })).toMatchObject({ status: 404, code: 'NoSuchBucket' });
    }
    // A malformed id asks the origin for no bytes.
    const before = await originStats();
    for (const edge of edges) expect((await viaEdge(edge.node(), '/av-unknown/u.txt?versionId=zzz')).status).toBe(400);
    expect((await originStats()).full).toBe(before.full);

    // A version removed at the region disappears from the edges within the TTL.
    for (const edge of edges) expect((await viaEdge(edge.node(), `/av-unknown/u.txt?versionId=${v1}`)).text).toBe('only version');
    await s3.send(new DeleteObjectCommand({ Bucket: 'av-unknown', Key: 'u.txt', VersionId: v1 }));
    await pastTtl();
    expect(await sameAsRegion(`/av-unknown/u.txt?versionId=${v1}`)).toMatchObject({ status: 404, code: 'NoSuchVersion', errorVersionId: v1 });
    for (const edge of edges) {
      const err = await sdkError(edge.sdk().send(new GetObjectCommand({ Bucket: 'av-unknown', Key: 'u.txt', VersionId: v1 })));
      expect([err.name, err.$metadata.httpStatusCode]).toEqual(['NoSuchVersion', 404]);
    }
  });

  it('the null version: written before versioning was enabled, or in a bucket never versioned', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'av-null' }));
    await put('av-null', 'n.txt', 'from before versioning');
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'av-null', VersioningConfiguration: { Status: 'Enabled' } }));
    const v2 = await put('av-null', 'n.txt', 'versioned');
    expect(await sameAsRegion('/av-null/n.txt?versionId=null')).toMatchObject({ status: 200, versionId: 'null' });
    expect((await viaEdge(lga, '/av-null/n.txt?versionId=null')).text).toBe('from before versioning');
    expect(await sameAsRegion('/av-null/n.txt')).toMatchObject({ status: 200, versionId: v2 });
    // Suspended: the current null version says "null".
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'av-null', VersioningConfiguration: { Status: 'Suspended' } }));
    await put('av-null', 'n.txt', 'suspended write');
    await pastTtl();
    expect(await sameAsRegion('/av-null/n.txt')).toMatchObject({ status: 200, versionId: 'null' });
    expect((await viaEdge(ord, '/av-null/n.txt')).text).toBe('suspended write');
    expect((await viaEdge(lga, `/av-null/n.txt?versionId=${v2}`)).text).toBe('versioned');

    await s3.send(new CreateBucketCommand({ Bucket: 'av-never' }));
    await put('av-never', 'n.txt', 'never versioned');
    expect(await sameAsRegion('/av-never/n.txt?versionId=null')).toMatchObject({ status: 200, versionId: undefined });
    expect(await sameAsRegion('/av-never/n.txt?versionId=' + v2)).toMatchObject({ status: 404, code: 'NoSuchVersion' });
  });

  it('?versionId= is authorized as s3:GetObjectVersion, with s3:versionid conditions, as on the regional endpoint', async () => {
    await versioned('av-policy');
    const v1 = await put('av-policy', 'p.txt', 'policy one');
    const v2 = await put('av-policy', 'p.txt', 'policy two');
    const getOnly = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: ['arn:aws:s3:::av-policy/*'] }] };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'av-policy', Policy: JSON.stringify(getOnly) }));
    const anon = { sign: false as const };
    expect(await sameAsRegion('/av-policy/p.txt', anon)).toMatchObject({ status: 200, versionId: v2 });
    const bytesBefore = await Promise.all(edges.map(async (e) => (await edgeStats(e.node())).bytes));
    for (const method of ['GET', 'HEAD']) {
      expect(await sameAsRegion(`/av-policy/p.txt?versionId=${v1}`, { ...anon, method })).toMatchObject({ status: 403, code: 'AccessDenied' });
      // Even the current version's id needs s3:GetObjectVersion; so does a missing version.
      expect(await sameAsRegion(`/av-policy/p.txt?versionId=${v2}`, { ...anon, method })).toMatchObject({ status: 403, code: 'AccessDenied' });
      expect(await sameAsRegion(`/av-policy/p.txt?versionId=${v1.slice(0, -1)}_`, { ...anon, method })).toMatchObject({ status: 403, code: 'AccessDenied' });
    }
    // Refused requests cached no bytes.
    expect(await Promise.all(edges.map(async (e) => (await edgeStats(e.node())).bytes))).toEqual(bytesBefore);

    const onlyV1 = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: ['arn:aws:s3:::av-policy/*'] },
        { Effect: 'Allow', Principal: '*', Action: 's3:GetObjectVersion', Resource: ['arn:aws:s3:::av-policy/*'], Condition: { StringEquals: { 's3:versionid': v1 } } },
      ],
    };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'av-policy', Policy: JSON.stringify(onlyV1) }));
    await pastTtl();
    expect(await sameAsRegion(`/av-policy/p.txt?versionId=${v1}`, anon)).toMatchObject({ status: 200, versionId: v1 });
    expect(await sameAsRegion(`/av-policy/p.txt?versionId=${v2}`, anon)).toMatchObject({ status: 403, code: 'AccessDenied' });
    // Malformed ids are refused after authorization, as on the region: denied for the anonymous
    // caller unless the policy allows the action.
    expect(await sameAsRegion('/av-policy/p.txt?versionId=bad', anon)).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await sameAsRegion('/av-policy/p.txt?versionId=bad')).toMatchObject({ status: 400, code: 'InvalidArgument' });

    // A Deny of s3:GetObjectVersion reaches a version already cached, through revalidation.
    const denyVersions = { ...onlyV1, Statement: [...onlyV1.Statement, { Effect: 'Deny', Principal: '*', Action: 's3:GetObjectVersion', Resource: ['arn:aws:s3:::av-policy/*'] }] };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'av-policy', Policy: JSON.stringify(denyVersions) }));
    await pastTtl();
    for (const edge of edges) {
      const r = await viaEdge(edge.node(), `/av-policy/p.txt?versionId=${v1}`, anon);
      expect([r.status, errorCode(r.text), r.headers['x-strata-cache']]).toEqual([403, 'AccessDenied', 'revalidated']);
    }
    expect(await sameAsRegion('/av-policy/p.txt', anon)).toMatchObject({ status: 200, versionId: v2 });
  });

  it("object ACLs are the named version's own", async () => {
    // Not compared with the region: its authorizeRequest reads the current version's ACL for
    // ?versionId= requests (see the report of this change); AWS evaluates the version's own.
    await versioned('av-acl');
    const open = await put('av-acl', 'a.txt', 'public old version', { ACL: 'public-read' });
    const closed = await put('av-acl', 'a.txt', 'private current version');
    for (const edge of edges) {
      const old = await viaEdge(edge.node(), `/av-acl/a.txt?versionId=${open}`, { sign: false });
      expect([old.status, old.text]).toEqual([200, 'public old version']);
      expect((await viaEdge(edge.node(), `/av-acl/a.txt?versionId=${closed}`, { sign: false })).status).toBe(403);
      expect((await viaEdge(edge.node(), '/av-acl/a.txt', { sign: false })).status).toBe(403);
    }
    const closedOld = await put('av-acl', 'b.txt', 'private old version');
    await put('av-acl', 'b.txt', 'public current version', { ACL: 'public-read' });
    for (const edge of edges) {
      expect((await viaEdge(edge.node(), '/av-acl/b.txt', { sign: false })).text).toBe('public current version');
      expect((await viaEdge(edge.node(), `/av-acl/b.txt?versionId=${closedOld}`, { sign: false })).status).toBe(403);
    }
  });

  it('SSE-C versions need their own key; a version larger than the cache is read by ranges of that version', async () => {
    await versioned('av-misc');
    const key = randomBytes(32);
    const sse = {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': key.toString('base64'),
      'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(key).digest('base64'),
    };
    const secret = randomBytes(100_000);
    const vs = await put('av-misc', 's.bin', secret, { SSECustomerAlgorithm: 'AES256', SSECustomerKey: sse['x-amz-server-side-encryption-customer-key'], SSECustomerKeyMD5: sse['x-amz-server-side-encryption-customer-key-md5'] });
    await put('av-misc', 's.bin', 'plain current');
    expect(await sameAsRegion(`/av-misc/s.bin?versionId=${vs}`, { headers: sse })).toMatchObject({ status: 200, versionId: vs });
    expect(await sameAsRegion(`/av-misc/s.bin?versionId=${vs}`)).toMatchObject({ status: 400, code: 'InvalidRequest' });
    expect(await sameAsRegion('/av-misc/s.bin', { headers: sse })).toMatchObject({ status: 400, code: 'InvalidRequest' });

    // lga1's cache holds 4 MiB: this version is never cached there, only read by ranges.
    const big = randomBytes(5 * MiB);
    const vb = await put('av-misc', 'big.bin', big);
    await put('av-misc', 'big.bin', 'small current');
    const bypassBefore = (await edgeStats(lga)).bypass;
    const whole = await lgaSdk.send(new GetObjectCommand({ Bucket: 'av-misc', Key: 'big.bin', VersionId: vb }));
    expect(whole.VersionId).toBe(vb);
    expect(Buffer.from(await whole.Body!.transformToByteArray()).equals(big)).toBe(true);
    const part = await viaEdge(lga, `/av-misc/big.bin?versionId=${vb}`, { headers: { range: 'bytes=4194300-4194310' } });
    expect(part.body.equals(big.subarray(4194300, 4194311))).toBe(true);
    expect((await edgeStats(lga)).bypass).toBeGreaterThan(bypassBefore);
    expect((await edgeStats(lga)).bytes).toBeLessThanOrEqual(4 * MiB);
    await sameAsRegion(`/av-misc/big.bin?versionId=${vb}`, { headers: { range: 'bytes=-100' } });
  });

  it('an origin that ignores versionId (an older release) is not trusted with version reads: 503', async () => {
    // A proxy in front of ord1 that drops versionId and signs again, as a node of the release
    // before versioning would: it answers about the current version.
    const nodeKey = deriveNodeKey(loadOrCreateMasterKey(join(root, 'data')));
    const proxy: Server = createHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://proxy');
      url.searchParams.delete('versionId');
      const target = `${url.pathname}?${url.searchParams.toString()}`;
      const headers: Record<string, string> = signNodeRequest(nodeKey, 'GET', target);
      for (const name of ['if-none-match', 'if-match']) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name] as string;
      request(`http://127.0.0.1:${ord.port}${target}`, { headers })
        .then(async (up) => {
          const out: Record<string, string> = {};
          for (const [name, value] of Object.entries(up.headers)) if (typeof value === 'string' && !['connection', 'keep-alive', 'transfer-encoding'].includes(name)) out[name] = value;
          res.writeHead(up.statusCode, out);
          await pipeline(up.body, res);
        })
        .catch(() => res.destroy());
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    const proxyPort = (proxy.address() as { port: number }).port;
    const las = await startNode('las1', await freePort(), { STRATA_REGION_ENDPOINTS: `ord1=http://127.0.0.1:${proxyPort}` });
    try {
      await versioned('av-old-origin');
      const v1 = await put('av-old-origin', 'o.txt', 'old');
      const v2 = await put('av-old-origin', 'o.txt', 'current');
      const current = await viaEdge(las, '/av-old-origin/o.txt');
      expect([current.status, current.text, current.headers['x-amz-version-id']]).toEqual([200, 'current', v2]);
      for (const id of [v1, v2]) {
        const r = await viaEdge(las, `/av-old-origin/o.txt?versionId=${id}`);
        expect([r.status, errorCode(r.text)]).toEqual([503, 'ServiceUnavailable']);
      }
    } finally {
      await stopNode(las);
      await new Promise((done) => proxy.close(done));
    }
  });

  // Last: restarts lga1.
  it('cached versions are found again after a restart (revalidated, not fetched again)', async () => {
    await versioned('av-restart');
    const body = randomBytes(300_000);
    const v1 = await put('av-restart', 'r.bin', body);
    await put('av-restart', 'r.bin', 'current');
    expect((await viaEdge(lga, `/av-restart/r.bin?versionId=${v1}`)).body.equals(body)).toBe(true);
    await stopNode(lga);
    lga = await startNode('lga1', lga.port, { STRATA_REGION_ENDPOINTS: `ord1=http://127.0.0.1:${ord.port}`, STRATA_ACCEL_CACHE_BYTES: String(4 * MiB) });
    const before = await originStats();
    const again = await viaEdge(lga, `/av-restart/r.bin?versionId=${v1}`);
    expect([again.status, again.headers['x-strata-cache'], again.headers['x-amz-version-id']]).toEqual([200, 'revalidated', v1]);
    expect(again.body.equals(body)).toBe(true);
    const after = await originStats();
    expect(after.full - before.full).toBe(0);
    expect(after.notModified - before.notModified).toBe(1);
    expect((await viaEdge(lga, '/av-restart/r.bin')).text).toBe('current');
  });
});
