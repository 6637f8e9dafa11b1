// POST policy documents (parse and check) and the signature fields of upload forms (SigV4, SigV2).
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { S3Error } from '../../src/errors.ts';
import { authenticateForm } from '../../src/ops/post-object/form-auth.ts';
import { checkPostPolicy, parseExpiration, parsePostPolicy, type PostPolicy } from '../../src/ops/post-object/policy.ts';

const b64 = (doc: unknown) => Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)).toString('base64');
const future = '2099-01-01T00:00:00.000Z';

function thrown(fn: () => unknown): S3Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(S3Error);
    return e as S3Error;
  }
  throw new Error('did not throw');
}

describe('parseExpiration', () => {
  it('accepts ISO 8601 UTC with or without fractions', () => {
    expect(parseExpiration('2013-08-01T12:00:00Z')?.toISOString()).toBe('2013-08-01T12:00:00.000Z');
    expect(parseExpiration('2013-08-01T12:00:00.5Z')?.toISOString()).toBe('2013-08-01T12:00:00.500Z');
  });
  it('refuses other forms and impossible dates', () => {
    for (const s of ['2013-08-01 12:00:00.123456+00:00', '2013-08-01T12:00:00', '2013-08-01', '2013-02-30T00:00:00Z', 'tomorrow']) {
      expect(parseExpiration(s), s).toBeUndefined();
    }
  });
});

describe('parsePostPolicy', () => {
  it('reads every kind of condition, with case-insensitive operators and field names', () => {
    const p = parsePostPolicy(
      b64({
        expiration: future,
        conditions: [
          { bUcKeT: 'photos' },
          ['StArTs-WiTh', '$KeY', 'user/'],
          ['eq', '$acl', 'public-read'],
          ['content-length-range', 10, 1000],
          ['content-length-range', '20', 2000],
        ],
      }),
    );
    expect(p.expiration.toISOString()).toBe(future);
    expect(p.conditions.map((c) => [c.op, c.field, c.value])).toEqual([
      ['eq', 'bucket', 'photos'],
      ['starts-with', 'key', 'user/'],
      ['eq', 'acl', 'public-read'],
    ]);
    expect(p.contentLength).toEqual({ min: 20, max: 1000 });
  });

  it('tolerates line breaks in the base64 text', () => {
    const text = b64({ expiration: future, conditions: [] });
    expect(parsePostPolicy(text.slice(0, 10) + '\n' + text.slice(10)).conditions).toEqual([]);
  });

  const invalid: [string, unknown][] = [
    ['not base64', '%%%'],
    ['not JSON', 'not json'],
    ['not an object', [1, 2]],
    ['no expiration', { conditions: [] }],
    ['EXPIRATION is not expiration', { EXPIRATION: future, conditions: [] }],
    ['an expiration in another format', { expiration: '2099-01-01 00:00:00', conditions: [] }],
    ['no conditions', { expiration: future }],
    ['CONDITIONS is not conditions', { expiration: future, CONDITIONS: [] }],
    ['conditions not a list', { expiration: future, conditions: {} }],
    ['an empty condition object', { expiration: future, conditions: [{}] }],
    ['a condition with a non-string value', { expiration: future, conditions: [{ acl: ['x'] }] }],
    ['content-length-range with one bound', { expiration: future, conditions: [['content-length-range', 0]] }],
    ['content-length-range with a negative bound', { expiration: future, conditions: [['content-length-range', -1, 0]] }],
    ['content-length-range with a fraction', { expiration: future, conditions: [['content-length-range', 0, 512.5]] }],
    ['content-length-range with min > max', { expiration: future, conditions: [['content-length-range', 10, 5]] }],
    ['an unknown operator', { expiration: future, conditions: [['ends-with', '$key', 'x']] }],
    ['a field without $', { expiration: future, conditions: [['eq', 'key', 'x']] }],
    ['a condition of two elements', { expiration: future, conditions: [['eq', '$key']] }],
    ['a scalar condition', { expiration: future, conditions: ['key'] }],
  ];
  for (const [what, doc] of invalid) {
    it(`refuses ${what} with InvalidPolicyDocument`, () => {
      const err = thrown(() => parsePostPolicy(typeof doc === 'string' && what === 'not base64' ? doc : b64(doc)));
      expect(err.code).toBe('InvalidPolicyDocument');
      expect(err.status).toBe(400);
    });
  }
});

