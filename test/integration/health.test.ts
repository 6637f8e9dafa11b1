// Health checks on both listeners: live while the process answers; ready only while every
// database answers, the data directory takes a write and shutdown has not begun. The failures are
// real: the data directory moved away, a region's metadata database closed (SQLite) or the shared
// pool ended (PostgreSQL), the S3 listener closing. The Dockerfile's HEALTHCHECK command is run
// as written against the server.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/raw.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; json: { status: string; checks?: { name: string; ok: boolean; error?: string }[] } }> {
  const res = await request(url, { headers });
  const text = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(text) };
}

const failing = (json: { checks?: { name: string; ok: boolean }[] }) => (json.checks ?? []).filter((c) => !c.ok).map((c) => c.name);

/** The command of the Dockerfile's HEALTHCHECK, run as the image runs it (STRATA_PORT names the port). */
function dockerHealthcheck(port: number): Promise<number> {
  const dockerfile = readFileSync(join(__dirname, '..', '..', 'Dockerfile'), 'utf8');
  const script = /CMD node -e "(.*)"\n/.exec(dockerfile)![1];
  return run('node', ['-e', script], { env: { PATH: process.env.PATH, STRATA_PORT: String(port) } }).then(
    () => 0,
    (err: { code?: number }) => err.code ?? -1,
  );
}

describe('health', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.stop());

  it('answers live and ready on both listeners, with every check named', async () => {
    for (const base of [server.admin.endpoint, server.endpoint, `${server.endpoint}/_strata`]) {
      expect(await get(`${base}/health/live`)).toEqual({ status: 200, json: { status: 'live' } });
      const ready = await get(`${base}/health/ready`);
      expect(ready.status).toBe(200);
      expect(ready.json.status).toBe('ready');
      expect(ready.json.checks!.map((c) => c.name).sort()).toEqual(
        ['data-directory-writable', 'identity-database', 'metadata-database:las1', 'metadata-database:lga1', 'metadata-database:ord1', 'shutdown'],
      );
    }
    expect(await dockerHealthcheck(server.port)).toBe(0);
  });

  it('leaves a bucket named health to S3 clients: signed requests and its virtual host reach it', async () => {
    const s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'health' }));
    await s3.send(new PutObjectCommand({ Bucket: 'health', Key: 'live', Body: 'an object, not a probe', ACL: 'public-read' }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'health', Key: 'live' }))).Body!.transformToString()).toBe('an object, not a probe');
    await s3.send(new PutObjectCommand({ Bucket: 'health', Key: 'health/live', Body: 'a key under health/', ACL: 'public-read' }));
    const virtual = await rawRequest(server.port, { path: '/health/live', host: `health.object.lga1.localhost:${server.port}`, sign: false });
    expect(virtual.text).toBe('a key under health/'); // key "health/live" of bucket "health", not the probe
    // an unsigned request on a host that names no bucket is the probe
    expect((await rawRequest(server.port, { path: '/health/live', sign: false })).text).toContain('"live"');
  });

  it('is unready while the data directory cannot be written, and ready again after', async () => {
    const moved = `${server.dataDir}.moved`;
    renameSync(server.dataDir, moved);
    try {
      for (const base of [server.admin.endpoint, server.endpoint]) {
        const ready = await get(`${base}/health/ready`);
        expect(ready.status).toBe(503);
        expect(ready.json.status).toBe('unready');
        expect(failing(ready.json)).toEqual(['data-directory-writable']);
        expect((await get(`${base}/health/live`)).status).toBe(200);
      }
      // the admin listener says why; the S3 listener only which check failed
      expect((await get(`${server.admin.endpoint}/health/ready`)).json.checks!.find((c) => !c.ok)!.error).toMatch(/ENOENT/);
      expect((await get(`${server.endpoint}/health/ready`)).json.checks!.find((c) => !c.ok)!.error).toBeUndefined();
      expect(await dockerHealthcheck(server.port)).toBe(1);
    } finally {
      renameSync(moved, server.dataDir);
    }
    expect((await get(`${server.admin.endpoint}/health/ready`)).status).toBe(200);
  });
});

describe('health of a failing store', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    // The store was closed under it: closing it again may fail; the data root goes anyway.
    await server?.stop().catch(() => rmSync(server.dataDir, { recursive: true, force: true }));
  });

  it('is unready once a metadata database stops answering; live stays', async () => {
    expect((await get(`${server.admin.endpoint}/health/ready`)).status).toBe(200);
    const database = (server.services as typeof server.services & { stores: { database?: { close(): Promise<void> } } }).stores.database;
    if (database) await database.close(); // PostgreSQL: the shared pool ends: every database check fails
    else await server.services.regions.get('ord1')!.meta.close(); // SQLite: one region's file
    const ready = await get(`${server.admin.endpoint}/health/ready`);
    expect(ready.status).toBe(503);
    expect(failing(ready.json)).toEqual(database ? ['identity-database', 'metadata-database:lga1', 'metadata-database:ord1', 'metadata-database:las1'] : ['metadata-database:ord1']);
    expect((await get(`${server.endpoint}/health/ready`)).status).toBe(503);
    expect((await get(`${server.endpoint}/health/live`)).status).toBe(200);
  });
});

describe('health during shutdown', () => {
  it('turns unready as soon as the S3 listener begins to close', async () => {
    const server = await startTestServer();
    try {
      expect((await get(`${server.admin.endpoint}/health/ready`)).status).toBe(200);
      await server.app.close();
      const ready = await get(`${server.admin.endpoint}/health/ready`);
      expect(ready.status).toBe(503);
      expect(failing(ready.json)).toEqual(['shutdown']);
    } finally {
      await server.stop();
    }
  });
});
