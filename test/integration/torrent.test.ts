// GetObjectTorrent over real HTTP: the metainfo file is valid bencode whose pieces are the SHA-1s
// of the object's bytes and whose web seed is the object's URL, so Debian's aria2c (a real
// BitTorrent client) downloads a public object from its .torrent alone, with no tracker. Pieces are
// kept with the object and recomputed when it is replaced; the request is authorized like GetObject
// (s3:GetObjectTorrent / s3:GetObjectVersionTorrent) and SSE-C objects are refused.
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectTorrentCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { torrentFileName } from '../../src/ops/torrent.ts';
import { bdecode, type Bencoded } from '../../src/torrent/bencode.ts';
import { run, which } from '../helpers/cli-clients.ts';
import { addTestKey, type Creds } from '../helpers/principals.ts';
import { rawRequest } from '../helpers/raw.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let s3: S3Client;
let work: string;
let outsider: Creds;
const bucket = 'torrents';
const versioned = 'torrent-versions';

type Dict = { [key: string]: Bencoded };
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();
/** The SHA-1 of each `length`-byte piece of `body`, concatenated. */
const piecesOf = (body: Buffer, length: number) => {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; at += length) out.push(sha1(body.subarray(at, at + length)));
  return Buffer.concat(out);
};

const decoded = (bytes: Buffer) => {
  const meta = bdecode(bytes) as Dict;
  return { meta, info: meta.info as Dict, bytes };
};

async function torrentOf(client: S3Client, Key: string, Bucket = bucket): Promise<{ meta: Dict; info: Dict; bytes: Buffer }> {
  const got = await client.send(new GetObjectTorrentCommand({ Bucket, Key }));
  return decoded(Buffer.from(await got.Body!.transformToByteArray()));
}

/** GetObjectVersionTorrent: the SDK's GetObjectTorrent has no VersionId, so the request is signed here. */
async function versionTorrentOf(Bucket: string, Key: string, versionId: string): Promise<{ meta: Dict; info: Dict; bytes: Buffer }> {
  const res = await rawRequest(server.port, { method: 'GET', path: `/${Bucket}/${Key}?torrent&versionId=${encodeURIComponent(versionId)}` });
  expect(res.status).toBe(200);
  return decoded(res.body);
}

