// Lifecycle configuration over real HTTP with the SDK: the round trip in each form a rule's
// objects can be named (legacy Prefix, Filter with Prefix, Tag, size bounds, And, or empty), the
// errors AWS answers for bad documents (each changing nothing), DeleteBucketLifecycle, and the
// x-amz-expiration header on PUT, HEAD and GET.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, rawRequest } from '../helpers/raw.ts';
import { addTestKey } from '../helpers/principals.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let s3: S3Client;
const bucket = 'lc-config';

const putRules = (Rules: LifecycleRule[], b = bucket, client = s3) =>
  client.send(new PutBucketLifecycleConfigurationCommand({ Bucket: b, LifecycleConfiguration: { Rules } }));
const getRules = async (b = bucket) => (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b }))).Rules;

/** PUT ?lifecycle with a hand-written document (the SDK cannot send most bad ones). */
const putDocument = (rules: string) =>
  rawRequest(server.port, {
    method: 'PUT',
    path: `/${bucket}?lifecycle`,
    body: `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules}</LifecycleConfiguration>`,
  });

beforeAll(async () => {
  server = await startTestServer({ lifecycleIntervalSeconds: 0 });
  s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(async () => server?.stop());

describe('lifecycle configuration', () => {
  it('answers NoSuchLifecycleConfiguration for a bucket never configured, and 204 to a DELETE of nothing', async () => {
    const err = await sdkError(getRules());
    expect(err.name).toBe('NoSuchLifecycleConfiguration');
    expect(err.$metadata.httpStatusCode).toBe(404);
    const deleted = await s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }));
    expect(deleted.$metadata.httpStatusCode).toBe(204);
  });

  it('returns every rule in the form it was given', async () => {
    const rules: LifecycleRule[] = [
      { ID: 'legacy', Prefix: 'logs/', Status: 'Enabled', Expiration: { Days: 30 } },
      { ID: 'tagged', Filter: { Tag: { Key: 'class', Value: 'scratch' } }, Status: 'Enabled', Expiration: { Days: 1 } },
      { ID: 'big', Filter: { ObjectSizeGreaterThan: 1048576 }, Status: 'Disabled', NoncurrentVersionExpiration: { NoncurrentDays: 7, NewerNoncurrentVersions: 3 } },
      {
        ID: 'and',
        Filter: { And: { Prefix: 'tmp/', Tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }], ObjectSizeLessThan: 4096 } },
        Status: 'Enabled',
        Expiration: { Date: new Date('2030-01-01T00:00:00Z') },
      },
      { ID: 'everything', Filter: {}, Status: 'Enabled', Expiration: { ExpiredObjectDeleteMarker: true }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
      { ID: 'uploads', Filter: { Prefix: 'incoming/' }, Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
      // Several predicates straight in a Filter (AWS refuses them; Strata, as Ceph, takes their conjunction).
      { ID: 'ceph-style', Filter: { Prefix: 'days1/', Tag: { Key: 'tom', Value: 'sawyer' }, ObjectSizeGreaterThan: 10 }, Status: 'Enabled', Expiration: { Days: 1 } },
    ];
    await putRules(rules);
    expect(await getRules()).toEqual(rules);
  });

  it('reads an indented document as one written on a single line', async () => {
    const res = await putDocument(`
  <Rule>
    <ID>pretty</ID>
    <Filter>
      <And>
        <Prefix>logs/</Prefix>
        <Tag><Key>k</Key><Value>v</Value></Tag>
      </And>
    </Filter>
    <Status>Enabled</Status>
    <Expiration>
      <Days>3</Days>
    </Expiration>
  </Rule>
`);
    expect(res.status, res.text).toBe(200);
    expect(await getRules()).toEqual([{ ID: 'pretty', Filter: { And: { Prefix: 'logs/', Tags: [{ Key: 'k', Value: 'v' }] } }, Status: 'Enabled', Expiration: { Days: 3 } }]);
  });

  it('gives a rule without an ID one of its own', async () => {
    await putRules([{ Prefix: 'a/', Status: 'Enabled', Expiration: { Days: 3 } }]);
    const [rule] = (await getRules())!;
    expect(rule.ID).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(rule.Prefix).toBe('a/');
  });

  it('refuses each bad document with the error AWS answers, and keeps the configuration it had', async () => {
    const kept: LifecycleRule[] = [{ ID: 'kept', Prefix: 'keep/', Status: 'Enabled', Expiration: { Days: 9 } }];
    await putRules(kept);
    const rule = (body: string) => `<Rule><ID>r</ID>${body}</Rule>`;
    const cases: [string, string, number][] = [
      [rule('<Prefix>x/</Prefix><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>'), 'InvalidArgument', 400],
      [rule('<Prefix>x/</Prefix><Status>enabled</Status><Expiration><Days>1</Days></Expiration>'), 'MalformedXML', 400],
      [rule('<Prefix>x/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>').repeat(2), 'InvalidArgument', 400],
      [`<Rule><ID>${'i'.repeat(256)}</ID><Prefix/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`, 'InvalidArgument', 400],
      [rule('<Prefix>x/</Prefix><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>'), 'InvalidStorageClass', 400],
      [rule('<Prefix>x/</Prefix><Status>Enabled</Status><NoncurrentVersionTransition><NoncurrentDays>3</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition>'), 'InvalidStorageClass', 400],
      [rule('<Filter><Tag><Key>k</Key><Value>v</Value></Tag><Tag><Key>j</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>'), 'MalformedXML', 400],
      [rule('<Prefix>x/</Prefix><Filter><Prefix>x/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>'), 'MalformedXML', 400],
      [rule('<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>'), 'MalformedXML', 400],
      [rule('<Prefix>x/</Prefix><Status>Enabled</Status><Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration>'), 'InvalidArgument', 400],
      [rule('<Prefix>x/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>'), 'MalformedXML', 400],
      [rule('<Prefix>x/</Prefix><Status>Enabled</Status>'), 'InvalidRequest', 400],
      [rule('<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>'), 'InvalidRequest', 400],
      [rule('<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>'), 'InvalidRequest', 400],
      [rule('<Prefix/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>0</NewerNoncurrentVersions></NoncurrentVersionExpiration>'), 'InvalidArgument', 400],
      [rule('<Filter><ObjectSizeGreaterThan>100</ObjectSizeGreaterThan><ObjectSizeLessThan>50</ObjectSizeLessThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>'), 'InvalidArgument', 400],
      [rule('<Filter><And></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>'), 'MalformedXML', 400],
      [rule('<Filter><Color>red</Color></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>'), 'MalformedXML', 400],
      [rule('<Filter><And><ObjectSizeGreaterThan>100</ObjectSizeGreaterThan><ObjectSizeLessThan>50</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>'), 'InvalidArgument', 400],
      [rule('<Prefix/><Status>Enabled</Status><Expiration><Days>one</Days></Expiration>'), 'MalformedXML', 400],
      ['', 'MalformedXML', 400],
    ];
    for (const [body, code, status] of cases) {
      const res = await putDocument(body);
      expect(res.status, body).toBe(status);
      expect(errorCode(res.text), body).toBe(code);
      expect(res.text).toContain('<RequestId>');
    }
    const notXml = await rawRequest(server.port, { method: 'PUT', path: `/${bucket}?lifecycle`, body: '<LifecycleConfiguration><Rule>' });
    expect(errorCode(notXml.text)).toBe('MalformedXML');
    expect(await getRules()).toEqual(kept);
  });

  it('lets only a full-level key configure lifecycle, and DELETE removes the configuration', async () => {
    const writer = server.client({ credentials: await addTestKey(server, 'default', 'lc-writer', 'readwrite') });
    const refused = await sdkError(putRules([{ ID: 'x', Prefix: '', Status: 'Enabled', Expiration: { Days: 1 } }], bucket, writer));
    expect(refused.name).toBe('AccessDenied');
    expect((await getRules())![0].ID).toBe('kept');
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }));
    expect((await sdkError(getRules())).name).toBe('NoSuchLifecycleConfiguration');
  });
});

