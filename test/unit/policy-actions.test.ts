import { describe, expect, it } from 'vitest';
import {
  ACTIONS, actionResourceKind, expandActionPattern, lookupAction, resourceArn,
} from '../../src/policy/actions.ts';
import { evaluatePolicy } from '../../src/policy/evaluate.ts';
import { compileWildcard } from '../../src/policy/wildcard.ts';
import { BUCKET, ctx, doc, expectMalformed, policy, stmt } from './policy-helpers.ts';

// The 48 actions of the seed's list, spelled exactly as the seed spells them.
const SEED_ACTIONS = [
  's3:AbortMultipartUpload', 's3:CreateBucket', 's3:DeleteBucketPolicy', 's3:DeleteBucket',
  's3:DeleteBucketWebsite', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:DeleteReplicationConfiguration',
  's3:GetAccelerateConfiguration', 's3:GetBucketACL', 's3:GetBucketCORS', 's3:GetBucketLocation',
  's3:GetBucketLogging', 's3:GetBucketNotification', 's3:GetBucketPolicy', 's3:GetBucketRequestPayment',
  's3:GetBucketTagging', 's3:GetBucketVersioning', 's3:GetBucketWebsite', 's3:GetLifecycleConfiguration',
  's3:GetObjectAcl', 's3:GetObject', 's3:GetObjectTorrent', 's3:GetObjectVersionAcl', 's3:GetObjectVersion',
  's3:GetObjectVersionTorrent', 's3:GetReplicationConfiguration', 's3:ListAllMyBuckets',
  's3:ListBucketMultipartUploads', 's3:ListBucket', 's3:ListBucketVersions', 's3:ListMultipartUploadParts',
  's3:PutAccelerateConfiguration', 's3:PutBucketAcl', 's3:PutBucketCORS', 's3:PutBucketLogging',
  's3:PutBucketNotification', 's3:PutBucketPolicy', 's3:PutBucketRequestPayment', 's3:PutBucketTagging',
  's3:PutBucketVersioning', 's3:PutBucketWebsite', 's3:PutLifecycleConfiguration', 's3:PutObjectAcl',
  's3:PutObject', 's3:PutObjectVersionAcl', 's3:PutReplicationConfiguration', 's3:RestoreObject',
];

const TAGGING_ACTIONS = [
  's3:GetObjectTagging', 's3:PutObjectTagging', 's3:DeleteObjectTagging',
  's3:GetObjectVersionTagging', 's3:PutObjectVersionTagging', 's3:DeleteObjectVersionTagging',
];

const OBJECT_ACTIONS = new Set([
  's3:AbortMultipartUpload', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:GetObjectAcl', 's3:GetObject',
  's3:GetObjectTorrent', 's3:GetObjectVersionAcl', 's3:GetObjectVersion', 's3:GetObjectVersionTorrent',
  's3:ListMultipartUploadParts', 's3:PutObjectAcl', 's3:PutObject', 's3:PutObjectVersionAcl', 's3:RestoreObject',
  ...TAGGING_ACTIONS,
]);

