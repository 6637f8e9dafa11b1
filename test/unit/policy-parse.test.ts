import { describe, expect, it } from 'vitest';
import { parsePolicy, MAX_POLICY_BYTES } from '../../src/policy/parse.ts';
import { evaluatePolicy } from '../../src/policy/evaluate.ts';
import {
  BUCKET, BUCKET_ARN, anonymous, ctx, doc, expectMalformed, expectS3Error, policy, stmt, user,
} from './policy-helpers.ts';

const JSON_FIRST_BYTE = "Policies must be valid JSON and the first byte must be '{'";

describe('document', () => {
  it.each([
    ['empty body', ''],
    ['whitespace', '   '],
    ['plain text', 'invalid json'],
    ['a JSON array', '[{"Statement": []}]'],
    ['a JSON string', '"{}"'],
    ['a number', '42'],
    ['null', 'null'],
  ])('refuses %s: first byte must be {', (_name, text) => {
    expectMalformed(text, JSON_FIRST_BYTE);
  });

  it.each([
    ['truncated', '{"Version": "2012-10-17", "Statement": ['],
    ['trailing comma', '{"Statement": [{}],}'],
    ['comments (AWS has none; Ceph allows them)', '{ /* c */ "Statement": [] }'],
    ['single quotes', "{'Statement': []}"],
  ])('refuses invalid JSON that starts with {: %s', (_name, text) => {
    expectMalformed(text, 'This policy contains invalid Json');
  });

  it('accepts leading whitespace and a UTF-8 BOM', () => {
    expect(parsePolicy(`\n  ${doc(stmt())}`, { bucket: BUCKET }).statements).toHaveLength(1);
    expect(parsePolicy(`\uFEFF${doc(stmt())}`, { bucket: BUCKET }).statements).toHaveLength(1);
  });

  it('refuses an unknown top-level field, naming it', () => {
    expectMalformed(doc(stmt(), { Foo: 1 }), 'Unknown field Foo');
    expectMalformed(doc(stmt(), { statement: [] }), 'Unknown field statement');
  });

  it.each(['2012-10-17', '2008-10-17'])('accepts Version %s', (v) => {
    expect(parsePolicy(doc(stmt(), { Version: v }), { bucket: BUCKET }).version).toBe(v);
  });

  it('accepts a missing Version', () => {
    const p = parsePolicy(JSON.stringify({ Statement: [stmt()] }), { bucket: BUCKET });
    expect(p.version).toBeUndefined();
  });

  it.each(['2012-10-18', '2012-10-17 ', '', 'latest', 20121017, null])('refuses Version %j', (v) => {
    expectMalformed(doc(stmt(), { Version: v }), 'The policy must contain a valid version string');
  });

  it('keeps Id; refuses a non-string Id', () => {
    expect(policy(stmt(), { Id: 'abc' }).id).toBe('abc');
    expectMalformed(doc(stmt(), { Id: 5 }), 'Invalid policy syntax.');
  });

  it('refuses a missing Statement', () => {
    expectMalformed('{}', 'Missing required field Statement');
    expectMalformed('{"Version": "2012-10-17"}', 'Missing required field Statement');
    expectMalformed('{"Statement": null}', 'Missing required field Statement');
  });

  it('refuses an empty Statement list', () => {
    expectMalformed('{"Statement": []}', 'Could not parse the policy: Statement is empty!');
  });

  it('accepts a single statement object instead of a list', () => {
    const p = parsePolicy(JSON.stringify({ Statement: stmt() }), { bucket: BUCKET });
    expect(p.statements).toHaveLength(1);
  });

  it.each([['a string', 'x'], ['a number', 1], ['null', null], ['an array', []]])(
    'refuses a statement that is %s',
    (_n, s) => {
      expectMalformed(JSON.stringify({ Statement: [s] }), 'Invalid policy syntax.');
    },
  );
});

