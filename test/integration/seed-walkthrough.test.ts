// The seed's bucket-policy walkthrough, verbatim, with the real s3cmd and curl binaries (and the
// aws CLI's s3api for the same policy): `s3cmd setpolicy examplepol s3://happybucket` makes
// downloads public, anonymous curl then fetches the object path-style and virtual-hosted-style,
// anonymous PUT and LIST stay refused, `s3cmd info` shows the policy, `s3cmd delpolicy` removes
// it and anonymous curl is refused again. Source: seeds/000_00be969c435ca911.txt.
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '../helpers/raw.ts';
import { startTestServer, type TestServer, writeS3cmdConfig } from '../helpers/server.ts';

const run = promisify(execFile);

/** `examplepol`, exactly as the seed writes it with `cat > examplepol`. */
const examplepol = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": "*",
      "Action": "s3:GetObject",
      "Resource": [
        "arn:aws:s3:::happybucket/*"
      ]
    }
  ]
}
`;
const fileContents = 'my new file, served to anyone once the policy is set\n';

let server: TestServer;
let work: string;
let env: NodeJS.ProcessEnv;
let s3cfg: string;
let pathUrl: string;
let vhostUrl: string;

function s3cmd(...args: string[]) {
  return run('s3cmd', ['-c', s3cfg, ...args], { env, cwd: work, timeout: 60_000 });
}

/** curl as in the seed, plus `-w '%{http_code}'`: body and status. */
async function curl(...args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-s', '-o', '-', '-w', '%{http_code}', ...args], { cwd: work, timeout: 30_000 });
  return { status: Number(stdout.slice(-3)), body: stdout.slice(0, -3) };
}

function aws(...args: string[]) {
  return run('aws', ['--endpoint-url', server.endpoint, ...args], { env, cwd: work, timeout: 60_000 });
}

beforeAll(async () => {
  server = await startTestServer();
  work = join(server.dataDir, '..', `seed-walkthrough-${process.pid}`);
  mkdirSync(work, { recursive: true });
  s3cfg = join(work, 's3cfg');
  writeS3cmdConfig(s3cfg, server);
  const { AWS_CA_BUNDLE: _ignored, ...inherited } = process.env;
  env = {
    ...inherited,
    HOME: work,
    AWS_ACCESS_KEY_ID: server.accessKey,
    AWS_SECRET_ACCESS_KEY: server.secretKey,
    AWS_DEFAULT_REGION: 'default',
    AWS_CONFIG_FILE: join(work, 'aws-config-does-not-exist'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'aws-credentials-does-not-exist'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  delete env.AWS_CA_BUNDLE;
  delete env.AWS_PROFILE;
  pathUrl = `http://127.0.0.1:${server.port}/happybucket/my-new-file.txt`;
  // *.localhost resolves to loopback inside curl; lga1 is the default region of the test server.
  vhostUrl = `http://happybucket.object.lga1.localhost:${server.port}/my-new-file.txt`;
  writeFileSync(join(work, 'examplepol'), examplepol);
  writeFileSync(join(work, 'my-new-file.txt'), fileContents);
});
afterAll(async () => {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('seed walkthrough: s3cmd setpolicy / delpolicy and anonymous curl', () => {
  it('runs verbatim', async () => {
    await s3cmd('mb', 's3://happybucket');
    await s3cmd('put', 'my-new-file.txt', 's3://happybucket/my-new-file.txt');

    // Before the policy: private.
    const before = await curl(pathUrl);
    expect(before.status).toBe(403);
    expect(errorCode(before.body)).toBe('AccessDenied');

    // $ s3cmd setpolicy examplepol s3://happybucket
    const set = await s3cmd('setpolicy', 'examplepol', 's3://happybucket');
    expect(set.stdout).toContain('s3://happybucket/: Policy updated');

    // $ curl -v https://happybucket.object.las1.coreweave.com/my-new-file.txt (here: plain HTTP, lga1)
    const viaPath = await curl(pathUrl);
    expect(viaPath).toEqual({ status: 200, body: fileContents });
    const viaVhost = await curl(vhostUrl);
    expect(viaVhost).toEqual({ status: 200, body: fileContents });
    const verbose = await run('curl', ['-v', '-s', '-o', '/dev/null', vhostUrl], { cwd: work, timeout: 30_000 });
    expect(verbose.stderr).toMatch(/< HTTP\/1\.1 200/);
    expect(verbose.stderr).toMatch(/Host: happybucket\.object\.lga1\.localhost/);

    // Downloads only: anonymous PUT, DELETE and LIST are still refused.
    const anonPut = await curl('-X', 'PUT', '--data', 'x', pathUrl);
    expect(anonPut.status).toBe(403);
    expect(anonPut.body).toContain('<Error>');
    expect(errorCode(anonPut.body)).toBe('AccessDenied');
    const anonPutVhost = await curl('-X', 'PUT', '--data', 'x', `http://happybucket.object.lga1.localhost:${server.port}/other.txt`);
    expect(anonPutVhost.status).toBe(403);
    expect(errorCode(anonPutVhost.body)).toBe('AccessDenied');
    const anonList = await curl(`http://127.0.0.1:${server.port}/happybucket`);
    expect(anonList.status).toBe(403);
    expect(errorCode(anonList.body)).toBe('AccessDenied');
    const anonListVhost = await curl(`http://happybucket.object.lga1.localhost:${server.port}/`);
    expect(anonListVhost.status).toBe(403);
    expect(errorCode(anonListVhost.body)).toBe('AccessDenied');
    const anonDelete = await curl('-X', 'DELETE', pathUrl);
    expect(anonDelete.status).toBe(403);
    expect(errorCode(anonDelete.body)).toBe('AccessDenied');
    // The object is unchanged.
    expect(await curl(pathUrl)).toEqual({ status: 200, body: fileContents });
    const got = join(work, 'downloaded.txt');
    await s3cmd('get', '--force', 's3://happybucket/my-new-file.txt', got);

    // s3cmd info shows the policy.
    const info = await s3cmd('info', 's3://happybucket');
    expect(info.stdout).toContain('Policy:');
    expect(info.stdout).toContain('"Principal": "*"');
    expect(info.stdout).toContain('arn:aws:s3:::happybucket/*');

    // $ s3cmd delpolicy s3://happybucket
    const del = await s3cmd('delpolicy', 's3://happybucket');
    expect(del.stdout).toContain('s3://happybucket/: Policy deleted');
    const after = await curl(pathUrl);
    expect(after.status).toBe(403);
    expect(errorCode(after.body)).toBe('AccessDenied');
    const afterVhost = await curl(vhostUrl);
    expect(afterVhost.status).toBe(403);
    expect(errorCode(afterVhost.body)).toBe('AccessDenied');
    const infoAfter = await s3cmd('info', 's3://happybucket');
    expect(infoAfter.stdout).toMatch(/Policy:\s+none/);
  });

  it('the same policy through aws s3api put-bucket-policy / get-bucket-policy', async () => {
    await aws('s3api', 'put-bucket-policy', '--bucket', 'happybucket', '--policy', 'file://examplepol');
    const got = await aws('s3api', 'get-bucket-policy', '--bucket', 'happybucket', '--output', 'json');
    expect(JSON.parse(got.stdout)).toEqual({ Policy: examplepol });
    expect(await curl(pathUrl)).toEqual({ status: 200, body: fileContents });
    expect(await curl(vhostUrl)).toEqual({ status: 200, body: fileContents });
    await aws('s3api', 'delete-bucket-policy', '--bucket', 'happybucket');
    const missing = await aws('s3api', 'get-bucket-policy', '--bucket', 'happybucket').then(
      () => undefined,
      (e: { stderr: string; code: number }) => e,
    );
    expect(missing).toBeDefined();
    expect(missing!.stderr).toContain('NoSuchBucketPolicy');
    expect((await curl(pathUrl)).status).toBe(403);
    // A malformed policy is refused by the server with MalformedPolicy.
    writeFileSync(join(work, 'badpol'), examplepol.replace('s3:GetObject', 's3:GetEverything'));
    const bad = await aws('s3api', 'put-bucket-policy', '--bucket', 'happybucket', '--policy', 'file://badpol').then(
      () => undefined,
      (e: { stderr: string }) => e,
    );
    expect(bad?.stderr).toContain('MalformedPolicy');
    const stillNone = await s3cmd('info', 's3://happybucket');
    expect(stillNone.stdout).toMatch(/Policy:\s+none/);
  });
});
