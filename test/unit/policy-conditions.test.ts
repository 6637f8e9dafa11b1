import { describe, expect, it } from 'vitest';
import {
  CK, CONDITION_KEYS, CONDITION_OPERATORS, compileCondition, conditionKey, conditionValues, existingObjectTagKey,
  normalizeConditionKey, parseOperator, requestObjectTagKey,
} from '../../src/policy/conditions.ts';
import { evaluatePolicy } from '../../src/policy/evaluate.ts';
import { canonicalBase64, cidrContains, parseCidr, parseDate, parseIp, parseNumber } from '../../src/policy/values.ts';
import { ctx, policy, stmt } from './policy-helpers.ts';

/** Evaluate one condition: request values (undefined = key missing). */
function holds(op: string, key: string, policyValue: unknown, request: string[] | string | undefined): boolean {
  const c = compileCondition(op, key, policyValue);
  const vals = request === undefined ? undefined : Array.isArray(request) ? request : [request];
  return c.test(vals);
}

type Row = [op: string, key: string, policyValue: unknown, match: string, nonMatch: string, missing: boolean];

// Every base operator: one matching value, one non-matching value, and the result for a missing key.
const OPERATOR_TABLE: Row[] = [
  ['StringEquals', 'aws:UserAgent', 'curl/8.0', 'curl/8.0', 'Curl/8.0', false],
  ['StringNotEquals', 'aws:UserAgent', 'curl/8.0', 'wget', 'curl/8.0', true],
  ['StringEqualsIgnoreCase', 'aws:UserAgent', 'CURL/8.0', 'curl/8.0', 'wget', false],
  ['StringNotEqualsIgnoreCase', 'aws:UserAgent', 'CURL/8.0', 'wget', 'curl/8.0', true],
  ['StringLike', 'aws:UserAgent', 'curl/*', 'curl/8.0', 'Curl/8.0', false],
  ['StringNotLike', 'aws:UserAgent', 'curl/*', 'wget/1', 'curl/8.0', true],
  ['NumericEquals', 's3:max-keys', '100', '100', '101', false],
  ['NumericNotEquals', 's3:max-keys', '100', '101', '100.0', true],
  ['NumericLessThan', 's3:max-keys', '100', '99', '100', false],
  ['NumericLessThanEquals', 's3:max-keys', '100', '100', '100.5', false],
  ['NumericGreaterThan', 's3:max-keys', '100', '1e3', '100', false],
  ['NumericGreaterThanEquals', 's3:max-keys', '100', '100', '99.99', false],
  ['DateEquals', 'aws:CurrentTime', '2025-06-01T12:00:00Z', '2025-06-01T12:00:00.000Z', '2025-06-01T12:00:01Z', false],
  ['DateNotEquals', 'aws:CurrentTime', '2025-06-01T12:00:00Z', '2025-06-01T12:00:01Z', '2025-06-01T14:00:00+02:00', true],
  ['DateLessThan', 'aws:CurrentTime', '2025-06-01T12:00:00Z', '2025-06-01T11:59:59Z', '2025-06-01T12:00:00Z', false],
  ['DateLessThanEquals', 'aws:CurrentTime', '2025-06-01T12:00:00Z', '2025-06-01T12:00:00Z', '2025-06-01T12:00:00.001Z', false],
  ['DateGreaterThan', 'aws:CurrentTime', '2025-06-01T12:00:00Z', '2025-06-02', '2025-06-01T12:00:00Z', false],
  ['DateGreaterThanEquals', 'aws:EpochTime', '1748779200', '1748779200', '1748779199', false],
  ['Bool', 'aws:SecureTransport', 'true', 'TRUE', 'false', false],
  ['BinaryEquals', 'aws:UserAgent', 'aGVsbG8=', 'aGVsbG8=', 'aGVsbG9v', false],
  ['IpAddress', 'aws:SourceIp', '203.0.113.0/24', '203.0.113.77', '203.0.114.1', false],
  ['NotIpAddress', 'aws:SourceIp', '203.0.113.0/24', '198.51.100.1', '203.0.113.1', true],
  ['ArnEquals', 'aws:SourceArn', 'arn:aws:s3:::logged', 'arn:aws:s3:::logged', 'arn:aws:s3:::Logged', false],
  ['ArnLike', 'aws:SourceArn', 'arn:aws:s3:::log*', 'arn:aws:s3:::logged', 'arn:aws:s3:::other', false],
  ['ArnNotEquals', 'aws:SourceArn', 'arn:aws:s3:::logged', 'arn:aws:s3:::other', 'arn:aws:s3:::logged', true],
  ['ArnNotLike', 'aws:SourceArn', 'arn:aws:s3:::log*', 'arn:aws:s3:::other', 'arn:aws:s3:::logged', true],
];

