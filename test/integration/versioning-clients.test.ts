// Versioning with the real clients users have: `aws s3api` (every aws CLI on the machine), rclone
// with --s3-versions, and Debian's boto3. Each drives a real server as a user would; a client
// that is missing fails the test, it is never skipped.
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClis, clientEnv, commandError, rcloneEnv, run, which } from '../helpers/cli-clients.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let s3: S3Client;
let work: string;

/** Bytes and objects the bootstrap organisation has stored in the default region. */
const usage = () => server.services.regions.get('lga1')!.usageOf('default');
const VERSION_ID = /^[0-9a-z]{11}[A-Za-z0-9_-]{21}$/;

beforeAll(async () => {
  server = await startTestServer();
  s3 = server.client();
  work = join(server.dataDir, '..', `versioning-clients-${process.pid}`);
  mkdirSync(work, { recursive: true });
});
afterAll(async () => {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
});

it('has every client installed (aws, rclone, python3 with boto3)', async () => {
  expect(awsClis().length).toBeGreaterThan(0);
  expect(which('rclone')).toBeDefined();
  expect(existsSync('/usr/bin/python3')).toBe(true);
  await run('/usr/bin/python3', ['-c', 'import boto3'], { timeout: 30_000 });
});

describe('aws s3api', () => {
  for (const [i, cli] of awsClis().entries()) {
    it(`versions, delete markers and suspension with ${cli}`, async () => {
      const env = clientEnv(work, server);
      const aws = async (...args: string[]) => {
        const { stdout } = await run(cli, ['--endpoint-url', server.endpoint, '--output', 'json', 's3api', ...args], { env, timeout: 60_000 });
        return stdout.trim() ? JSON.parse(stdout) : {};
      };
      const Bucket = `aws-versions-${i}`;
      const key = 'reports/q1.bin';
      await aws('create-bucket', '--bucket', Bucket);
      expect((await aws('get-bucket-versioning', '--bucket', Bucket)).Status).toBeUndefined();
      await aws('put-bucket-versioning', '--bucket', Bucket, '--versioning-configuration', 'Status=Enabled');
      expect(await aws('get-bucket-versioning', '--bucket', Bucket)).toMatchObject({ Status: 'Enabled' });

      const first = randomBytes(100_000);
      const second = Buffer.from('the second version, small enough to be inline\n');
      writeFileSync(join(work, `first-${i}`), first);
      writeFileSync(join(work, `second-${i}`), second);
      const before = await usage();
      const v1 = (await aws('put-object', '--bucket', Bucket, '--key', key, '--body', join(work, `first-${i}`))).VersionId;
      const v2 = (await aws('put-object', '--bucket', Bucket, '--key', key, '--body', join(work, `second-${i}`))).VersionId;
      expect(v1).toMatch(VERSION_ID);
      expect(v2).toMatch(VERSION_ID);
      expect(v2).not.toBe(v1);
      // Both versions are stored and counted.
      expect(await usage()).toEqual({ bytes: before.bytes + first.length + second.length, objects: before.objects + 2 });

      const listed = await aws('list-object-versions', '--bucket', Bucket);
      expect(listed.Versions.map((v: { Key: string; VersionId: string; IsLatest: boolean; Size: number }) => [v.Key, v.VersionId, v.IsLatest, v.Size])).toEqual([
        [key, v2, true, second.length],
        [key, v1, false, first.length],
      ]);
      expect(listed.DeleteMarkers ?? []).toEqual([]);

      const out = join(work, `out-${i}`);
      const got = await aws('get-object', '--bucket', Bucket, '--key', key, '--version-id', v1, out);
      expect([got.VersionId, got.ContentLength]).toEqual([v1, first.length]);
      expect(readFileSync(out).equals(first)).toBe(true);
      await aws('get-object', '--bucket', Bucket, '--key', key, out);
      expect(readFileSync(out).equals(second)).toBe(true);

      // A delete without a version id makes a marker, which hides the key.
      const del = await aws('delete-object', '--bucket', Bucket, '--key', key);
      expect(del.DeleteMarker).toBe(true);
      expect(del.VersionId).toMatch(VERSION_ID);
      const withMarker = await aws('list-object-versions', '--bucket', Bucket);
      expect(withMarker.DeleteMarkers.map((m: { Key: string; VersionId: string; IsLatest: boolean }) => [m.Key, m.VersionId, m.IsLatest])).toEqual([[key, del.VersionId, true]]);
      expect(withMarker.Versions.map((v: { VersionId: string; IsLatest: boolean }) => [v.VersionId, v.IsLatest])).toEqual([[v2, false], [v1, false]]);
      expect((await commandError(aws('get-object', '--bucket', Bucket, '--key', key, out))).stderr).toContain('NoSuchKey');
      expect((await commandError(aws('head-object', '--bucket', Bucket, '--key', key))).stderr).toContain('(404)');
      expect(await usage()).toEqual({ bytes: before.bytes + first.length + second.length, objects: before.objects + 2 });

      // Deleting the marker by its id brings the newest version back.
      const undo = await aws('delete-object', '--bucket', Bucket, '--key', key, '--version-id', del.VersionId);
      expect([undo.DeleteMarker, undo.VersionId]).toEqual([true, del.VersionId]);
      await aws('get-object', '--bucket', Bucket, '--key', key, out);
      expect(readFileSync(out).equals(second)).toBe(true);
      expect((await aws('list-object-versions', '--bucket', Bucket)).DeleteMarkers ?? []).toEqual([]);

      // Suspended: writes replace only the null version; the numbered ones stay.
      await aws('put-bucket-versioning', '--bucket', Bucket, '--versioning-configuration', 'Status=Suspended');
      expect(await aws('get-bucket-versioning', '--bucket', Bucket)).toMatchObject({ Status: 'Suspended' });
      const third = Buffer.from('written while suspended\n');
      const fourth = Buffer.from('written again while suspended: it replaces the null version\n');
      writeFileSync(join(work, `third-${i}`), third);
      writeFileSync(join(work, `fourth-${i}`), fourth);
      await aws('put-object', '--bucket', Bucket, '--key', key, '--body', join(work, `third-${i}`));
      await aws('put-object', '--bucket', Bucket, '--key', key, '--body', join(work, `fourth-${i}`));
      const suspended = await aws('list-object-versions', '--bucket', Bucket);
      expect(suspended.Versions.map((v: { VersionId: string; IsLatest: boolean; Size: number }) => [v.VersionId, v.IsLatest, v.Size])).toEqual([
        ['null', true, fourth.length],
        [v2, false, second.length],
        [v1, false, first.length],
      ]);
      const nullGot = await aws('get-object', '--bucket', Bucket, '--key', key, '--version-id', 'null', out);
      expect(nullGot.VersionId).toBe('null');
      expect(readFileSync(out).equals(fourth)).toBe(true);
      expect(await usage()).toEqual({ bytes: before.bytes + first.length + second.length + fourth.length, objects: before.objects + 3 });

      // Clean up by version id: the bucket can then be deleted.
      for (const v of ['null', v2, v1]) await aws('delete-object', '--bucket', Bucket, '--key', key, '--version-id', v);
      expect(await usage()).toEqual(before);
      await aws('delete-bucket', '--bucket', Bucket);
      // About 25 runs of a Python CLI: give them room on a loaded machine.
    }, 120_000);
  }
});

