// kill -9 with events queued: notifications for acknowledged writes whose webhook was down, and
// access-log records waiting for their roll time, are in the outbox of the same commit; after a
// restart on the same data root (and, in the postgres project, the same database) every one of
// them arrives; so do replicas of versions the destination refused until the kill. Redeliveries
// are allowed (at least once) and carry the same event id.
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketNotificationConfigurationCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/async.ts';
import { killChildren, kill9, startChild, type ChildServer } from '../helpers/child-server.ts';
import { run } from '../helpers/cli-clients.ts';
import { freshDatabase } from '../helpers/postgres.ts';
import { rawRequest } from '../helpers/raw.ts';
import { testAccessKey, testSecretKey } from '../helpers/server.ts';
import { WebhookReceiver } from '../helpers/webhook.ts';

const repo = resolve(__dirname, '..', '..');
const dataDir = mkdtempSync(join(tmpdir(), 'strata-events-crash-'));
let env: Record<string, string> = {};
const receiver = new WebhookReceiver();

function client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: testAccessKey, secretAccessKey: testSecretKey } });
}

/** The CLI on the same data root (and database) as the server. */
function strata(...args: string[]) {
  return run(join(repo, 'bin', 'strata'), args, { env: { ...process.env, STRATA_DATA_DIR: dataDir, ...env } });
}

beforeAll(async () => {
  env = { STRATA_EVENT_BACKOFF_MAX_SECONDS: '1', STRATA_ACCESS_LOG_DELAY_SECONDS: '4' };
  if (process.env.STRATA_TEST_METADATA === 'postgres') env.STRATA_METADATA_URL = await freshDatabase();
  await receiver.start();
});