describe('every operator: match, non-match, missing key', () => {
  it('the table covers every base operator except Null', () => {
    expect(new Set(OPERATOR_TABLE.map((r) => r[0]))).toEqual(new Set(CONDITION_OPERATORS.filter((o) => o !== 'Null')));
  });

  describe.each(OPERATOR_TABLE)('%s %s %j', (op, key, pv, match, nonMatch, missing) => {
    it(`matches ${match}`, () => expect(holds(op, key, pv, match)).toBe(true));
    it(`does not match ${nonMatch}`, () => expect(holds(op, key, pv, nonMatch)).toBe(false));
    it(`missing key → ${missing} (AWS: negated operators are true on a missing key)`, () => {
      expect(holds(op, key, pv, undefined)).toBe(missing);
      expect(holds(op, key, pv, [])).toBe(missing);
    });
    it('IfExists: missing key → true, otherwise the base operator', () => {
      expect(holds(`${op}IfExists`, key, pv, undefined)).toBe(true);
      expect(holds(`${op}IfExists`, key, pv, match)).toBe(true);
      expect(holds(`${op}IfExists`, key, pv, nonMatch)).toBe(false);
    });
  });

  describe('Null honours its value (AWS; Ceph only tests absence)', () => {
    it.each([
      ['true', undefined, true], ['true', 'x', false],
      ['false', undefined, false], ['false', 'x', true],
      [true, undefined, true], [false, 'x', true], ['TRUE', undefined, true],
      [['true', 'false'], undefined, true], [['true', 'false'], 'x', true],
    ] as const)('Null %j with value %j → %s', (pv, req, want) => {
      expect(holds('Null', 's3:x-amz-acl', pv, req)).toBe(want);
    });
    it('an empty value list counts as missing', () => {
      expect(holds('Null', 's3:x-amz-acl', 'true', [])).toBe(true);
    });
  });
});

describe('several values', () => {
  it('values under one key are ORed for positive operators', () => {
    expect(holds('StringEquals', 'aws:Referer', ['a', 'b'], 'b')).toBe(true);
    expect(holds('StringLike', 'aws:Referer', ['x*', 'b?'], 'bb')).toBe(true);
    expect(holds('NumericEquals', 's3:max-keys', ['1', '2'], '2')).toBe(true);
    expect(holds('IpAddress', 'aws:SourceIp', ['10.0.0.0/8', '192.168.0.0/16'], '192.168.4.4')).toBe(true);
    expect(holds('DateEquals', 'aws:EpochTime', ['1', '2'], '2')).toBe(true);
    expect(holds('StringEquals', 'aws:Referer', ['a', 'b'], 'c')).toBe(false);
  });

  it('negated operators over a value list are true only if the value matches none (AWS; Ceph ORs)', () => {
    expect(holds('StringNotEquals', 'aws:Referer', ['A', 'B'], 'A')).toBe(false);
    expect(holds('StringNotEquals', 'aws:Referer', ['A', 'B'], 'B')).toBe(false);
    expect(holds('StringNotEquals', 'aws:Referer', ['A', 'B'], 'C')).toBe(true);
    expect(holds('StringNotLike', 'aws:Referer', ['a*', 'b*'], 'bz')).toBe(false);
    expect(holds('StringNotEqualsIgnoreCase', 'aws:Referer', ['a', 'b'], 'B')).toBe(false);
    expect(holds('NumericNotEquals', 's3:max-keys', ['1', '2'], '1')).toBe(false);
    expect(holds('NumericNotEquals', 's3:max-keys', ['1', '2'], '3')).toBe(true);
    expect(holds('DateNotEquals', 'aws:EpochTime', ['1', '2'], '2')).toBe(false);
    expect(holds('NotIpAddress', 'aws:SourceIp', ['10.0.0.0/8', '192.168.0.0/16'], '10.1.1.1')).toBe(false);
    expect(holds('NotIpAddress', 'aws:SourceIp', ['10.0.0.0/8', '192.168.0.0/16'], '11.1.1.1')).toBe(true);
  });

  it('several keys and several operators are ANDed', () => {
    const p = policy(stmt({
      Condition: {
        StringEquals: { 'aws:Referer': 'r', 'aws:UserAgent': 'ua' },
        Bool: { 'aws:SecureTransport': 'true' },
      },
    }));
    const all = { 'aws:Referer': 'r', 'aws:UserAgent': 'ua', 'aws:SecureTransport': 'true' };
    expect(evaluatePolicy(p, ctx({ cond: all }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ cond: { ...all, 'aws:Referer': 'x' } }))).toBe('Pass');
    expect(evaluatePolicy(p, ctx({ cond: { ...all, 'aws:UserAgent': undefined } }))).toBe('Pass');
    expect(evaluatePolicy(p, ctx({ cond: { ...all, 'aws:SecureTransport': 'false' } }))).toBe('Pass');
  });
});

