// `strata migrate --to postgres://…` as an operator runs it: a server on the embedded SQLite
// metadata writes buckets, objects (inline and file blobs, a multipart result), versions and a
// delete marker, an unfinished multipart upload, tags and a quota; it is stopped; the real
// bin/strata copies the metadata into a fresh PostgreSQL database (refused while the server runs,
// interrupted by a kill and resumed, a tampered copy caught by the verification); a server on the
// same data directory with metadataUrl then reads everything back byte for byte.
import {
  ListBucketsCommand,
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, GetObjectTaggingCommand,
  HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, ListObjectVersionsCommand, ListPartsCommand,
  PutBucketTaggingCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client, UploadPartCommand, CreateBucketCommand,
  GetBucketTaggingCommand, type ListObjectVersionsCommandOutput,
} from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../helpers/postgres.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const strataBin = resolve(import.meta.dirname, '../../bin/strata');
const schema = '"strata_region_lga1"';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let dataDir: string;

function strata(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(strataBin, args, {
      env: { PATH: process.env.PATH, HOME: dataDir, STRATA_DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

async function query<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');
const bytesOf = async (s3: S3Client, Bucket: string, Key: string, VersionId?: string) =>
  Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket, Key, VersionId }))).Body!.transformToByteArray());

// What the SQLite server wrote, to be read back from the PostgreSQL one.
const objects = new Map<string, Buffer>();
const keys = ['small.txt', 'big.bin', 'Zebra', 'apple', 'é-accent', 'ключ/日本語', 'dir/a b+c', 'dir/ü', '~tilde', 'mp-done'];
// UTF-16 order and UTF-8 byte order disagree on these two (an astral character and one above U+E000).
keys.push('\u{1F600}-emoji', '\uFF21-fullwidth', `it's "quoted" %41`);
for (let i = 0; i < 40; i++) keys.push(`many/${String(i).padStart(3, '0')}`);
let versionsBefore: unknown;
let uploadId: string;
let part1: Buffer;
let part2: Buffer;
let partsBefore: unknown;
let usageBefore: string;

function versionSummary(listing: ListObjectVersionsCommandOutput) {
  return {
    versions: (listing.Versions ?? []).map((v) => [v.Key, v.VersionId, v.IsLatest, v.ETag, v.Size]),
    markers: (listing.DeleteMarkers ?? []).map((m) => [m.Key, m.VersionId, m.IsLatest]),
  };
}

let sqliteServer: TestServer;