/** rclone's name for a noncurrent version: its UTC modification time before the extension. */
function rcloneVersionName(name: string, lastModified: Date): string {
  const t = lastModified.toISOString(); // 2026-12-07T12:05:48.967Z
  const stamp = `-v${t.slice(0, 10)}-${t.slice(11, 13)}${t.slice(14, 16)}${t.slice(17, 19)}-${t.slice(20, 23)}`;
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) + stamp + name.slice(dot) : name + stamp;
}

describe('rclone --s3-versions', () => {
  it('lists noncurrent versions under version-suffixed names and copies their old bytes', async () => {
    const env = rcloneEnv(work, server);
    const rclone = async (...args: string[]) => (await run('rclone', args, { env, timeout: 60_000 })).stdout;
    const Bucket = 'rclone-versions';
    await rclone('mkdir', `strata:${Bucket}`);
    // rclone's own command for the bucket's versioning state.
    expect((await rclone('backend', 'versioning', `strata:${Bucket}`)).trim()).toBe('Unversioned');
    expect((await rclone('backend', 'versioning', `strata:${Bucket}`, 'Enabled')).trim()).toBe('Enabled');

    const bodies = [randomBytes(70_000), Buffer.from('version two\n'), randomBytes(3000)];
    const src = join(work, 'rclone-src.txt');
    for (const body of bodies) {
      writeFileSync(src, body);
      await rclone('copyto', src, `strata:${Bucket}/dir/notes.txt`);
    }
    const versions = (await s3.send(new ListObjectVersionsCommand({ Bucket }))).Versions!;
    expect(versions.map((v) => [v.IsLatest, v.Size])).toEqual([[true, bodies[2].length], [false, bodies[1].length], [false, bodies[0].length]]);
    const oldNames = versions.slice(1).map((v) => rcloneVersionName('notes.txt', v.LastModified!));
    expect(new Set(oldNames).size).toBe(2);

    const lsf = (await rclone('lsf', '-R', '--s3-versions', `strata:${Bucket}`)).split('\n').filter(Boolean).sort();
    expect(lsf).toEqual(['dir/', 'dir/notes.txt', ...oldNames.map((n) => `dir/${n}`)].sort());
    const ls = (await rclone('ls', '--s3-versions', `strata:${Bucket}/dir`)).split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/));
    expect(ls.sort((a, b) => a[1].localeCompare(b[1]))).toEqual(
      [[String(bodies[2].length), 'notes.txt'], [String(bodies[1].length), oldNames[0]], [String(bodies[0].length), oldNames[1]]].sort((a, b) => a[1].localeCompare(b[1])),
    );
    // Without the flag only the current version shows.
    expect((await rclone('lsf', '-R', `strata:${Bucket}`)).split('\n').filter(Boolean).sort()).toEqual(['dir/', 'dir/notes.txt']);

    // Copying the oldest version by its version name gives its bytes. (The directory is copied
    // with a filter: rclone 1.60 finds no object when a version name is the source path itself.)
    const dest = join(work, 'rclone-dest');
    await rclone('copy', '--s3-versions', '--include', oldNames[1], `strata:${Bucket}/dir`, dest);
    expect(readFileSync(join(dest, oldNames[1])).equals(bodies[0])).toBe(true);
    await rclone('copy', '--s3-versions', '--include', oldNames[0], `strata:${Bucket}/dir`, dest);
    expect(readFileSync(join(dest, oldNames[0])).equals(bodies[1])).toBe(true);

    // rclone's delete makes a delete marker: the key is gone from the plain listing, and every
    // version, the one that was current included, is listed by its version name.
    await rclone('deletefile', `strata:${Bucket}/dir/notes.txt`);
    expect((await rclone('lsf', '-R', `strata:${Bucket}`)).trim()).toBe('');
    const after = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    expect(after.DeleteMarkers!.map((m) => [m.Key, m.IsLatest])).toEqual([['dir/notes.txt', true]]);
    const allNames = after.Versions!.map((v) => `dir/${rcloneVersionName('notes.txt', v.LastModified!)}`);
    expect((await rclone('lsf', '-R', '--files-only', '--s3-versions', `strata:${Bucket}`)).split('\n').filter(Boolean).sort()).toEqual(allNames.sort());
  });
});