describe('set operators', () => {
  const key = 's3:RequestObjectTagKeys';
  it.each([
    // op, policy values, request values (undefined = missing), expected
    ['ForAllValues:StringEquals', ['a', 'b'], ['a'], true],
    ['ForAllValues:StringEquals', ['a', 'b'], ['a', 'b'], true],
    ['ForAllValues:StringEquals', ['a', 'b'], ['a', 'c'], false],
    ['ForAllValues:StringEquals', ['a', 'b'], undefined, true],
    ['ForAllValues:StringEquals', ['a', 'b'], [], true],
    ['ForAnyValue:StringEquals', ['a', 'b'], ['c', 'b'], true],
    ['ForAnyValue:StringEquals', ['a', 'b'], ['c', 'd'], false],
    ['ForAnyValue:StringEquals', ['a', 'b'], undefined, false],
    ['ForAnyValue:StringEquals', ['a', 'b'], [], false],
    ['ForAnyValue:StringEqualsIfExists', ['a'], undefined, true],
    ['ForAllValues:StringEqualsIfExists', ['a'], undefined, true],
    ['ForAllValues:StringLike', ['team*', 'project'], ['team-a', 'project'], true],
    ['ForAllValues:StringLike', ['team*'], ['team-a', 'x'], false],
    ['ForAnyValue:StringLike', ['team*'], ['x', 'team-b'], true],
    ['ForAllValues:StringEqualsIgnoreCase', ['TEAM'], ['team', 'Team'], true],
    ['ForAnyValue:StringEqualsIgnoreCase', ['TEAM'], ['x'], false],
    ['ForAllValues:StringNotEquals', ['secret'], ['a', 'b'], true],
    ['ForAllValues:StringNotEquals', ['secret'], ['a', 'secret'], false],
    ['ForAllValues:StringNotEquals', ['secret'], undefined, true],
    ['ForAnyValue:StringNotEquals', ['secret'], ['secret', 'a'], true],
    ['ForAnyValue:StringNotEquals', ['secret'], ['secret'], false],
    ['ForAnyValue:StringNotEquals', ['secret'], undefined, false],
    ['ForAnyValue:StringNotLike', ['s*'], ['sa', 'sb'], false],
    ['ForAllValues:StringNotLike', ['s*'], ['a', 'b'], true],
    ['ForAllValues:StringNotEqualsIgnoreCase', ['S'], ['s'], false],
    ['ForAnyValue:StringNotEqualsIgnoreCase', ['S'], ['s', 't'], true],
  ] as const)('%s %j with %j → %s', (op, pv, req, want) => {
    expect(holds(op, key, pv, req === undefined ? undefined : [...req])).toBe(want);
  });

  it('plain operators on a multi-valued key: any request value matching any policy value', () => {
    expect(holds('StringEquals', key, 'a', ['x', 'a'])).toBe(true);
    expect(holds('StringEquals', key, 'a', ['x', 'y'])).toBe(false);
    expect(holds('StringNotEquals', key, 'a', ['x', 'a'])).toBe(false);
    expect(holds('StringNotEquals', key, 'a', ['x', 'y'])).toBe(true);
  });
});