const migratedUser = { org: 'migrated-org', user: 'alice', namespace: 'migrated-org', accessKey: 'AKMIGRATEDUSER000001', secretKey: 'migrated-user-secret-0000000001' };

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'strata-migrate-'));
  // The source is SQLite in both vitest projects: metadataUrl is set to nothing explicitly.
  sqliteServer = await startTestServer({ dataDir, metadataUrl: undefined });
  // A user of another organisation: its key must work on PostgreSQL after the migration.
  await sqliteServer.services.identity.addKey({ ...migratedUser, level: 'readwrite', secretName: 'migrated-org-alice-obj-store-creds', defaultRegion: 'lga1' });
  // A Kubernetes Role (src/kube): the kube_objects table comes along too.
  await sqliteServer.services.identity.transaction((tx) => tx.putKubeObject('roles', 'team-a', 'reader', '{"kind":"Role"}'));
  const s3 = sqliteServer.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'plain' }));
  await s3.send(new PutBucketTaggingCommand({ Bucket: 'plain', Tagging: { TagSet: [{ Key: 'team', Value: 'storage' }] } }));
  for (const key of keys) {
    if (key === 'mp-done') continue;
    const body = key === 'big.bin' ? randomBytes(300_000) : randomBytes(50 + (key.length % 7) * 11);
    objects.set(key, body);
    await s3.send(
      new PutObjectCommand({
        Bucket: 'plain', Key: key, Body: body, ContentType: 'application/x-test', Metadata: { origin: 'sqlite', key: encodeURIComponent(key) },
        Tagging: key === 'small.txt' ? 'colour=blue&size=s' : undefined, StorageClass: key === 'apple' ? 'STANDARD_IA' : undefined,
      }),
    );
  }
  // A completed multipart object (a manifest of part blobs).
  const done = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'plain', Key: 'mp-done' }));
  const a = randomBytes(5 * 1024 * 1024);
  const b = randomBytes(1234);
  const pa = await s3.send(new UploadPartCommand({ Bucket: 'plain', Key: 'mp-done', UploadId: done.UploadId, PartNumber: 1, Body: a }));
  const pb = await s3.send(new UploadPartCommand({ Bucket: 'plain', Key: 'mp-done', UploadId: done.UploadId, PartNumber: 2, Body: b }));
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: 'plain', Key: 'mp-done', UploadId: done.UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: pa.ETag }, { PartNumber: 2, ETag: pb.ETag }] },
    }),
  );
  objects.set('mp-done', Buffer.concat([a, b]));
  // An unfinished upload with two parts, completed after the migration.
  uploadId = (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'plain', Key: 'unfinished', ContentType: 'text/x-mp' }))).UploadId!;
  part1 = randomBytes(5 * 1024 * 1024);
  part2 = randomBytes(777);
  await s3.send(new UploadPartCommand({ Bucket: 'plain', Key: 'unfinished', UploadId: uploadId, PartNumber: 1, Body: part1 }));
  await s3.send(new UploadPartCommand({ Bucket: 'plain', Key: 'unfinished', UploadId: uploadId, PartNumber: 2, Body: part2 }));
  partsBefore = (await s3.send(new ListPartsCommand({ Bucket: 'plain', Key: 'unfinished', UploadId: uploadId }))).Parts!.map((p) => [p.PartNumber, p.ETag, p.Size]);
  // A versioned bucket: three versions and a delete marker on one key, two versions on another.
  await s3.send(new CreateBucketCommand({ Bucket: 'versioned' }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: 'versioned', VersioningConfiguration: { Status: 'Enabled' } }));
  for (const v of ['v1', 'v2', 'v3']) await s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'doc', Body: v }));
  await s3.send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'doc' }));
  for (const v of ['o1', 'o2-' + 'x'.repeat(200_000)]) await s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'other', Body: v }));
  versionsBefore = versionSummary(await s3.send(new ListObjectVersionsCommand({ Bucket: 'versioned' })));
  const quota = await strata(['quota', 'set', 'default', '70GB', '--region', 'lga1']);
  expect(quota.code, quota.stderr).toBe(0);
});