describe('x-amz-expiration', () => {
  const b = 'lc-header';
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: b }));
    await putRules(
      [
        { ID: 'logs rule', Prefix: 'logs/', Status: 'Enabled', Expiration: { Days: 3 } },
        { ID: 'tagged', Filter: { Tag: { Key: 'class', Value: 'scratch' } }, Status: 'Enabled', Expiration: { Days: 1 } },
        { ID: 'off', Prefix: '', Status: 'Disabled', Expiration: { Days: 1 } },
      ],
      b,
    );
  });

  /** The header AWS sends: the time plus the days, rounded up to midnight UTC; the rule id URL-encoded. */
  const expected = (modified: Date, days: number, ruleId: string) => {
    const day = 86_400_000;
    const at = Math.ceil((modified.getTime() + days * day) / day) * day;
    return `expiry-date="${new Date(at).toUTCString()}", rule-id="${encodeURIComponent(ruleId)}"`;
  };

  it('is sent on PUT, HEAD and GET of an object a rule will expire, naming the rule', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'logs/app.log', Body: 'line' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'logs/app.log' }));
    expect(head.Expiration).toBe(expected(head.LastModified!, 3, 'logs rule'));
    expect(put.Expiration).toBe(head.Expiration);
    expect(head.Expiration).toContain(' 00:00:00 GMT');
    const get = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'logs/app.log' }));
    expect(get.Expiration).toBe(head.Expiration);
    await get.Body!.transformToString();
  });

  it('is sent on CopyObject and CompleteMultipartUpload too', async () => {
    const copied = await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'logs/copy', CopySource: `${b}/logs/app.log` }));
    expect(copied.Expiration).toMatch(/^expiry-date=".* 00:00:00 GMT", rule-id="logs%20rule"$/);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'logs/big' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: b, Key: 'logs/big', UploadId, PartNumber: 1, Body: 'part' }));
    const done = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: b, Key: 'logs/big', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
    );
    expect(done.Expiration).toMatch(/^expiry-date=".* 00:00:00 GMT", rule-id="logs%20rule"$/);
  });

  it('follows the object tags, and is absent when no enabled rule applies', async () => {
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'data/x', Body: 'x' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'data/x' }))).Expiration).toBeUndefined();
    await s3.send(new PutObjectTaggingCommand({ Bucket: b, Key: 'data/x', Tagging: { TagSet: [{ Key: 'class', Value: 'scratch' }] } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'data/x' }));
    expect(head.Expiration).toBe(expected(head.LastModified!, 1, 'tagged'));
    // The earliest of several rules wins: a tagged log expires after 1 day, not 3.
    const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'logs/t', Body: 't', Tagging: 'class=scratch' }));
    expect(put.Expiration).toContain('rule-id="tagged"');
  });
});