describe('operator parsing', () => {
  it.each([
    ['StringEquals', 'StringEquals', false, 'none'],
    ['StringLikeIfExists', 'StringLike', true, 'none'],
    ['ForAnyValue:StringLike', 'StringLike', false, 'any'],
    ['ForAllValues:StringNotEqualsIgnoreCaseIfExists', 'StringNotEqualsIgnoreCase', true, 'all'],
    ['NotIpAddressIfExists', 'NotIpAddress', true, 'none'],
    ['BoolIfExists', 'Bool', true, 'none'],
    ['Null', 'Null', false, 'none'],
  ] as const)('%s', (name, base, ifExists, qualifier) => {
    expect(parseOperator(name)).toMatchObject({ base, ifExists, qualifier });
  });
});

describe('condition keys', () => {
  const SAMPLE: Record<string, [pv: string, req: string]> = {
    'aws:CurrentTime': ['2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'],
    'aws:EpochTime': ['1735689600', '1735689600'],
    'aws:PrincipalType': ['Anonymous', 'Anonymous'],
    'aws:Referer': ['https://example.com/', 'https://example.com/'],
    'aws:SecureTransport': ['true', 'true'],
    'aws:SourceIp': ['192.0.2.1', '192.0.2.1'],
    'aws:SourceArn': ['arn:aws:s3:::logged', 'arn:aws:s3:::logged'],
    'aws:SourceAccount': ['acme', 'acme'],
    'aws:UserAgent': ['aws-cli/2', 'aws-cli/2'],
    'aws:username': ['alice', 'alice'],
    'aws:userid': ['anonymous', 'anonymous'],
    's3:prefix': ['public/', 'public/'],
    's3:delimiter': ['/', '/'],
    's3:max-keys': ['1000', '1000'],
    's3:x-amz-acl': ['public-read', 'public-read'],
    's3:x-amz-grant-read': ['id="abc"', 'id="abc"'],
    's3:x-amz-grant-write': ['id="abc"', 'id="abc"'],
    's3:x-amz-grant-read-acp': ['id="abc"', 'id="abc"'],
    's3:x-amz-grant-write-acp': ['id="abc"', 'id="abc"'],
    's3:x-amz-grant-full-control': ['id="abc"', 'id="abc"'],
    's3:x-amz-copy-source': ['happybucket/public/a', 'happybucket/public/a'],
    's3:x-amz-server-side-encryption': ['AES256', 'AES256'],
    's3:x-amz-server-side-encryption-aws-kms-key-id': ['key-1', 'key-1'],
    's3:x-amz-server-side-encryption-customer-algorithm': ['AES256', 'AES256'],
    's3:x-amz-metadata-directive': ['COPY', 'COPY'],
    's3:RequestObjectTagKeys': ['team', 'team'],
    's3:VersionId': ['3HL4kqtJlcpXroDTDmJ', '3HL4kqtJlcpXroDTDmJ'],
  };

  it('the sample covers every known key', () => {
    expect(Object.keys(SAMPLE).sort()).toEqual([...CONDITION_KEYS].sort());
  });

  describe.each(CONDITION_KEYS.map((k) => [k]))('%s', (key) => {
    const [pv, req] = SAMPLE[key]!;
    it('is known in any case, normalised to lower case', () => {
      expect(conditionKey(key)).toBe(key.toLowerCase());
      expect(conditionKey(key.toUpperCase())).toBe(key.toLowerCase());
    });
    it('is read by a policy from ConditionValues built in any case', () => {
      const p = policy(stmt({ Condition: { StringEquals: { [key.toUpperCase()]: pv } } }));
      expect(evaluatePolicy(p, ctx({ cond: { [key]: req } }))).toBe('Allow');
      expect(evaluatePolicy(p, ctx({ cond: { [key.toLowerCase()]: req } }))).toBe('Allow');
      expect(evaluatePolicy(p, ctx({ cond: { [key]: `${req}-other` } }))).toBe('Pass');
      expect(evaluatePolicy(p, ctx({ cond: {} }))).toBe('Pass');
    });
  });

  it('CK constants are the normalised names of the known keys', () => {
    expect(new Set(Object.values(CK))).toEqual(new Set(CONDITION_KEYS.map((k) => k.toLowerCase())));
  });

  it.each(['s3:RequestObjectTag/', 's3:ExistingObjectTag/'])('%s<tag>: prefix is case-insensitive, tag key is not', (prefix) => {
    const norm = prefix.toLowerCase();
    expect(conditionKey(`${prefix}Project`)).toBe(`${norm}Project`);
    expect(conditionKey(`${prefix.toUpperCase()}Project`)).toBe(`${norm}Project`);
    expect(conditionKey(`${prefix}a/b c`)).toBe(`${norm}a/b c`);
    const p = policy(stmt({ Condition: { StringEquals: { [`${prefix}Project`]: 'x' } } }));
    expect(evaluatePolicy(p, ctx({ cond: { [`${prefix}Project`]: 'x' } }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ cond: { [`${prefix}project`]: 'x' } }))).toBe('Pass');
  });

  it('tag key helpers build the normalised map keys', () => {
    expect(requestObjectTagKey('Team')).toBe('s3:requestobjecttag/Team');
    expect(existingObjectTagKey('Team')).toBe('s3:existingobjecttag/Team');
    expect(normalizeConditionKey('S3:ExistingObjectTag/Team')).toBe('s3:existingobjecttag/Team');
  });

  it('conditionValues normalises names, stringifies scalars, skips undefined', () => {
    const m = conditionValues({ 'AWS:SourceIp': '1.2.3.4', 's3:max-keys': 10, 'aws:SecureTransport': false, 'aws:Referer': undefined, 's3:RequestObjectTagKeys': ['a', 'b'] });
    expect([...m.entries()]).toEqual([
      ['aws:sourceip', ['1.2.3.4']], ['s3:max-keys', ['10']], ['aws:securetransport', ['false']], ['s3:requestobjecttagkeys', ['a', 'b']],
    ]);
  });
});