afterAll(async () => {
  await killChildren();
  await receiver.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('kill -9 with events queued', () => {
  it('delivers every notification of acknowledged writes after a restart, the webhook having been down', async () => {
    let server: ChildServer = await startChild(dataDir, env);
    const created = await strata('topic', 'create', 'crash', '--org', 'default', '--push-endpoint', receiver.url);
    expect(created.stdout).toContain('arn:aws:sns:lga1:default:crash created');
    let s3 = client(server.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: 'crash-events' }));
    await s3.send(new PutBucketNotificationConfigurationCommand({
      Bucket: 'crash-events',
      NotificationConfiguration: { TopicConfigurations: [{ TopicArn: 'arn:aws:sns:lga1:default:crash', Events: ['s3:ObjectCreated:*'] }] },
    }));
    // The receiver goes away (connections refused): every delivery fails and stays queued.
    const port = receiver.port;
    await receiver.stop();
    const keys = Array.from({ length: 20 }, (_, i) => `model-${String(i).padStart(2, '0')}.bin`);
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'crash-events', Key: key, Body: `weights of ${key}` }));
    s3.destroy();
    await kill9(server.proc);

    const queued = JSON.parse((await strata('events', '-o', 'json')).stdout) as { region: string; queued: { key: string; queued: number }[] }[];
    // 20 events and the test event, all still there after the kill.
    expect(queued.find((r) => r.region === 'lga1')!.queued.find((q) => q.key === 'arn:aws:sns:lga1:default:crash')!.queued).toBe(21);

    await receiver.start(port);
    server = await startChild(dataDir, env);
    const received = await eventually(async () => {
      const got = new Set(receiver.records().map((r) => r.s3.object.key));
      if (got.size < keys.length) throw new Error(`${got.size} of ${keys.length} received`);
      return receiver.records();
    }, 30_000);
    expect([...new Set(received.map((r) => r.s3.object.key))].sort()).toEqual(keys);
    // In commit order, first deliveries counted once each.
    const firstSeen = received.map((r) => r.s3.object.key).filter((k, i, all) => all.indexOf(k) === i);
    expect(firstSeen).toEqual(keys);
    expect(receiver.received.filter((r) => r.json.Event === 's3:TestEvent')).toHaveLength(1);
    // A message received twice has the same event id both times (a receiver can drop the second).
    const ids = new Map<string, Set<string>>();
    for (const r of receiver.received) {
      const key = (r.json.Records as any[] | undefined)?.[0]?.s3.object.key ?? 'test';
      ids.set(key, (ids.get(key) ?? new Set()).add(String(r.headers['x-strata-event-id'])));
    }
    for (const set of ids.values()) expect(set.size).toBe(1);
    // The queue is empty, the deliveries counted; the topic is listed, then deleted, by the CLI.
    const after = JSON.parse((await strata('events', '-o', 'json')).stdout) as { region: string; queued: unknown[]; counters: { name: string; delivered: number }[] }[];
    const lga = after.find((r) => r.region === 'lga1')!;
    expect(lga.queued).toEqual([]);
    expect(lga.counters.find((c) => c.name === 'arn:aws:sns:lga1:default:crash')!.delivered).toBeGreaterThanOrEqual(21);
    expect((await strata('topic', 'list')).stdout).toContain('arn:aws:sns:lga1:default:crash');
    expect((await strata('topic', 'delete', 'crash', '--org', 'default')).stdout).toContain('topic "crash" deleted');
    expect((await strata('topic', 'list')).stdout).not.toContain('arn:aws:sns:lga1:default:crash');
    await kill9(server.proc);
  });

  it('writes access-log records recorded before the kill into the target bucket after the restart', async () => {
    let server: ChildServer = await startChild(dataDir, env);
    let s3 = client(server.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: 'crash-logged' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'crash-logs' }));
    const { PutBucketLoggingCommand } = await import('@aws-sdk/client-s3');
    await s3.send(new PutBucketLoggingCommand({ Bucket: 'crash-logged', BucketLoggingStatus: { LoggingEnabled: { TargetBucket: 'crash-logs', TargetPrefix: 'logs/' } } }));
    for (let i = 0; i < 5; i++) await s3.send(new PutObjectCommand({ Bucket: 'crash-logged', Key: `k${i}`, Body: 'x' }));
    // Records are recorded in the outbox within 100 ms of each response; the roll time is 4 s.
    await eventually(async () => {
      const status = JSON.parse((await strata('events', '-o', 'json')).stdout) as { region: string; queued: { key: string; queued: number }[] }[];
      expect(status.find((r) => r.region === 'lga1')!.queued.find((q) => q.key === 'access-log:crash-logs/logs/')?.queued).toBe(6);
    }, 10_000);
    s3.destroy();
    await kill9(server.proc);

    server = await startChild(dataDir, env);
    s3 = client(server.endpoint);
    const logKey = await eventually(async () => {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'crash-logs' }));
      if (!listed.Contents?.length) throw new Error('no log object yet');
      return listed.Contents[0].Key!;
    }, 30_000);
    expect(logKey).toMatch(/^logs\/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$/);
    const body = await (await s3.send(new GetObjectCommand({ Bucket: 'crash-logs', Key: logKey }))).Body!.transformToString();
    const lines = body.trim().split('\n');
    expect(lines.filter((l) => l.includes('REST.PUT.OBJECT')).map((l) => l.split(' ')[8])).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect(lines.some((l) => l.includes('REST.PUT.LOGGING_STATUS'))).toBe(true);
    s3.destroy();
    await kill9(server.proc);
  });

  it('completes replication of versions written before the kill, the destination having refused them until then', async () => {
    const ordEnv = { ...env, STRATA_DEFAULT_REGION: 'ord1' };
    let server: ChildServer = await startChild(dataDir, ordEnv);
    let s3 = client(server.endpoint);
    const las1 = (path: string, method = 'GET', body?: string) => rawRequest(server.port, { method, path, host: `object.las1.localhost:${server.port}`, body });
    const versioning = { VersioningConfiguration: { Status: 'Enabled' as const } };
    await s3.send(new CreateBucketCommand({ Bucket: 'crash-models' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'crash-models', ...versioning }));
    expect((await las1('/crash-replica', 'PUT')).status).toBe(200);
    expect((await las1('/crash-replica?versioning', 'PUT', '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>')).status).toBe(200);
    await s3.send(new PutBucketReplicationCommand({
      Bucket: 'crash-models',
      ReplicationConfiguration: { Role: '', Rules: [{ ID: 'all', Priority: 1, Filter: { Prefix: '' }, Status: 'Enabled', DeleteMarkerReplication: { Status: 'Enabled' }, Destination: { Bucket: 'arn:aws:s3:::crash-replica' } }] },
    }));
    // The destination's quota refuses every copy: all stay queued (PENDING).
    await strata('quota', 'set', 'default', '10', '--region', 'las1');
    const versions: string[] = [];
    for (let i = 0; i < 5; i++) versions.push((await s3.send(new PutObjectCommand({ Bucket: 'crash-models', Key: 'model.bin', Body: `checkpoint ${i}` }))).VersionId!);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'crash-models', Key: 'model.bin' }))).ReplicationStatus).toBe('PENDING');
    s3.destroy();
    await kill9(server.proc);

    await strata('quota', 'reset', 'default', '--region', 'las1');
    server = await startChild(dataDir, ordEnv);
    s3 = client(server.endpoint);
    const las1Again = (path: string) => rawRequest(server.port, { path, host: `object.las1.localhost:${server.port}` });
    await eventually(async () => {
      for (const v of versions) expect((await s3.send(new HeadObjectCommand({ Bucket: 'crash-models', Key: 'model.bin', VersionId: v }))).ReplicationStatus).toBe('COMPLETED');
    }, 30_000);
    for (const [i, v] of versions.entries()) {
      const copy = await las1Again(`/crash-replica/model.bin?versionId=${v}`);
      expect(copy.text).toBe(`checkpoint ${i}`);
      expect(copy.headers['x-amz-replication-status']).toBe('REPLICA');
    }
    // The newest version is current in las1 too, whatever order the copies took.
    expect((await las1Again('/crash-replica/model.bin')).headers['x-amz-version-id']).toBe(versions[4]);
    s3.destroy();
    await kill9(server.proc);
  });
});