describe('checkPostPolicy', () => {
  const policy: PostPolicy = parsePostPolicy(
    b64({
      expiration: future,
      conditions: [{ bucket: 'photos' }, ['starts-with', '$key', 'user/'], ['starts-with', '$Content-Type', 'image/'], ['eq', '$x-amz-meta-tag', '']],
    }),
  );
  const now = new Date('2024-01-01T00:00:00Z');
  const exempt = (f: string) => f === 'policy' || f === 'x-amz-signature';
  const values = (extra: Record<string, string> = {}) =>
    new Map(Object.entries({ bucket: 'photos', key: 'user/a.jpg', 'content-type': 'image/png', policy: 'x', 'x-amz-signature': 's', ...extra }));

  it('passes a request that meets every condition (a missing field is the empty string)', () => {
    expect(() => checkPostPolicy(policy, { values: values(), exempt, now })).not.toThrow();
  });
  it('checks every value of a comma-separated Content-Type', () => {
    expect(() => checkPostPolicy(policy, { values: values({ 'content-type': 'image/png, image/gif' }), exempt, now })).not.toThrow();
    const err = thrown(() => checkPostPolicy(policy, { values: values({ 'content-type': 'image/png, text/html' }), exempt, now }));
    expect(err.message).toContain('Policy Condition failed: ["starts-with", "$Content-Type", "image/"]');
  });
  it('refuses a failed condition with AccessDenied', () => {
    const err = thrown(() => checkPostPolicy(policy, { values: values({ key: 'admin/a.jpg' }), exempt, now }));
    expect(err.code).toBe('AccessDenied');
    expect(err.message).toBe('Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/"]');
    expect(thrown(() => checkPostPolicy(policy, { values: values({ 'x-amz-meta-tag': 'x' }), exempt, now })).code).toBe('AccessDenied');
    expect(thrown(() => checkPostPolicy(policy, { values: values({ bucket: 'other' }), exempt, now })).message).toContain('["eq", "$bucket", "photos"]');
  });
  it('refuses fields that no condition names, except exempt and x-ignore-* ones', () => {
    const err = thrown(() => checkPostPolicy(policy, { values: values({ acl: 'public-read', 'x-amz-meta-other': '1' }), exempt, now }));
    expect(err.code).toBe('AccessDenied');
    expect(err.message).toBe('Invalid according to Policy: Extra input fields: acl, x-amz-meta-other');
    expect(() => checkPostPolicy(policy, { values: values({ 'x-ignore-note': 'x' }), exempt, now })).not.toThrow();
  });
  it('matches starts-with as a literal prefix: wildcard-looking prefixes against long values answer at once', () => {
    // A prefix is compared with startsWith, never compiled to a pattern, so '*a*a…*b' is literal text
    // and a value of 100,000 'a's (or 10,000 comma-separated Content-Types) costs one linear pass.
    const evil = '*a*a*a*a*a*a*a*a*a*a*a*a*b';
    const p = parsePostPolicy(b64({ expiration: future, conditions: [['starts-with', '$key', evil], ['starts-with', '$Content-Type', evil]] }));
    const form = (key: string, contentType: string) => ({ values: new Map([['key', key], ['content-type', contentType], ['policy', 'x'], ['x-amz-signature', 's']]), exempt, now });
    expect(thrown(() => checkPostPolicy(p, form('a'.repeat(100_000), evil))).code).toBe('AccessDenied');
    expect(thrown(() => checkPostPolicy(p, form(evil, Array(10_000).fill('a'.repeat(40)).join(',')))).code).toBe('AccessDenied');
    expect(() => checkPostPolicy(p, form(evil + 'x', `${evil}1,${evil}2`))).not.toThrow();
  }, 10_000);
  it('refuses an expired policy', () => {
    const err = thrown(() => checkPostPolicy(policy, { values: values(), exempt, now: new Date('2099-01-01T00:00:00Z') }));
    expect(err.code).toBe('AccessDenied');
    expect(err.message).toBe('Invalid according to Policy: Policy expired.');
  });
});