describe('size limit', () => {
  function padded(totalBytes: number, indent: boolean): string {
    // Grow the Sid until the document has the wanted size.
    const base = indent ? JSON.stringify({ Statement: [stmt({ Sid: '' })] }, null, 2) : doc(stmt({ Sid: '' }));
    return base.replace('"Sid": ""', `"Sid": "${'x'.repeat(totalBytes - base.length)}"`)
      .replace('"Sid":""', `"Sid":"${'x'.repeat(totalBytes - base.length)}"`);
  }

  it('accepts exactly 20480 bytes', () => {
    const text = padded(MAX_POLICY_BYTES, false);
    expect(Buffer.byteLength(text)).toBe(MAX_POLICY_BYTES);
    expect(parsePolicy(text, { bucket: BUCKET }).statements).toHaveLength(1);
  });

  it('refuses 20481 bytes with PolicyTooLarge', () => {
    const text = padded(MAX_POLICY_BYTES + 1, false);
    expect(Buffer.byteLength(text)).toBe(MAX_POLICY_BYTES + 1);
    expectS3Error(() => parsePolicy(text, { bucket: BUCKET }), 'PolicyTooLarge');
  });

  it('counts bytes, not characters', () => {
    const base = doc(stmt({ Sid: '' }));
    const chars = Math.ceil((MAX_POLICY_BYTES - base.length + 1) / 3);
    const text = base.replace('"Sid":""', `"Sid":"${'€'.repeat(chars)}"`); // 3 bytes each
    expect(text.length).toBeLessThan(MAX_POLICY_BYTES);
    expectS3Error(() => parsePolicy(text, { bucket: BUCKET }), 'PolicyTooLarge');
  });

  it('measures the normalised document, like AWS: indentation does not count', () => {
    const statements = Array.from({ length: 60 }, (_, i) => stmt({ Sid: `s${i}`, Action: ['s3:GetObject', 's3:PutObject'] }));
    const compact = doc(statements);
    expect(Buffer.byteLength(compact)).toBeLessThan(MAX_POLICY_BYTES);
    const pretty = JSON.stringify(JSON.parse(compact), null, 8);
    expect(Buffer.byteLength(pretty)).toBeGreaterThan(MAX_POLICY_BYTES);
    expect(parsePolicy(pretty, { bucket: BUCKET }).statements).toHaveLength(60);
  });

  it('refuses a huge body without parsing it', () => {
    expectS3Error(() => parsePolicy(`{"x":"${'a'.repeat(2 * 1024 * 1024)}"}`, { bucket: BUCKET }), 'PolicyTooLarge');
  });
});

describe('statement fields', () => {
  it('refuses an unknown statement field, naming it', () => {
    expectMalformed(doc(stmt({ Resources: 'x' })), 'Unknown field Resources');
    expectMalformed(doc(stmt({ effect: 'Allow' })), 'Unknown field effect');
  });

  it('accepts a string Sid (spaces allowed); refuses other types', () => {
    expect(policy(stmt({ Sid: 'Public read access' })).statements[0]!.sid).toBe('Public read access');
    expectMalformed(doc(stmt({ Sid: 7 })), 'Invalid policy syntax.');
  });

  it('refuses a missing Effect', () => {
    const s = stmt();
    delete s.Effect;
    expectMalformed(doc(s), 'Missing required field Effect');
  });

  it.each(['allow', 'DENY', 'hello', ''])('refuses Effect %j (case-sensitive)', (e) => {
    expectMalformed(doc(stmt({ Effect: e })), `Invalid effect: ${e}`);
  });

  it('refuses a missing Principal (AWS; Ceph accepts it and never matches)', () => {
    const s = stmt();
    delete s.Principal;
    expectMalformed(doc(s), 'Missing required field Principal');
  });

  it('refuses Principal together with NotPrincipal', () => {
    expectMalformed(doc(stmt({ Effect: 'Deny', NotPrincipal: { AWS: 'acme' } })), /both Principal and NotPrincipal/);
  });

  it('refuses NotPrincipal with Allow (AWS; ceph/s3-tests test_bucket_policy_allow_notprincipal)', () => {
    const s = stmt({ NotPrincipal: { AWS: 'acme' } });
    delete s.Principal;
    expectMalformed(doc(s), /NotPrincipal is only supported with "Effect": "Deny"/);
  });

  it('refuses a missing Action', () => {
    const s = stmt();
    delete s.Action;
    expectMalformed(doc(s), 'Missing required field Action');
  });

  it('refuses Action together with NotAction', () => {
    expectMalformed(doc(stmt({ NotAction: 's3:PutObject' })), /both Action and NotAction/);
  });

  it.each([[null], [5], [[]], [[5]], [{ a: 1 }]])('refuses Action %j as invalid syntax', (a) => {
    expectMalformed(doc(stmt({ Action: a })), 'Invalid policy syntax.');
  });

  it('refuses a missing Resource', () => {
    const s = stmt();
    delete s.Resource;
    expectMalformed(doc(s), 'Missing required field Resource');
  });

  it('refuses Resource together with NotResource', () => {
    expectMalformed(doc(stmt({ NotResource: `${BUCKET_ARN}/x` })), /both Resource and NotResource/);
  });
});