const publicRead = (name: string) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${name}/*` }] });

beforeAll(async () => {
  server = await startTestServer();
  s3 = server.client();
  work = mkdtempSync(join(tmpdir(), 'strata-torrent-'));
  outsider = await addTestKey(server, 'other-org', 'torrent-outsider', 'read');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: publicRead(bucket) }));
});
afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('GetObjectTorrent', () => {
  const body = randomBytes(700 * 1024 + 123); // three 256 KiB pieces, the last one short

  it('answers a bencoded metainfo file: SHA-1 pieces of the bytes, the length, the name, a web seed at the object URL', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'models/weights.bin', Body: body }));
    const res = await rawRequest(server.port, { method: 'GET', path: `/${bucket}/models/weights.bin?torrent` });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-bittorrent');
    const { meta, info } = await torrentOf(s3, 'models/weights.bin');
    expect(info.length).toBe(body.length);
    expect(info['piece length']).toBe(256 * 1024);
    expect((info.name as Buffer).toString()).toBe('weights.bin');
    expect((info.pieces as Buffer).equals(piecesOf(body, 256 * 1024))).toBe(true);
    expect((meta['url-list'] as Buffer[]).map(String)).toEqual([`${server.endpoint}/${bucket}/models%2Fweights.bin`]);
    expect(meta.announce).toBeUndefined();
  });

  it('downloads with aria2c from the .torrent alone (web seed, no tracker), and the bytes match', async () => {
    const aria2c = which('aria2c');
    expect(aria2c, 'aria2c (Debian package aria2) must be installed: .ci/run installs it').toBeDefined();
    const { bytes } = await torrentOf(s3, 'models/weights.bin');
    const file = join(work, 'weights.torrent');
    writeFileSync(file, bytes);
    await run(aria2c!, [
      `--dir=${join(work, 'download')}`, '--seed-time=0', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false',
      '--enable-peer-exchange=false', '--follow-torrent=false', '--summary-interval=0', '--console-log-level=warn', '--max-tries=3', file,
    ], { timeout: 60_000 });
    expect(readFileSync(join(work, 'download', 'weights.bin')).equals(body)).toBe(true);
  });

  it('keeps the pieces with the object, and hashes again when the object is replaced', async () => {
    const store = server.services.regions.get(server.services.config.defaultRegion)!;
    expect((await store.getObject(bucket, 'models/weights.bin'))!.meta.torrent?.pieces).toBe(piecesOf(body, 256 * 1024).toString('base64'));
    const replaced = randomBytes(300 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'models/weights.bin', Body: replaced }));
    const { info } = await torrentOf(s3, 'models/weights.bin');
    expect(info.length).toBe(replaced.length);
    expect((info.pieces as Buffer).equals(piecesOf(replaced, 256 * 1024))).toBe(true);
  });

  it('hashes a multipart object across its parts, and an empty object has no pieces', async () => {
    const parts = [randomBytes(5 * 1024 * 1024 + 1000), randomBytes(333 * 1024)];
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'multi.bin' }));
    const Parts = [];
    for (const [i, Body] of parts.entries()) {
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'multi.bin', UploadId, PartNumber: i + 1, Body }));
      Parts.push({ PartNumber: i + 1, ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'multi.bin', UploadId, MultipartUpload: { Parts } }));
    const { info } = await torrentOf(s3, 'multi.bin');
    expect((info.pieces as Buffer).equals(piecesOf(Buffer.concat(parts), 256 * 1024))).toBe(true);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'empty', Body: '' }));
    const empty = await torrentOf(s3, 'empty');
    expect([empty.info.length, (empty.info.pieces as Buffer).length]).toEqual([0, 0]);
  });

  it('answers concurrent first requests with the same pieces (one shared computation), and names files safely', async () => {
    const bytes = randomBytes(600 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/../shared.bin', Body: bytes }));
    const all = await Promise.all(Array.from({ length: 6 }, () => torrentOf(s3, 'dir/../shared.bin')));
    for (const { info } of all) expect((info.pieces as Buffer).equals(piecesOf(bytes, 256 * 1024))).toBe(true);
    expect(torrentFileName('a/..', 'b')).toBe('a');
    expect(torrentFileName('../..', 'bucket')).toBe('bucket');
    expect(torrentFileName('x/we\\ird\nname', 'b')).toBe('we_ird_name');
  });

  it('is authorized like GetObject: 404 for a missing key, 403 for another organisation, and a policy can deny s3:GetObjectTorrent alone', async () => {
    expect((await sdkError(torrentOf(s3, 'absent.bin'))).name).toBe('NoSuchKey');
    await s3.send(new CreateBucketCommand({ Bucket: 'torrent-private' }));
    await s3.send(new PutObjectCommand({ Bucket: 'torrent-private', Key: 'k', Body: 'secret' }));
    const other = server.client({ credentials: outsider });
    expect((await sdkError(torrentOf(other, 'k', 'torrent-private'))).name).toBe('AccessDenied');
    expect((await rawRequest(server.port, { method: 'GET', path: '/torrent-private/k?torrent', sign: false })).status).toBe(403);
    await s3.send(new PutBucketPolicyCommand({
      Bucket: 'torrent-private',
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObjectTorrent', Resource: 'arn:aws:s3:::torrent-private/*' }] }),
    }));
    expect((await sdkError(torrentOf(s3, 'k', 'torrent-private'))).name).toBe('AccessDenied');
    const plain = await rawRequest(server.port, { method: 'GET', path: '/torrent-private/k' });
    expect(plain.status).toBe(200);
  });

  it('serves the torrent of a version named by versionId, with the version in the web seed URL', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: versioned }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));
    const old = randomBytes(1000);
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: versioned, Key: 'k', Body: old }))).VersionId!;
    await s3.send(new PutObjectCommand({ Bucket: versioned, Key: 'k', Body: randomBytes(2000) }));
    const { meta, info } = await versionTorrentOf(versioned, 'k', v1);
    expect(info.length).toBe(old.length);
    expect((info.pieces as Buffer).equals(sha1(old))).toBe(true);
    expect(String((meta['url-list'] as Buffer[])[0])).toBe(`${server.endpoint}/${versioned}/k?versionId=${v1}`);
    expect((await torrentOf(s3, 'k', versioned)).info.length).toBe(2000);
  });
});

describe('GetObjectTorrent and SSE-C', () => {
  let tls: TestServer;
  let certDir: string;
  afterAll(async () => {
    await tls?.stop();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  it('refuses an object encrypted with a customer key (400 InvalidRequest): its bytes cannot be hashed without the key', async () => {
    certDir = mkdtempSync(join(tmpdir(), 'strata-torrent-tls-'));
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'), '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1']);
    tls = await startTestServer({ tlsCert: join(certDir, 'cert.pem'), tlsKey: join(certDir, 'key.pem'), tlsPort: 0 });
    const client = tls.client({ endpoint: tls.tlsEndpoint, requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: readFileSync(join(certDir, 'cert.pem')) }) }) });
    const key = randomBytes(32);
    await client.send(new CreateBucketCommand({ Bucket: 'sse-torrent' }));
    await client.send(new PutObjectCommand({
      Bucket: 'sse-torrent', Key: 'k', Body: 'sealed',
      SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: createHash('md5').update(key).digest('base64'),
    }));
    const err = await sdkError(torrentOf(client, 'k', 'sse-torrent'));
    expect([err.$metadata.httpStatusCode, err.name]).toEqual([400, 'InvalidRequest']);
  });
});