describe('authenticateForm', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const principal = { org: 'acme', user: 'u', level: 'full' as const, accessKey: 'AKIAIOSFODNN7EXAMPLE' };
  const credentialsFor = (ak: string) => (ak === principal.accessKey ? { secret, principal } : undefined);
  const opts = { credentialsFor, acceptedRegions: ['us-east-1', 'default'] };
  const policy = b64({ expiration: future, conditions: [] });

  function v4Signature(date: string, region: string, text: string): string {
    let key: Buffer = createHmac('sha256', 'AWS4' + secret).update(date).digest();
    for (const part of [region, 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
    return createHmac('sha256', key).update(text).digest('hex');
  }
  const v4 = (overrides: Record<string, string | undefined> = {}) => {
    const fields: Record<string, string | undefined> = {
      policy,
      'x-amz-algorithm': 'AWS4-HMAC-SHA256',
      'x-amz-credential': `${principal.accessKey}/20240101/us-east-1/s3/aws4_request`,
      'x-amz-date': '20240101T000000Z',
      'x-amz-signature': v4Signature('20240101', 'us-east-1', policy),
      ...overrides,
    };
    return new Map(Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined));
  };

  it('is anonymous without a policy', () => {
    expect(authenticateForm(new Map([['key', 'k']]), opts)).toEqual({ kind: 'anonymous' });
  });
  it('refuses signature fields without a policy', () => {
    const err = thrown(() => authenticateForm(new Map([['awsaccesskeyid', 'x'], ['signature', 'y']]), opts));
    expect(err.code).toBe('InvalidArgument');
    expect(err.details.ArgumentName).toBe('policy');
  });
  it('verifies a SigV4 form', () => {
    expect(authenticateForm(v4(), opts)).toEqual({ kind: 'signed', version: 4, principal, policy });
  });
  it('refuses a wrong SigV4 signature, an unknown key, a missing field, a foreign region', () => {
    expect(thrown(() => authenticateForm(v4({ 'x-amz-signature': v4Signature('20240102', 'us-east-1', policy) }), opts)).code).toBe('SignatureDoesNotMatch');
    expect(thrown(() => authenticateForm(v4({ 'x-amz-credential': 'NOPE/20240101/us-east-1/s3/aws4_request' }), opts)).code).toBe('InvalidAccessKeyId');
    expect(thrown(() => authenticateForm(v4({ 'x-amz-date': undefined }), opts)).details.ArgumentName).toBe('x-amz-date');
    expect(thrown(() => authenticateForm(v4({ 'x-amz-signature': undefined }), opts)).details.ArgumentName).toBe('x-amz-signature');
    expect(thrown(() => authenticateForm(v4({ 'x-amz-credential': `${principal.accessKey}/20240101/eu-west-9/s3/aws4_request` }), opts)).code).toBe('InvalidArgument');
    expect(thrown(() => authenticateForm(v4({ 'x-amz-algorithm': 'AWS4-ECDSA-P256-SHA256' }), opts)).details.ArgumentName).toBe('x-amz-algorithm');
  });
  it('verifies a SigV2 form and refuses a wrong one', () => {
    const signature = createHmac('sha1', secret).update(policy).digest('base64');
    const fields = new Map([['policy', policy], ['awsaccesskeyid', principal.accessKey], ['signature', signature]]);
    expect(authenticateForm(fields, opts)).toEqual({ kind: 'signed', version: 2, principal, policy });
    const reversed = new Map(fields).set('signature', [...signature].reverse().join(''));
    expect(thrown(() => authenticateForm(reversed, opts)).code).toBe('SignatureDoesNotMatch');
    const other = new Map(fields).set('signature', createHash('sha1').update('x').digest('base64'));
    expect(thrown(() => authenticateForm(other, opts)).code).toBe('SignatureDoesNotMatch');
    expect(thrown(() => authenticateForm(new Map(fields).set('awsaccesskeyid', 'NOPE'), opts)).code).toBe('InvalidAccessKeyId');
    const noSignature = new Map(fields);
    noSignature.delete('signature');
    expect(thrown(() => authenticateForm(noSignature, opts)).details.ArgumentName).toBe('signature');
  });
});