afterAll(async () => {
  await sqliteServer?.stop().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('strata migrate', () => {
  let url: string;

  it('refuses while a server runs on the data root', async () => {
    url = await freshDatabase();
    const run = await strata(['migrate', '--to', url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/meta\.db is in use \(is a Strata server running on this data root\?\): stop the server/);
    // Nothing was written: no region schema exists.
    expect(await query(url, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'strata_%'`)).toEqual([]);
    await sqliteServer.stop();
    const usage = await strata(['usage', '--region', 'lga1']);
    expect(usage.code, usage.stderr).toBe(0);
    usageBefore = usage.stdout;
    expect(usageBefore).toMatch(/lga1\s+default\s+\d+\s+\d+\s+70000000000/);
  });

  it('an interrupted migration (killed before a commit) resumes without duplicates and verifies', async () => {
    const killed = await strata(['migrate', '--to', url, '--batch-rows', '7'], { STRATA_MIGRATE_KILL_AFTER_BATCHES: '4' });
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stderr).toContain('killed before a commit after 4 batches');
    // buckets (1 batch) and objects (3 batches of 7) committed; the killed batch did not.
    const progress = await query<{ tbl: string; rows: number; done: boolean }>(url, `SELECT tbl, rows::int, done FROM ${schema}.strata_migration ORDER BY tbl`);
    expect(progress).toEqual([
      { tbl: 'buckets', rows: 2, done: true },
      { tbl: 'objects', rows: 21, done: false },
    ]);
    expect((await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${schema}.objects`))[0].n).toBe(21);

    const resumed = await strata(['migrate', '--to', url, '--batch-rows', '7']);
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(resumed.stderr).toMatch(/lga1 objects: 54 rows, 21 already copied \(resuming\)/);
    expect(resumed.stdout).toMatch(/lga1: migrated, \d+ rows copied by this run/);
    for (const table of ['buckets', 'objects', 'object_versions', 'uploads', 'parts', 'usage', 'quotas', 'requester_charges', 'inline_blobs']) {
      expect(resumed.stdout).toMatch(new RegExp(`${table}\\s+\\d+ rows\\s+verified`));
    }
    expect(resumed.stdout).toMatch(/objects\s+54 rows\s+verified/);
    expect(resumed.stdout).toMatch(/object_versions\s+5 rows\s+verified/);
    expect(resumed.stdout).toMatch(/parts\s+2 rows\s+verified/);
    expect(resumed.stdout).toContain('ord1: migrated');
    expect(resumed.stdout).toMatch(/identity: 2 orgs, 2 keys, \d+ admin_tokens, 1 kube_objects copied and verified/);
    expect((await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${schema}.objects`))[0].n).toBe(54);
    const rate = /total: (\d+) rows in ([\d.]+) s/.exec(resumed.stdout)!;
    console.log(`migrate: ${rate[1]} rows in ${rate[2]} s (batches of 7)`);
  });

  it('a rerun of a completed migration changes nothing', async () => {
    const before = await query(url, `SELECT tbl, after, rows, done, updated_at FROM ${schema}.strata_migration ORDER BY tbl`);
    const objectsBefore = await query(url, `SELECT bucket, key, etag, seq FROM ${schema}.objects ORDER BY bucket, key`);
    const again = await strata(['migrate', '--to', url]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('lga1: already migrated and verified by an earlier run, skipped');
    expect(again.stdout).toMatch(/lga1: already migrated/);
    expect(await query(url, `SELECT tbl, after, rows, done, updated_at FROM ${schema}.strata_migration ORDER BY tbl`)).toEqual(before);
    expect(await query(url, `SELECT bucket, key, etag, seq FROM ${schema}.objects ORDER BY bucket, key`)).toEqual(objectsBefore);
  });

  it('a copy that differs from the SQLite file fails the verification, naming the table', async () => {
    const other = await freshDatabase();
    const killed = await strata(['migrate', '--to', other, '--regions', 'lga1', '--batch-rows', '10'], { STRATA_MIGRATE_KILL_AFTER_BATCHES: '2' });
    expect(killed.signal).toBe('SIGKILL');
    await query(other, `UPDATE ${schema}.buckets SET tags = NULL WHERE name = 'plain'`);
    const run = await strata(['migrate', '--to', other, '--regions', 'lga1', '--batch-rows', '10']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/lga1 buckets: VERIFICATION FAILED/);
    expect(run.stdout).toMatch(/the database differs from the SQLite file in: buckets\n/);
    expect(run.stdout).toMatch(/objects\s+54 rows\s+verified/);
    // Not marked done: a rerun verifies again, and fails again.
    expect((await query(other, `SELECT tbl FROM ${schema}.strata_migration WHERE tbl = '*'`)).length).toBe(0);
  });

  it('a server on PostgreSQL over the same data directory reads everything back byte for byte', async () => {
    const server = await startTestServer({ dataDir, metadataUrl: url });
    try {
      const s3 = server.client();
      // The identity came along: another organisation's key signs its requests on PostgreSQL.
      const alice = server.client({ credentials: { accessKeyId: migratedUser.accessKey, secretAccessKey: migratedUser.secretKey } });
      expect((await alice.send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);
      expect(await server.services.identity.kubeObject('roles', 'team-a', 'reader')).toBe('{"kind":"Role"}');
      // The key's default region (a column added after the first release) came along too.
      expect((await server.services.identity.keyByUser(migratedUser.namespace, migratedUser.user))?.defaultRegion).toBe('lga1');
      const listing = await s3.send(new ListObjectsV2Command({ Bucket: 'plain' }));
      // Byte order of the UTF-8 keys, as SQLite listed them.
      const expectedOrder = [...objects.keys()].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect(listing.Contents!.map((c) => c.Key)).toEqual(expectedOrder);
      expect(listing.Contents!.find((c) => c.Key === 'apple')!.StorageClass).toBe('STANDARD_IA');
      for (const [key, body] of objects) {
        expect(sha(await bytesOf(s3, 'plain', key)), key).toBe(sha(body));
        if (key === 'mp-done') continue;
        const head = await s3.send(new HeadObjectCommand({ Bucket: 'plain', Key: key }));
        expect(head.ContentType).toBe('application/x-test');
        expect(head.Metadata).toEqual({ origin: 'sqlite', key: encodeURIComponent(key) });
      }
      expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'plain', Key: 'small.txt' }))).TagSet).toEqual([
        { Key: 'colour', Value: 'blue' },
        { Key: 'size', Value: 's' },
      ]);
      expect((await s3.send(new GetBucketTaggingCommand({ Bucket: 'plain' }))).TagSet).toEqual([{ Key: 'team', Value: 'storage' }]);

      // Versions, the delete marker, and old versions' bytes.
      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'versioned' }));
      expect(versionSummary(versions)).toEqual(versionsBefore);
      const docVersions = versions.Versions!.filter((v) => v.Key === 'doc');
      expect(await Promise.all(docVersions.map(async (v) => (await bytesOf(s3, 'versioned', 'doc', v.VersionId)).toString()))).toEqual(['v3', 'v2', 'v1']);
      expect((await bytesOf(s3, 'versioned', 'other')).toString()).toBe('o2-' + 'x'.repeat(200_000));
      await expect(s3.send(new GetObjectCommand({ Bucket: 'versioned', Key: 'doc' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
      // A new version after the migration is the newest (sequence numbers continue).
      const v4 = (await s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'doc', Body: 'v4' }))).VersionId;
      const after = await s3.send(new ListObjectVersionsCommand({ Bucket: 'versioned', Prefix: 'doc' }));
      expect(after.Versions![0]).toMatchObject({ VersionId: v4, IsLatest: true });
      expect(after.Versions!.length).toBe(4);

      // Usage and quota, as the CLI reports them from each engine.
      const usage = await strata(['usage', '--region', 'lga1'], { STRATA_METADATA_URL: url });
      expect(usage.code, usage.stderr).toBe(0);
      const v4Bytes = 2;
      const [, bytes, count] = /lga1\s+default\s+(\d+)\s+(\d+)/.exec(usageBefore)!;
      expect(usage.stdout).toMatch(new RegExp(`lga1\\s+default\\s+${Number(bytes) + v4Bytes}\\s+${Number(count) + 1}\\s+70000000000`));

      // The unfinished upload is listed with its parts and completes into the right bytes.
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'plain' }));
      expect(uploads.Uploads!.map((u) => [u.Key, u.UploadId])).toEqual([['unfinished', uploadId]]);
      const parts = await s3.send(new ListPartsCommand({ Bucket: 'plain', Key: 'unfinished', UploadId: uploadId }));
      expect(parts.Parts!.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual(partsBefore);
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'plain', Key: 'unfinished', UploadId: uploadId,
          MultipartUpload: { Parts: parts.Parts!.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag })) },
        }),
      );
      const completed = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'unfinished' }));
      expect(completed.ContentType).toBe('text/x-mp');
      expect(sha(Buffer.from(await completed.Body!.transformToByteArray()))).toBe(sha(Buffer.concat([part1, part2])));
    } finally {
      await server.stop();
    }
  });
});