describe('boto3', () => {
  it('enables versioning, pages ListObjectVersions, reads and deletes by version id', async () => {
    const script = `
import boto3, json, sys
s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1')
B = 'boto3-versions'
out = {}
s3.create_bucket(Bucket=B)
r = s3.put_bucket_versioning(Bucket=B, VersioningConfiguration={'Status': 'Enabled'})
out['putStatus'] = r['ResponseMetadata']['HTTPStatusCode']
out['status'] = s3.get_bucket_versioning(Bucket=B).get('Status')
ids = {'a': [], 'b': []}
for i in range(5):
    ids['a'].append(s3.put_object(Bucket=B, Key='a', Body=('a%d' % i).encode() * (i + 1))['VersionId'])
for i in range(2):
    ids['b'].append(s3.put_object(Bucket=B, Key='b', Body=('b%d' % i).encode())['VersionId'])
out['ids'] = ids
pages = []
for page in s3.get_paginator('list_object_versions').paginate(Bucket=B, PaginationConfig={'PageSize': 2}):
    pages.append({'truncated': page['IsTruncated'], 'versions': [[v['Key'], v['VersionId'], v['IsLatest'], v['Size']] for v in page.get('Versions', [])]})
out['pages'] = pages
out['oldest'] = s3.get_object(Bucket=B, Key='a', VersionId=ids['a'][0])['Body'].read().decode()
r = s3.delete_objects(Bucket=B, Delete={'Objects': [{'Key': 'a'}, {'Key': 'b', 'VersionId': ids['b'][0]}]})
out['deleted'] = sorted(r['Deleted'], key=lambda d: d['Key'])
marker = [d for d in r['Deleted'] if d['Key'] == 'a'][0]['DeleteMarkerVersionId']
out['afterMarker'] = s3.list_object_versions(Bucket=B, Prefix='a').get('DeleteMarkers', [])
out['afterMarker'] = [[m['Key'], m['VersionId'], m['IsLatest']] for m in out['afterMarker']]
try:
    s3.get_object(Bucket=B, Key='a')
    out['hidden'] = 'readable'
except s3.exceptions.NoSuchKey as e:
    out['hidden'] = [e.response['ResponseMetadata']['HTTPStatusCode'], e.response['ResponseMetadata']['HTTPHeaders'].get('x-amz-delete-marker')]
r = s3.delete_objects(Bucket=B, Delete={'Objects': [{'Key': 'a', 'VersionId': marker}]})
out['undo'] = r['Deleted']
out['current'] = s3.get_object(Bucket=B, Key='a')['Body'].read().decode()
out['bVersions'] = [v['VersionId'] for v in s3.list_object_versions(Bucket=B, Prefix='b')['Versions']]
print(json.dumps(out))
`;
    const before = await usage();
    const { stdout } = await run('/usr/bin/python3', ['-c', script, server.endpoint, server.accessKey, server.secretKey], { env: clientEnv(work, server), timeout: 60_000 });
    const out = JSON.parse(stdout);
    expect([out.putStatus, out.status]).toEqual([200, 'Enabled']);
    const a: string[] = out.ids.a;
    const b: string[] = out.ids.b;
    for (const id of [...a, ...b]) expect(id).toMatch(VERSION_ID);
    // 7 versions, 2 a page: 4 pages, the last not truncated, newest first within a key.
    const aSize = (i: number) => 2 * (i + 1);
    expect(out.pages.map((p: { truncated: boolean }) => p.truncated)).toEqual([true, true, true, false]);
    expect(out.pages.flatMap((p: { versions: unknown[] }) => p.versions)).toEqual([
      ...[4, 3, 2, 1, 0].map((i) => ['a', a[i], i === 4, aSize(i)]),
      ['b', b[1], true, 2],
      ['b', b[0], false, 2],
    ]);
    expect(out.oldest).toBe('a0');
    // DeleteObjects: a key without a version gets a marker; a version id removes that version.
    const [delA, delB] = out.deleted;
    expect(delA).toMatchObject({ Key: 'a', DeleteMarker: true });
    expect(delA.DeleteMarkerVersionId).toMatch(VERSION_ID);
    expect(delA.VersionId).toBeUndefined();
    expect(delB).toEqual({ Key: 'b', VersionId: b[0] });
    expect(out.afterMarker).toEqual([['a', delA.DeleteMarkerVersionId, true]]);
    expect(out.hidden).toEqual([404, 'true']);
    // Removing the marker by version id reports it as a marker, and a[4] is current again.
    expect(out.undo).toEqual([{ Key: 'a', VersionId: delA.DeleteMarkerVersionId, DeleteMarker: true, DeleteMarkerVersionId: delA.DeleteMarkerVersionId }]);
    expect(out.current).toBe('a4'.repeat(5));
    expect(out.bVersions).toEqual([b[1]]);
    // Stored: a's five versions and b's remaining one.
    expect(await usage()).toEqual({ bytes: before.bytes + [0, 1, 2, 3, 4].reduce((n, i) => n + aSize(i), 0) + 2, objects: before.objects + 6 });
  });
});