describe('resources', () => {
  it.each([
    BUCKET_ARN, `${BUCKET_ARN}/*`, `${BUCKET_ARN}/prefix*`, `${BUCKET_ARN}/a/b/c.txt`, `${BUCKET_ARN}/`,
    `${BUCKET_ARN}*`, 'arn:aws:s3:::happy*', 'arn:aws:s3:::h?ppybucket/*', 'arn:aws:s3:::*', 'arn:aws:s3:::*/*',
    `${BUCKET_ARN}/\${aws:username}/*`,
  ])('accepts %s', (r) => {
    expect(policy(stmt({ Resource: r })).statements[0]!.resourcePatterns).toEqual([r]);
  });

  it.each([
    ['a bare *', '*'],
    ['a non-ARN', 'happybucket/*'],
    ['another service', 'arn:aws:iam:::happybucket'],
    ['another partition', 'arn:aws-cn:s3:::happybucket'],
    ['a region', 'arn:aws:s3:us-east-1::happybucket'],
    ['an account', 'arn:aws:s3::123456789012:happybucket'],
    ['an empty resource', 'arn:aws:s3:::'],
    ['an empty bucket part', 'arn:aws:s3:::/key'],
    ['upper-case prefix', 'ARN:AWS:S3:::happybucket'],
    ['wrong bucket', 'arn:aws:s3:::otherbucket/*'],
    ['wrong bucket (bucket ARN)', 'arn:aws:s3:::otherbucket'],
    ['bucket name prefix only', 'arn:aws:s3:::happy/*'],
    ['bucket name case', 'arn:aws:s3:::HappyBucket/*'],
    ['wildcard not matching the bucket', 'arn:aws:s3:::sad*'],
    ['a number', 5],
    ['an empty list', []],
  ])('refuses %s', (_n, r) => {
    expectMalformed(doc(stmt({ Resource: r })), 'Policy has invalid resource');
  });

  it('refuses a list with one wrong bucket', () => {
    expectMalformed(doc(stmt({ Resource: [`${BUCKET_ARN}/*`, 'arn:aws:s3:::other/*'] })), 'Policy has invalid resource');
  });

  it('checks NotResource the same way', () => {
    const s = stmt({ NotResource: 'arn:aws:s3:::other/*' });
    delete s.Resource;
    expectMalformed(doc(s), 'Policy has invalid resource');
  });

  it('validates against the bucket given in opts', () => {
    const text = doc(stmt({ Resource: 'arn:aws:s3:::b2/*' }));
    expect(parsePolicy(text, { bucket: 'b2' }).bucket).toBe('b2');
    expectMalformed(text, 'Policy has invalid resource', 'b3');
  });
});

