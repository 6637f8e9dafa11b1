// Crash safety: kill -9 the server mid-upload and right after an acknowledged upload, restart
// it on the same data root, and check that nothing acknowledged is lost, nothing partial is
// visible, and no orphan blob or temporary file remains.
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import aws4 from 'aws4';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { testAccessKey, testSecretKey } from '../helpers/server.ts';

const repo = resolve(__dirname, '..', '..');
const dataDir = mkdtempSync(join(tmpdir(), 'strata-crash-'));
/** Every server this file started: whatever fails, none may outlive the file. */
const started = new Set<ChildProcess>();

function startChild(): Promise<{ proc: ChildProcess; endpoint: string; port: number }> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(join(repo, 'bin', 'strata'), ['serve'], {
      env: { ...process.env, STRATA_PORT: '0', STRATA_HOST: '127.0.0.1', STRATA_DATA_DIR: dataDir, STRATA_ADMIN_ACCESS_KEY: testAccessKey, STRATA_ADMIN_SECRET_KEY: testSecretKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.add(proc);
    proc.once('exit', () => started.delete(proc));
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ proc, endpoint: m[1], port: Number(m[2]) });
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (${code}): ${out}`));
    });
  });
}

function kill9(proc: ChildProcess): Promise<void> {
  return new Promise((r) => {
    proc.once('exit', () => r());
    proc.kill('SIGKILL');
  });
}

function client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: testAccessKey, secretAccessKey: testSecretKey } });
}

function blobFiles(): string[] {
  const root = join(dataDir, 'regions', 'lga1', 'blobs');
  return readdirSync(root).flatMap((shard) => readdirSync(join(root, shard)));
}

/** Ids of the small blobs kept in the metadata database (objects of at most 64 KiB). */
function inlineBlobs(): string[] {
  const db = new Database(join(dataDir, 'regions', 'lga1', 'meta.db'));
  try {
    return db.prepare<[], { id: string }>('SELECT id FROM inline_blobs').all().map((r) => r.id);
  } finally {
    db.close();
  }
}

afterAll(async () => {
  // Killed by the PIDs this file started; a bounded wait, so that cleanup itself cannot hang.
  const alive = [...started].filter((p) => p.exitCode === null && p.signalCode === null);
  await Promise.race([Promise.all(alive.map(kill9)), new Promise((r) => setTimeout(r, 5000))]);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('kill -9', () => {
  it('keeps acknowledged writes, hides partial ones, and collects orphans on restart', async () => {
    let server = await startChild();
    let s3 = client(server.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: 'crash-bucket' }));
    const acknowledged = randomBytes(2 * 1024 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: 'crash-bucket', Key: 'acked', Body: acknowledged }));
    await s3.send(new PutObjectCommand({ Bucket: 'crash-bucket', Key: 'overwritten', Body: 'old version' }));

    // Start an overwrite and a new upload, each with a declared length it never finishes sending.
    const startSlowPut = (key: string) => {
      const body = new PassThrough();
      const total = 8 * 1024 * 1024;
      const opts = {
        host: `127.0.0.1:${server.port}`,
        path: `/crash-bucket/${key}`,
        method: 'PUT',
        headers: { 'content-length': String(total), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        service: 's3',
        region: 'us-east-1',
      };
      aws4.sign(opts, { accessKeyId: testAccessKey, secretAccessKey: testSecretKey });
      const pending = request(`${server.endpoint}/crash-bucket/${key}`, { method: 'PUT', headers: opts.headers as Record<string, string>, body }).catch((e: Error) => e);
      body.write(randomBytes(3 * 1024 * 1024));
      return pending;
    };
    const partialNew = startSlowPut('partial');
    const partialOverwrite = startSlowPut('overwritten');
    await new Promise((r) => setTimeout(r, 500));
    s3.destroy();
    await kill9(server.proc);
    await Promise.all([partialNew, partialOverwrite]);

    // An orphan as left by a crash between the blob rename and the metadata commit.
    const orphan = '0000000000' + 'f'.repeat(23);
    writeFileSync(join(dataDir, 'regions', 'lga1', 'blobs', orphan.slice(-2), orphan), 'orphan bytes');
    // And a small blob inserted into the database whose object commit never happened.
    const inlineOrphan = 'i' + '0000000000' + 'e'.repeat(23);
    const db = new Database(join(dataDir, 'regions', 'lga1', 'meta.db'));
    db.prepare('INSERT INTO inline_blobs (id, data) VALUES (?, ?)').run(inlineOrphan, Buffer.from('orphan'));
    db.close();
    expect(inlineBlobs()).toContain(inlineOrphan);

    server = await startChild();
    s3 = client(server.endpoint);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'crash-bucket', Key: 'acked' }));
    expect(createHash('sha256').update(await got.Body!.transformToByteArray()).digest('hex')).toBe(createHash('sha256').update(acknowledged).digest('hex'));
    const old = await s3.send(new GetObjectCommand({ Bucket: 'crash-bucket', Key: 'overwritten' }));
    expect(await old.Body!.transformToString()).toBe('old version');
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'crash-bucket', Key: 'partial' }))).rejects.toMatchObject({ name: 'NotFound' });
    // Exactly the two committed objects' blobs remain (the 2 MiB one as a file, 'old version'
    // inline); no temporary file survives.
    expect(blobFiles().length).toBe(1);
    expect(inlineBlobs().length).toBe(1);
    expect(inlineBlobs()).not.toContain(inlineOrphan);
    expect(readdirSync(join(dataDir, 'regions', 'lga1', 'tmp'))).toEqual([]);

    // An acknowledged write immediately followed by kill -9 survives too.
    const last = randomBytes(100_000);
    await s3.send(new PutObjectCommand({ Bucket: 'crash-bucket', Key: 'last-second', Body: last }));
    s3.destroy();
    await kill9(server.proc);
    server = await startChild();
    s3 = client(server.endpoint);
    const lastBack = await s3.send(new GetObjectCommand({ Bucket: 'crash-bucket', Key: 'last-second' }));
    expect(Buffer.from(await lastBack.Body!.transformToByteArray()).equals(last)).toBe(true);
    s3.destroy();
    await kill9(server.proc);
  });

  it('finishes in-flight requests on SIGTERM, then exits cleanly', async () => {
    const server = await startChild();
    const s3 = client(server.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: 'graceful-bucket' })).catch(() => undefined);
    const body = new PassThrough();
    const payload = randomBytes(4 * 1024 * 1024);
    const opts = {
      host: `127.0.0.1:${server.port}`,
      path: '/graceful-bucket/in-flight',
      method: 'PUT',
      headers: { 'content-length': String(payload.length), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      service: 's3',
      region: 'us-east-1',
    };
    aws4.sign(opts, { accessKeyId: testAccessKey, secretAccessKey: testSecretKey });
    const pending = request(`${server.endpoint}/graceful-bucket/in-flight`, { method: 'PUT', headers: opts.headers as Record<string, string>, body });
    body.write(payload.subarray(0, 1024 * 1024));
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<number | null>((r) => server.proc.once('exit', (code) => r(code)));
    server.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    body.end(payload.subarray(1024 * 1024));
    const res = await pending;
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(await exited).toBe(0);
    s3.destroy();
    // The write acknowledged during shutdown is there after a restart.
    const again = await startChild();
    const s3b = client(again.endpoint);
    const got = await s3b.send(new GetObjectCommand({ Bucket: 'graceful-bucket', Key: 'in-flight' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(payload)).toBe(true);
    s3b.destroy();
    await kill9(again.proc);
  });
});