describe('values: request-side parsing', () => {
  it('Date* accept ISO-8601 and epoch seconds in request values', () => {
    const t = '2025-06-01T12:00:00Z';
    const epoch = String(Date.parse(t) / 1000);
    expect(holds('DateEquals', 'aws:CurrentTime', t, epoch)).toBe(true);
    expect(holds('DateEquals', 'aws:EpochTime', epoch, t)).toBe(true);
    expect(holds('DateLessThan', 'aws:CurrentTime', t, 'garbage')).toBe(false);
    expect(holds('DateNotEquals', 'aws:CurrentTime', t, 'garbage')).toBe(true);
  });

  it.each([
    ['2025-06-01T12:00:00Z', Date.UTC(2025, 5, 1, 12)],
    ['2025-06-01T12:00:00.250Z', Date.UTC(2025, 5, 1, 12, 0, 0, 250)],
    ['2025-06-01T12:00Z', Date.UTC(2025, 5, 1, 12)],
    ['2025-06-01T14:00:00+02:00', Date.UTC(2025, 5, 1, 12)],
    ['2025-06-01T10:00:00-0200', Date.UTC(2025, 5, 1, 12)],
    ['2025-06-01T12:00:00', Date.UTC(2025, 5, 1, 12)],
    ['2025-06-01', Date.UTC(2025, 5, 1)],
    ['2025-06', Date.UTC(2025, 5, 1)],
    ['2024-02-29', Date.UTC(2024, 1, 29)],
    ['1748779200', 1748779200000],
    ['1748779200.5', 1748779200500],
    ['0', 0],
  ])('parseDate(%j)', (s, want) => {
    expect(parseDate(s)).toBe(want);
  });

  it.each(['', 'x', '2025-6-1', '2025-02-30', '2025-06-01T25:00:00Z', '2025-06-01T12:60Z', '2025-06-01T12:00:00+25:00', '2025'.concat('-')])(
    'parseDate(%j) is NaN',
    (s) => expect(parseDate(s)).toBeNaN(),
  );

  it('Numeric* compare decimals; unparsable request values never match (negated: true)', () => {
    expect(holds('NumericLessThan', 's3:max-keys', '10.5', '10.25')).toBe(true);
    expect(holds('NumericEquals', 's3:max-keys', '1000', '1e3')).toBe(true);
    expect(holds('NumericEquals', 's3:max-keys', '10', 'ten')).toBe(false);
    expect(holds('NumericNotEquals', 's3:max-keys', '10', 'ten')).toBe(true);
    expect(parseNumber('-1.5e2')).toBe(-150);
    expect(parseNumber(' 1')).toBeNaN();
  });

  it('Bool compares lower-cased true/false; other request strings are not true (Ceph: as_bool)', () => {
    expect(holds('Bool', 'aws:SecureTransport', 'false', 'False')).toBe(true);
    expect(holds('Bool', 'aws:SecureTransport', 'true', 'yes')).toBe(false);
    expect(holds('Bool', 'aws:SecureTransport', 'true', '1')).toBe(false);
    expect(holds('Bool', 'aws:SecureTransport', true, 'true')).toBe(true);
  });

  it('BinaryEquals compares the bytes (base64)', () => {
    expect(canonicalBase64('aGVsbG8=')).toBe('aGVsbG8=');
    expect(canonicalBase64('aGVsbG8')).toBeUndefined();
    expect(holds('BinaryEquals', 'aws:UserAgent', 'aGVsbG8=', 'not base64')).toBe(false);
  });
});