describe('principals', () => {
  type Case = [string, unknown, { anon: boolean; acmeAlice: boolean; acmeBob: boolean; otherAlice: boolean }];
  const cases: Case[] = [
    ['"*"', '*', { anon: true, acmeAlice: true, acmeBob: true, otherAlice: true }],
    ['{"AWS":"*"}', { AWS: '*' }, { anon: true, acmeAlice: true, acmeBob: true, otherAlice: true }],
    ['{"AWS":["*"]}', { AWS: ['*'] }, { anon: true, acmeAlice: true, acmeBob: true, otherAlice: true }],
    ['org root ARN', { AWS: 'arn:aws:iam::acme:root' }, { anon: false, acmeAlice: true, acmeBob: true, otherAlice: false }],
    ['bare org id', { AWS: 'acme' }, { anon: false, acmeAlice: true, acmeBob: true, otherAlice: false }],
    ['numeric account id', { AWS: '123456789012' }, { anon: false, acmeAlice: false, acmeBob: false, otherAlice: false }],
    ['user ARN', { AWS: 'arn:aws:iam::acme:user/alice' }, { anon: false, acmeAlice: true, acmeBob: false, otherAlice: false }],
    ['user ARN, uid:subuser form', { AWS: 'arn:aws:iam::acme:user/acme:alice' }, { anon: false, acmeAlice: true, acmeBob: false, otherAlice: false }],
    ['Ceph tenant-less subuser', { AWS: 'arn:aws:iam:::user/acme:alice' }, { anon: false, acmeAlice: true, acmeBob: false, otherAlice: false }],
    ['Ceph tenant-less uid (whole org)', { AWS: 'arn:aws:iam:::user/acme' }, { anon: false, acmeAlice: true, acmeBob: true, otherAlice: false }],
    ['Ceph uid:* (whole org)', { AWS: 'arn:aws:iam:::user/acme:*' }, { anon: false, acmeAlice: true, acmeBob: true, otherAlice: false }],
    ['list', { AWS: ['arn:aws:iam::acme:user/bob', 'other'] }, { anon: false, acmeAlice: false, acmeBob: true, otherAlice: true }],
  ];

  it.each(cases)('%s', (_n, principal, want) => {
    const p = policy(stmt({ Principal: principal }));
    const decide = (who: Parameters<typeof user>) => evaluatePolicy(p, ctx({ principal: user(...who) }));
    expect(evaluatePolicy(p, ctx({ principal: anonymous }))).toBe(want.anon ? 'Allow' : 'Pass');
    expect(decide(['acme', 'alice'])).toBe(want.acmeAlice ? 'Allow' : 'Pass');
    expect(decide(['acme', 'bob'])).toBe(want.acmeBob ? 'Allow' : 'Pass');
    expect(decide(['other', 'alice'])).toBe(want.otherAlice ? 'Allow' : 'Pass');
  });

  it.each([
    ['CanonicalUser', { CanonicalUser: '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be' }],
    ['a Service with a wildcard', { Service: 'logging.*' }],
    ['Federated', { Federated: 'cognito-identity.amazonaws.com' }],
    ['lower-case aws', { aws: '*' }],
    ['empty map', {}],
    ['empty list', { AWS: [] }],
    ['non-string', { AWS: 5 }],
    ['a bare ARN string', 'arn:aws:iam::acme:root'],
    ['a bare org string', 'acme'],
    ['empty string', ''],
    ['a number', 3],
    ['a list', ['*']],
    ['role ARN', { AWS: 'arn:aws:iam::acme:role/admin' }],
    ['assumed role', { AWS: 'arn:aws:sts::acme:assumed-role/r/s' }],
    ['partial wildcard in ARN', { AWS: 'arn:aws:iam::acme:user/*' }],
    ['wildcard account', { AWS: 'arn:aws:iam::*:root' }],
    ['empty account root', { AWS: 'arn:aws:iam:::root' }],
    ['mismatched uid in user ARN', { AWS: 'arn:aws:iam::acme:user/other:alice' }],
    ['user path', { AWS: 'arn:aws:iam::acme:user/path/alice' }],
    ['org with a slash', { AWS: 'acme/alice' }],
    ['org:user without ARN', { AWS: 'acme:alice' }],
    ['partial wildcard org', { AWS: 'ac*' }],
    ['CanonicalUser next to AWS', { AWS: '*', CanonicalUser: 'abc' }],
  ])('refuses %s', (_n, principal) => {
    expectMalformed(doc(stmt({ Principal: principal })), 'Invalid principal in policy');
  });
});

