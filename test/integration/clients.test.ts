// The real clients users already have, from Debian: aws s3 (every aws CLI on the machine),
// s3cmd, rclone and boto3, driven against a real server exactly as a user would.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, writeS3cmdConfig } from '../helpers/server.ts';

const run = promisify(execFile);
let server: TestServer;
let work: string;
let env: NodeJS.ProcessEnv;

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Every distinct aws CLI: Debian's /usr/bin/aws (v2) and whatever `aws` is first on PATH. */
function awsClis(): string[] {
  const found = new Map<string, string>();
  for (const p of [which('aws'), '/usr/bin/aws']) {
    if (!p || !existsSync(p)) continue;
    let real = p;
    try {
      real = realpathSync(p);
    } catch {
      /* keep p */
    }
    if (!found.has(real)) found.set(real, p);
  }
  return [...found.values()];
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

beforeAll(async () => {
  server = await startTestServer();
  work = join(server.dataDir, '..', `clients-${process.pid}`);
  mkdirSync(work, { recursive: true });
  env = {
    PATH: process.env.PATH,
    HOME: work,
    AWS_ACCESS_KEY_ID: server.accessKey,
    AWS_SECRET_ACCESS_KEY: server.secretKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(work, 'aws-config-none'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'aws-credentials-none'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
});
afterAll(async () => {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('aws s3', () => {
  const clis = awsClis();
  it('has at least one aws CLI installed', () => {
    expect(clis.length).toBeGreaterThan(0);
  });
  for (const [i, cli] of clis.entries()) {
    it(`cp / ls / sync / rm with ${cli}`, async () => {
      const bucket = `aws-cli-bucket-${i}`;
      const aws = (...args: string[]) => run(cli, ['--endpoint-url', server.endpoint, ...args], { env, timeout: 120_000 });
      await aws('s3', 'mb', `s3://${bucket}`);
      const small = join(work, `small-${i}.txt`);
      writeFileSync(small, 'hello from the aws cli\n');
      const big = join(work, `big-${i}.bin`);
      writeFileSync(big, randomBytes(20 * 1024 * 1024 + 3));
      await aws('s3', 'cp', small, `s3://${bucket}/dir/small.txt`);
      await aws('s3', 'cp', big, `s3://${bucket}/dir/big.bin`);
      const ls = await aws('s3', 'ls', `s3://${bucket}/dir/`);
      expect(ls.stdout).toContain('small.txt');
      expect(ls.stdout).toContain('big.bin');
      const back = join(work, `big-back-${i}.bin`);
      await aws('s3', 'cp', `s3://${bucket}/dir/big.bin`, back);
      expect(sha256(back)).toBe(sha256(big));
      const syncDir = join(work, `sync-${i}`);
      mkdirSync(join(syncDir, 'nested'), { recursive: true });
      for (const name of ['one.txt', 'two words.txt', 'nested/three+.txt']) writeFileSync(join(syncDir, name), `content of ${name}`);
      await aws('s3', 'sync', syncDir, `s3://${bucket}/synced`);
      const listed = await aws('s3', 'ls', '--recursive', `s3://${bucket}/synced/`);
      for (const name of ['synced/one.txt', 'synced/two words.txt', 'synced/nested/three+.txt']) expect(listed.stdout).toContain(name);
      const again = await aws('s3', 'sync', syncDir, `s3://${bucket}/synced`);
      expect(again.stdout.trim()).toBe('');
      await aws('s3', 'rm', '--recursive', `s3://${bucket}/`);
      const empty = await aws('s3', 'ls', '--recursive', `s3://${bucket}/`).catch((e: { stdout: string }) => e);
      expect(empty.stdout.trim()).toBe('');
      await aws('s3', 'rb', `s3://${bucket}`);
    });
  }
});

describe('s3cmd', () => {
  it('mb / put / ls / get / del with a generated config', async () => {
    const cfg = join(work, 's3cfg');
    writeS3cmdConfig(cfg, server);
    const s3cmd = (...args: string[]) => run('s3cmd', ['-c', cfg, ...args], { env, timeout: 120_000 });
    await s3cmd('mb', 's3://s3cmd-bucket');
    const file = join(work, 's3cmd-file.bin');
    writeFileSync(file, randomBytes(3 * 1024 * 1024));
    await s3cmd('put', file, 's3://s3cmd-bucket/some/file.bin');
    const bigFile = join(work, 's3cmd-big.bin');
    writeFileSync(bigFile, randomBytes(17 * 1024 * 1024));
    await s3cmd('put', '--multipart-chunk-size-mb=5', bigFile, 's3://s3cmd-bucket/big.bin');
    const ls = await s3cmd('ls', '--recursive', 's3://s3cmd-bucket');
    expect(ls.stdout).toContain('s3://s3cmd-bucket/some/file.bin');
    expect(ls.stdout).toContain('s3://s3cmd-bucket/big.bin');
    const back = join(work, 's3cmd-back.bin');
    await s3cmd('get', '--force', 's3://s3cmd-bucket/big.bin', back);
    expect(sha256(back)).toBe(sha256(bigFile));
    await s3cmd('info', 's3://s3cmd-bucket/some/file.bin');
    await s3cmd('del', 's3://s3cmd-bucket/some/file.bin', 's3://s3cmd-bucket/big.bin');
    const after = await s3cmd('ls', '--recursive', 's3://s3cmd-bucket');
    expect(after.stdout.trim()).toBe('');
    await s3cmd('rb', 's3://s3cmd-bucket');
  });
});

describe('rclone', () => {
  it('copy and check a directory tree', async () => {
    const src = join(work, 'rclone-src');
    mkdirSync(join(src, 'a', 'b'), { recursive: true });
    writeFileSync(join(src, 'top.txt'), 'top');
    writeFileSync(join(src, 'a', 'mid file.txt'), 'mid');
    writeFileSync(join(src, 'a', 'b', 'deep.bin'), randomBytes(9 * 1024 * 1024));
    const rcloneEnv = {
      ...env,
      RCLONE_CONFIG: join(work, 'rclone.conf-none'),
      RCLONE_CONFIG_STRATA_TYPE: 's3',
      RCLONE_CONFIG_STRATA_PROVIDER: 'Other',
      RCLONE_CONFIG_STRATA_ENV_AUTH: 'false',
      RCLONE_CONFIG_STRATA_ACCESS_KEY_ID: server.accessKey,
      RCLONE_CONFIG_STRATA_SECRET_ACCESS_KEY: server.secretKey,
      RCLONE_CONFIG_STRATA_ENDPOINT: server.endpoint,
      RCLONE_CONFIG_STRATA_REGION: 'us-east-1',
      RCLONE_CONFIG_STRATA_FORCE_PATH_STYLE: 'true',
    };
    const rclone = (...args: string[]) => run('rclone', args, { env: rcloneEnv, timeout: 120_000 });
    await rclone('mkdir', 'strata:rclone-bucket');
    await rclone('copy', '--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M', src, 'strata:rclone-bucket/tree');
    await rclone('check', src, 'strata:rclone-bucket/tree');
    const listing = await rclone('lsf', '-R', 'strata:rclone-bucket/tree');
    expect(listing.stdout.split('\n').filter(Boolean).sort()).toEqual(['a/', 'a/b/', 'a/b/deep.bin', 'a/mid file.txt', 'top.txt']);
  });
});

describe('boto3', () => {
  it('put, list, get and delete with Debian python3-boto3', async () => {
    const script = `
import boto3, sys
s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1')
s3.create_bucket(Bucket='boto3-bucket')
s3.put_object(Bucket='boto3-bucket', Key='hello.txt', Body=b'hello boto3', Metadata={'k': 'v'})
keys = [o['Key'] for o in s3.list_objects_v2(Bucket='boto3-bucket')['Contents']]
body = s3.get_object(Bucket='boto3-bucket', Key='hello.txt')['Body'].read()
meta = s3.head_object(Bucket='boto3-bucket', Key='hello.txt')['Metadata']
s3.delete_object(Bucket='boto3-bucket', Key='hello.txt')
s3.delete_bucket(Bucket='boto3-bucket')
print(keys, body.decode(), meta)
`;
    const out = await run('/usr/bin/python3', ['-c', script, server.endpoint, server.accessKey, server.secretKey], { env, timeout: 60_000 });
    expect(out.stdout.trim()).toBe("['hello.txt'] hello boto3 {'k': 'v'}");
  });
});