describe('action table', () => {
  it('holds the 48 seed actions', () => {
    expect(SEED_ACTIONS).toHaveLength(48);
    expect(ACTIONS.filter((a) => a.origin === 'seed')).toHaveLength(48);
  });

  it('has unique names (case-insensitively) and consistent indexes', () => {
    const names = ACTIONS.map((a) => a.name.toLowerCase());
    expect(new Set(names).size).toBe(names.length);
    ACTIONS.forEach((a, i) => expect(a.index).toBe(i));
    for (const a of ACTIONS) expect(a.name.startsWith('s3:')).toBe(true);
  });

  it.each(SEED_ACTIONS)('seed action %s resolves with its resource kind', (name) => {
    const info = lookupAction(name);
    expect(info).toBeDefined();
    expect(info!.origin).toBe('seed');
    const expected = name === 's3:ListAllMyBuckets' ? 'none' : OBJECT_ACTIONS.has(name) ? 'object' : 'bucket';
    expect(info!.resource).toBe(expected);
    expect(actionResourceKind(name)).toBe(expected);
  });

  it.each(TAGGING_ACTIONS)('tagging action %s resolves as an object action', (name) => {
    expect(lookupAction(name)?.origin).toBe('tagging');
    expect(actionResourceKind(name)).toBe('object');
  });

  it.each(ACTIONS.map((a) => a.name))('%s resolves in any case and is usable in a policy', (name) => {
    expect(lookupAction(name.toUpperCase())?.name).toBe(name);
    expect(lookupAction(name.toLowerCase())?.name).toBe(name);
    const kind = actionResourceKind(name)!;
    const resource = kind === 'object' ? `arn:aws:s3:::${BUCKET}/k` : `arn:aws:s3:::${BUCKET}`;
    const p = policy(stmt({ Action: name, Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`] }));
    expect(evaluatePolicy(p, ctx({ action: name, resource }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ action: name.toLowerCase(), resource }))).toBe('Allow');
  });

  it('spells GetBucketAcl the AWS way; the seed spelling GetBucketACL resolves to it', () => {
    expect(lookupAction('s3:GetBucketACL')?.name).toBe('s3:GetBucketAcl');
  });

  it.each([
    's3:DeleteBucketTagging', 's3:DeleteBucketCORS', 's3:DeleteLifecycleConfiguration',
    's3:PutObjectLockConfiguration', 's3:HeadObject', 's3:ListObjectsV2', 'iam:CreateUser',
  ])('%s is not an action', (name) => {
    expect(lookupAction(name)).toBeUndefined();
  });

  it('resourceArn builds bucket and object ARNs', () => {
    expect(resourceArn('b')).toBe('arn:aws:s3:::b');
    expect(resourceArn('b', 'a/b c')).toBe('arn:aws:s3:::b/a/b c');
    expect(resourceArn('b', '')).toBe('arn:aws:s3:::b/');
  });
});

describe('action patterns', () => {
  it.each([
    ['*', ACTIONS.length],
    ['s3:*', ACTIONS.length],
    ['S3:*', ACTIONS.length],
    ['s3:GetObject', 1],
    ['S3:GETOBJECT', 1],
    ['s3:Get*', ACTIONS.filter((a) => a.name.startsWith('s3:Get')).length],
    ['s3:*Tagging', ACTIONS.filter((a) => a.name.endsWith('Tagging')).length],
    ['s3:?etObject', 1],
    ['s3:List*', 5],
    ['s3:Put*Acl', 3],
  ] as const)('%s names %i actions', (pattern, count) => {
    expect(expandActionPattern(pattern)).toHaveLength(count);
  });

  it.each(['s3:Foo', 's3:GetObjectX', 's3:Get?', 'iam:*', 'sts:AssumeRole', 'GetObject', '', 's3:', 'ec2:*'])(
    'pattern %j names nothing and is refused',
    (pattern) => {
      expect(expandActionPattern(pattern)).toHaveLength(0);
      expectMalformed(doc(stmt({ Action: pattern })), 'Policy has invalid action');
    },
  );

  it('refuses a list when one pattern is invalid', () => {
    expectMalformed(doc(stmt({ Action: ['s3:GetObject', 's3:Nope'] })), 'Policy has invalid action');
  });

  it('a leading * is an ordinary wildcard, not "all actions" (Ceph tracker #81229)', () => {
    const names = expandActionPattern('*Object').map((a) => a.name);
    expect(names).toContain('s3:GetObject');
    expect(names).toContain('s3:PutObject');
    expect(names).not.toContain('s3:ListBucket');
    const p = policy(stmt({ Action: '*Object', Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`] }));
    expect(evaluatePolicy(p, ctx({ action: 's3:GetObject' }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ action: 's3:ListBucket', resource: `arn:aws:s3:::${BUCKET}` }))).toBe('Pass');
  });
});

describe('compileWildcard', () => {
  it.each([
    ['abc', 'abc', true], ['abc', 'abd', false], ['abc', 'ABC', false],
    ['a*', 'a', true], ['a*', 'abc/def', true], ['a*', 'ba', false],
    ['*c', 'abc', true], ['a*c', 'ac', true], ['a*c', 'abxc', true], ['a*c', 'abxd', false],
    ['a?c', 'abc', true], ['a?c', 'ac', false], ['a?c', 'abbc', false], ['a?c', 'a/c', true],
    ['a??', 'aé€', true], ['?', '😀', true],
    ['a.c', 'abc', false], ['a+c', 'a+c', true], ['(x)[y]{z}^$|\\', '(x)[y]{z}^$|\\', true],
    ['*/*', 'b/k', true], ['*/*', 'bk', false],
    ['a*', 'a\nb', true],
    ['${aws:username}/*', '${aws:username}/x', true], ['${aws:username}/*', 'alice/x', false],
  ] as const)('%j vs %j (case-sensitive) → %s', (pattern, input, expected) => {
    expect(compileWildcard(pattern, false)(input)).toBe(expected);
  });

  it.each([
    ['s3:GetObject', 's3:getobject', true], ['s3:get*', 'S3:GETOBJECT', true], ['S3:?ETOBJECT', 's3:getobject', true],
    ['s3:GetObject', 's3:GetObjectAcl', false],
  ] as const)('%j vs %j (ignore case) → %s', (pattern, input, expected) => {
    expect(compileWildcard(pattern, true)(input)).toBe(expected);
  });
});