describe('conditions (parse errors)', () => {
  it.each([
    'StringEqual', 'stringequals', 'STRINGEQUALS', 'StringEqualsIfexists', 'ForAnyValue:NumericEquals',
    'ForAllValues:Bool', 'ForAnyValue:IpAddress', 'NullIfExists', 'ForAnyValue:Null', 'foranyvalue:StringEquals',
    'ForAnyValue:', 'IfExists', 'arnlike', 'ArnLikeIfexists', 'StringEqualsIfExistsIfExists',
  ])('refuses operator %s', (op) => {
    expectMalformed(doc(stmt({ Condition: { [op]: { 'aws:Referer': 'x' } } })), `Invalid Condition type : ${op}`);
  });

  it.each([
    'aws:SourceVpc', 'aws:PrincipalArn', 's3:VersionStatus', 's3:signatureversion', 'aws:SourceIpX', 'SourceIp',
    's3:RequestObjectTag/', 's3:ExistingObjectTag/', `s3:ExistingObjectTag/${'k'.repeat(129)}`, 's3:RequestObjectTags/a',
  ])('refuses condition key %s', (key) => {
    expectMalformed(doc(stmt({ Condition: { StringEquals: { [key]: 'x' } } })), 'Policy has an invalid condition key');
  });

  it.each([
    ['IpAddress', 'aws:SourceIp', '10.0.0.300/8', /Invalid IP address in Conditions/],
    ['IpAddress', 'aws:SourceIp', '10.0.0.0/33', /Invalid IP address in Conditions/],
    ['NotIpAddress', 'aws:SourceIp', 'not-an-ip', /Invalid IP address in Conditions/],
    ['IpAddress', 'aws:SourceIp', '2001:db8::/129', /Invalid IP address in Conditions/],
    ['IpAddress', 'aws:SourceIp', '2001:db8:::1', /Invalid IP address in Conditions/],
    ['IpAddress', 'aws:SourceIp', 'fe80::1%eth0', /Invalid IP address in Conditions/],
    ['DateLessThan', 'aws:CurrentTime', '2024-13-01', /Invalid date in Conditions/],
    ['DateLessThan', 'aws:CurrentTime', '2023-02-29T00:00:00Z', /Invalid date in Conditions/],
    ['DateGreaterThan', 'aws:CurrentTime', 'yesterday', /Invalid date in Conditions/],
    ['DateEquals', 'aws:EpochTime', '', /Invalid date in Conditions/],
    ['NumericLessThan', 's3:max-keys', 'ten', /Invalid number in Conditions/],
    ['NumericEquals', 's3:max-keys', '0x10', /Invalid number in Conditions/],
    ['NumericEquals', 's3:max-keys', '', /Invalid number in Conditions/],
    ['Bool', 'aws:SecureTransport', 'yes', /Invalid boolean in Conditions/],
    ['Bool', 'aws:SecureTransport', '1', /Invalid boolean in Conditions/],
    ['Null', 's3:x-amz-acl', 'maybe', /Invalid boolean in Conditions/],
    ['BinaryEquals', 'aws:Referer', 'not base64!', /Invalid base64/],
  ])('refuses %s %s %j', (op, key, value, message) => {
    expectMalformed(doc(stmt({ Condition: { [op]: { [key]: value } } })), message);
  });

  it.each([
    ['a string block', { Condition: 'x' }],
    ['an array block', { Condition: [] }],
    ['a string operator body', { Condition: { StringEquals: 'x' } }],
    ['a null operator body', { Condition: { StringEquals: null } }],
  ])('refuses %s as invalid syntax', (_n, extra) => {
    expectMalformed(doc(stmt(extra)), 'Invalid policy syntax.');
  });

  it.each([
    ['null value', null], ['object value', { a: 1 }], ['nested list', [['a']]], ['empty list', []],
  ])('refuses a condition with %s', (_n, value) => {
    expectMalformed(doc(stmt({ Condition: { StringEquals: { 'aws:Referer': value } } })), /Condition|condition/);
  });

  it('accepts numbers and booleans unquoted (IAM: quotes optional)', () => {
    const p = policy(stmt({ Condition: { NumericLessThan: { 's3:max-keys': 100 }, Bool: { 'aws:SecureTransport': true } } }));
    expect(p.statements[0]!.conditions).toHaveLength(2);
  });

  it('accepts an empty Condition block and an empty operator body', () => {
    expect(policy(stmt({ Condition: {} })).statements[0]!.conditions).toHaveLength(0);
    expect(policy(stmt({ Condition: { StringEquals: {} } })).statements[0]!.conditions).toHaveLength(0);
  });

  it('reports a bad operator before a bad key', () => {
    expectMalformed(doc(stmt({ Condition: { Nope: { 'bad:key': 'x' } } })), 'Invalid Condition type : Nope');
  });
});

describe('parsed policy summary', () => {
  it('collects normalised condition keys and notices ExistingObjectTag', () => {
    const p = policy([
      stmt({ Condition: { StringEquals: { 'AWS:SourceIP': '1.2.3.4', 's3:ExistingObjectTag/Team': 'a' } } }),
      stmt({ Condition: { Bool: { 'aws:securetransport': 'true' } } }),
    ]);
    expect([...p.conditionKeys].sort()).toEqual(['aws:securetransport', 'aws:sourceip', 's3:existingobjecttag/Team']);
    expect(p.mentionsExistingObjectTags).toBe(true);
    expect(policy(stmt({ Condition: { StringEquals: { 's3:RequestObjectTag/x': 'a' } } })).mentionsExistingObjectTags).toBe(false);
  });

  it('is frozen', () => {
    const p = policy(stmt());
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.statements)).toBe(true);
  });
});
