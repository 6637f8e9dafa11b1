// Replication between regions served by separate processes (one process per region, one data
// root, STRATA_REGION_ENDPOINTS), over the node-authenticated internal channel: a model file
// written to ord1 appears in las1 with the same bytes and version id; with the las1 process
// stopped (kill -9) writes queue up as PENDING and complete once it is back on its port; a
// delete marker follows when the rule replicates markers.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/async.ts';
import { killChildren, kill9, startChild, type ChildServer } from '../helpers/child-server.ts';
import { freshDatabase } from '../helpers/postgres.ts';
import { sdkError, testAccessKey, testSecretKey } from '../helpers/server.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'strata-replication-processes-'));
let env: Record<string, string> = {};
const clients: S3Client[] = [];

function client(endpoint: string): S3Client {
  const c = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: testAccessKey, secretAccessKey: testSecretKey } });
  clients.push(c);
  return c;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  env = { STRATA_EVENT_BACKOFF_MAX_SECONDS: '1' };
  if (process.env.STRATA_TEST_METADATA === 'postgres') env.STRATA_METADATA_URL = await freshDatabase();
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await killChildren();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('one process per region', () => {
  it('replicates ord1 to las1, queues while las1 is down, completes when it is back', async () => {
    const lasPort = await freePort();
    const lasEnv = { ...env, STRATA_REGIONS: 'las1', STRATA_PORT: String(lasPort) };
    let las: ChildServer = await startChild(dataDir, lasEnv);
    const ord = await startChild(dataDir, { ...env, STRATA_REGIONS: 'ord1', STRATA_REGION_ENDPOINTS: `las1=http://127.0.0.1:${lasPort}` });
    let lasS3 = client(las.endpoint);
    const ordS3 = client(ord.endpoint);
    const versioning = { VersioningConfiguration: { Status: 'Enabled' as const } };
    await lasS3.send(new CreateBucketCommand({ Bucket: 'far-replica' }));
    await ordS3.send(new CreateBucketCommand({ Bucket: 'far-models' }));
    await ordS3.send(new PutBucketVersioningCommand({ Bucket: 'far-models', ...versioning }));
    const replication = {
      Bucket: 'far-models',
      ReplicationConfiguration: { Role: '', Rules: [{ ID: 'all', Priority: 1, Filter: { Prefix: '' }, Status: 'Enabled' as const, DeleteMarkerReplication: { Status: 'Enabled' as const }, Destination: { Bucket: 'arn:aws:s3:::far-replica' } }] },
    };
    // The destination in the other process must be versioned too.
    expect((await sdkError(ordS3.send(new PutBucketReplicationCommand(replication)))).name).toBe('InvalidRequest');
    await lasS3.send(new PutBucketVersioningCommand({ Bucket: 'far-replica', ...versioning }));
    await ordS3.send(new PutBucketReplicationCommand(replication));

    const body = (i: number) => `model weights, checkpoint ${i} `.repeat(5000); // 150 kB: a blob file
    const status = async (VersionId: string) => (await ordS3.send(new HeadObjectCommand({ Bucket: 'far-models', Key: 'model.bin', VersionId }))).ReplicationStatus;
    const v0 = (await ordS3.send(new PutObjectCommand({ Bucket: 'far-models', Key: 'model.bin', Body: body(0) }))).VersionId!;
    await eventually(async () => expect(await status(v0)).toBe('COMPLETED'), 20_000);
    const copy = await lasS3.send(new GetObjectCommand({ Bucket: 'far-replica', Key: 'model.bin', VersionId: v0 }));
    expect(await copy.Body!.transformToString()).toBe(body(0));
    expect(copy.ReplicationStatus).toBe('REPLICA');

    // las1 goes away: writes in ord1 are acknowledged and wait, PENDING.
    lasS3.destroy();
    await kill9(las.proc);
    const later: string[] = [];
    for (const i of [1, 2]) later.push((await ordS3.send(new PutObjectCommand({ Bucket: 'far-models', Key: 'model.bin', Body: body(i) }))).VersionId!);
    await new Promise((r) => setTimeout(r, 1500));
    for (const v of later) expect(await status(v)).toBe('PENDING');

    las = await startChild(dataDir, lasEnv);
    lasS3 = client(las.endpoint);
    await eventually(async () => {
      for (const v of later) expect(await status(v)).toBe('COMPLETED');
    }, 30_000);
    for (const [i, v] of later.entries()) {
      const got = await lasS3.send(new GetObjectCommand({ Bucket: 'far-replica', Key: 'model.bin', VersionId: v }));
      expect(await got.Body!.transformToString()).toBe(body(i + 1));
    }
    expect((await lasS3.send(new HeadObjectCommand({ Bucket: 'far-replica', Key: 'model.bin' }))).VersionId).toBe(later[1]);

    const marker = await ordS3.send(new DeleteObjectCommand({ Bucket: 'far-models', Key: 'model.bin' }));
    await eventually(async () => {
      const err = await sdkError(lasS3.send(new HeadObjectCommand({ Bucket: 'far-replica', Key: 'model.bin' })));
      expect(err.$response?.headers['x-amz-version-id']).toBe(marker.VersionId);
    }, 20_000);
  });
});