describe('values: IP addresses', () => {
  it.each([
    ['203.0.113.0/24', '203.0.113.255', true],
    ['203.0.113.0/24', '203.0.112.255', false],
    ['203.0.113.9', '203.0.113.9', true],
    ['203.0.113.9', '203.0.113.8', false],
    ['203.0.113.9/32', '203.0.113.9', true],
    ['10.1.2.3/8', '10.200.0.1', true],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['128.0.0.0/1', '127.255.255.255', false],
    ['128.0.0.0/1', '128.0.0.0', true],
    ['203.0.113.0/24', '::ffff:203.0.113.5', true],
    ['203.0.113.0/24', '::ffff:cb00:7105', true],
    ['::ffff:203.0.113.0/120', '203.0.113.5', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:DB8::/32', '2001:db8::1', true],
    ['2001:db8::1', '2001:db8:0:0:0:0:0:1', true],
    ['2001:db8::1/128', '2001:db8::2', false],
    ['2001:db8:1:2:3:4:5:0/127', '2001:db8:1:2:3:4:5:1', true],
    ['2001:db8:1:2:3:4:5:0/127', '2001:db8:1:2:3:4:5:2', false],
    ['fe80::/10', 'fe80::1%eth0', true],
    ['::/0', '2001:db8::1', true],
    ['::1', '::1', true],
    ['2001:db8::/32', '203.0.113.5', false],
    ['203.0.113.0/24', '2001:db8::1', false],
    ['203.0.113.0/24', 'garbage', false],
    ['203.0.113.0/24', '', false],
  ])('IpAddress %s contains %s → %s', (cidr, ip, want) => {
    expect(holds('IpAddress', 'aws:SourceIp', cidr, ip)).toBe(want);
  });

  it('NotIpAddress on an unparsable source IP is true (it matches none of the blocks)', () => {
    expect(holds('NotIpAddress', 'aws:SourceIp', '10.0.0.0/8', 'garbage')).toBe(true);
  });

  it.each(['1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.4/', '1.2.3.4/-1', ':::', '1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', '::ffff:1.2.3.4/95x'])(
    'parseCidr(%j) refuses',
    (s) => expect(parseCidr(s)).toBeUndefined(),
  );

  it('parses embedded IPv4 in IPv6 and maps IPv4-mapped addresses to IPv4', () => {
    expect(parseIp('::ffff:10.0.0.1')).toEqual({ v6: false, v4: 0x0a000001 });
    expect(parseIp('64:ff9b::10.0.0.1')?.v6).toBe(true);
    const c = parseCidr('64:ff9b::/96')!;
    expect(cidrContains(c, parseIp('64:ff9b::10.0.0.1')!)).toBe(true);
  });
});
