// The lifecycle worker as it runs: in the background of a server with a one-second "day" (as
// Ceph's rgw_lc_debug_interval), across a restart (a pass cut short resumes from the position the
// first server saved in the database), and `strata lifecycle run` as an operator runs it, beside
// the running server, with a progress bar on a terminal.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRegionRound } from '../../src/lifecycle/worker.ts';
import { startServer, type RunningServer } from '../../src/main.ts';
import { eventually } from '../helpers/async.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const strataBin = resolve(import.meta.dirname, '../../bin/strata');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let server: TestServer;
let s3: S3Client;

const putRules = (client: S3Client, Bucket: string, Rules: LifecycleRule[]) =>
  client.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }));
const keys = async (client: S3Client, Bucket: string) => ((await client.send(new ListObjectsV2Command({ Bucket }))).Contents ?? []).map((o) => o.Key);

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH, HOME: server.dataDir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

/** The CLI on the server's data root (and its database, with PostgreSQL). */
const cliEnv = () => ({ STRATA_DATA_DIR: server.dataDir, STRATA_METADATA_URL: server.services.config.metadataUrl ?? '' });

// Real days and no background worker: only the CLI acts on this server's buckets.
beforeAll(async () => {
  server = await startTestServer({ lifecycleIntervalSeconds: 0 });
  s3 = server.client();
});
afterAll(async () => server?.stop());

describe('the background worker', () => {
  it('expires objects on its own once their (short) days have passed', async () => {
    // A one-second day, and the worker starting a pass every second.
    const shortDays = await startTestServer({ lifecycleDaySeconds: 1, lifecycleIntervalSeconds: 1 });
    try {
      const client = shortDays.client();
      const b = 'lc-worker';
      await client.send(new CreateBucketCommand({ Bucket: b }));
      await client.send(new PutObjectCommand({ Bucket: b, Key: 'tmp/scratch', Body: 'bytes' }));
      await client.send(new PutObjectCommand({ Bucket: b, Key: 'keep/this', Body: 'bytes' }));
      await putRules(client, b, [{ ID: 'tmp', Prefix: 'tmp/', Status: 'Enabled', Expiration: { Days: 2 } }]);
      await eventually(async () => expect(await keys(client, b)).toEqual(['keep/this']), 20_000);
    } finally {
      await shortDays.stop();
    }
  });
});

describe('a restart', () => {
  let first: RunningServer | undefined;
  let second: RunningServer | undefined;
  let dataDir: string | undefined;
  afterAll(async () => {
    await first?.close();
    await second?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('resumes a pass cut short from the position the previous process saved', async () => {
    // Its own data root and database: this server is closed and started again on them.
    const stopped = await startTestServer({ lifecycleIntervalSeconds: 0 });
    const config = stopped.services.config;
    first = stopped;
    dataDir = stopped.dataDir;
    const client = stopped.client();
    const b = 'lc-restart';
    await client.send(new CreateBucketCommand({ Bucket: b }));
    for (let i = 0; i < 8; i++) await client.send(new PutObjectCommand({ Bucket: b, Key: `a/${i}`, Body: 'kept' }));
    for (let i = 0; i < 8; i++) await client.send(new PutObjectCommand({ Bucket: b, Key: `z/${i}`, Body: 'expires' }));
    await putRules(client, b, [{ ID: 'z', Filter: { ObjectSizeGreaterThan: 5 }, Status: 'Enabled', Expiration: { Days: 1 } }]);
    const day = 86_400_000;
    const later = () => Date.now() + 2 * day;
    const cut = await runRegionRound(stopped.services.regions.get('lga1')!, { dayMs: day, now: later, pageSize: 8, afterPage: () => false });
    expect(cut).toMatchObject({ stopped: true, examined: 8, expired: 0 });
    client.destroy();
    await stopped.close();
    first = undefined;

    second = await startServer({ ...config, lifecycleIntervalSeconds: 0 }, { logger: false });
    const store = second.services.regions.get('lga1')!;
    expect((await store.getBucket(b))!.config!.lifecycleProgress).toMatchObject({ keyMarker: 'a/7' });
    const resumed = await runRegionRound(store, { dayMs: day, now: later, pageSize: 8 });
    expect(resumed).toMatchObject({ stopped: false, examined: 8, expired: 8 });
    expect((await store.listObjects(b, { prefix: '', delimiter: '', after: '', maxKeys: 100 })).contents.map((e) => e.key)).toEqual(
      Array.from({ length: 8 }, (_, i) => `a/${i}`),
    );
  });
});

describe('strata lifecycle run', () => {
  const b = 'lc-cli';
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: b }));
    // The server counts real days; the CLI is told a day is a second.
    for (let i = 0; i < 5; i++) await s3.send(new PutObjectCommand({ Bucket: b, Key: `old/${i}`, Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'new/1', Body: 'x' }));
  });

  it('applies one bucket’s rules now and says what it did', async () => {
    await putRules(s3, b, [{ ID: 'old', Prefix: 'old/', Status: 'Enabled', Expiration: { Days: 1 } }]);
    await sleep(1100); // older than one (CLI) day
    const res = await run(strataBin, ['lifecycle', 'run', '--bucket', b, '--lifecycle-day-seconds', '1'], cliEnv());
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('lga1: 1 bucket(s) with rules, 5 examined, 5 expired');
    expect(res.stderr).toContain(`lifecycle: lga1/${b}: 6 versions`);
    await eventually(async () => expect(await keys(s3, b)).toEqual(['new/1']), 5_000);
  });

  it('draws a progress bar on a terminal', async () => {
    const cmd = `${strataBin} lifecycle run --bucket ${b} --lifecycle-day-seconds 1`;
    const res = await run('script', ['-qec', cmd, '/dev/null'], { ...cliEnv(), TERM: 'xterm', COLUMNS: '100' });
    expect(res.code, res.stdout).toBe(0);
    expect(res.stdout).toContain('\r\x1b[K');
    expect(res.stdout).toMatch(new RegExp(`lga1/${b} \\[#+\\] 100% \\(0 of 1 versions read\\)`));
  });

  it('refuses a bucket that does not exist and an unknown subcommand', async () => {
    const missing = await run(strataBin, ['lifecycle', 'run', '--bucket', 'no-such-bucket'], cliEnv());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no bucket "no-such-bucket"');
    const wrong = await run(strataBin, ['lifecycle', 'go'], cliEnv());
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('usage: strata lifecycle run');
  });
});
