// The example policies in policies/, each with the requests it should allow, deny and pass.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluatePolicy, type PolicyDecision } from '../../src/policy/evaluate.ts';
import {
  BUCKET_ARN, anonymous, ctx, examplePolicy, examplePolicyText, policiesDir, user, type CtxInput,
} from './policy-helpers.ts';

const obj = (key: string) => `${BUCKET_ARN}/${key}`;
const partner = user('partner-org', 'etl');
const acme = user('acme', 'alice');
const reporter = user('analytics', 'reporter');

type Scenario = [description: string, request: CtxInput, expected: PolicyDecision];

const SCENARIOS: Record<string, Scenario[]> = {
  'public-read': [
    ['anonymous GET of any object', { principal: anonymous, resource: obj('my-new-file.txt') }, 'Allow'],
    ['a user GET', { principal: acme, resource: obj('a/b') }, 'Allow'],
    ['anonymous PUT', { action: 's3:PutObject', resource: obj('x') }, 'Pass'],
    ['anonymous list', { action: 's3:ListBucket', resource: BUCKET_ARN }, 'Pass'],
    ['GetObjectVersion is another action', { action: 's3:GetObjectVersion', resource: obj('x') }, 'Pass'],
  ],
  'deny-insecure-transport': [
    ['any request over HTTP', { principal: acme, action: 's3:PutObject', cond: { 'aws:SecureTransport': 'false' } }, 'Deny'],
    ['bucket request over HTTP', { action: 's3:ListBucket', resource: BUCKET_ARN, cond: { 'aws:SecureTransport': 'false' } }, 'Deny'],
    ['a request over HTTPS', { principal: acme, cond: { 'aws:SecureTransport': 'true' } }, 'Pass'],
  ],
  'ip-allowlist': [
    ['read from the office v4 block', { cond: { 'aws:SourceIp': '192.0.2.10' } }, 'Allow'],
    ['read from the single host', { cond: { 'aws:SourceIp': '198.51.100.7' } }, 'Allow'],
    ['read from the office v6 block', { cond: { 'aws:SourceIp': '2001:db8:1::5' } }, 'Allow'],
    ['read from a v4-mapped office address', { cond: { 'aws:SourceIp': '::ffff:192.0.2.10' } }, 'Allow'],
    ['read from elsewhere', { cond: { 'aws:SourceIp': '203.0.113.1' } }, 'Pass'],
    ['list from the office', { action: 's3:ListBucket', resource: BUCKET_ARN, cond: { 'aws:SourceIp': '192.0.2.10' } }, 'Allow'],
    ['write from elsewhere', { principal: acme, action: 's3:PutObject', cond: { 'aws:SourceIp': '203.0.113.1' } }, 'Deny'],
    ['write from the office', { principal: acme, action: 's3:PutObject', cond: { 'aws:SourceIp': '192.0.2.10' } }, 'Pass'],
    ['delete from outside', { principal: acme, action: 's3:DeleteObject', cond: { 'aws:SourceIp': '10.0.0.1' } }, 'Deny'],
  ],
  'cross-org-read': [
    ['any user of the partner org reads', { principal: partner }, 'Allow'],
    ['the partner lists', { principal: partner, action: 's3:ListBucket', resource: BUCKET_ARN }, 'Allow'],
    ['the named analytics user reads', { principal: reporter }, 'Allow'],
    ['another analytics user', { principal: user('analytics', 'intern') }, 'Pass'],
    ['the partner writes', { principal: partner, action: 's3:PutObject' }, 'Pass'],
    ['anonymous', { principal: anonymous }, 'Pass'],
  ],
  'prefix-limited-list': [
    ['list public/ with / and 100 keys', { principal: partner, action: 's3:ListBucket', resource: BUCKET_ARN, cond: { 's3:prefix': 'public/', 's3:delimiter': '/', 's3:max-keys': '100' } }, 'Allow'],
    ['list public/sub', { principal: partner, action: 's3:ListBucket', resource: BUCKET_ARN, cond: { 's3:prefix': 'public/sub/', 's3:delimiter': '/', 's3:max-keys': '10' } }, 'Allow'],
    ['list with too many keys', { principal: partner, action: 's3:ListBucket', resource: BUCKET_ARN, cond: { 's3:prefix': 'public/', 's3:delimiter': '/', 's3:max-keys': '1000' } }, 'Pass'],
    ['list private/', { principal: partner, action: 's3:ListBucket', resource: BUCKET_ARN, cond: { 's3:prefix': 'private/', 's3:delimiter': '/', 's3:max-keys': '100' } }, 'Pass'],
    ['list without prefix', { principal: partner, action: 's3:ListBucket', resource: BUCKET_ARN, cond: { 's3:delimiter': '/', 's3:max-keys': '100' } }, 'Pass'],
    ['get public object', { principal: partner, resource: obj('public/a.txt') }, 'Allow'],
    ['get private object', { principal: partner, resource: obj('private/a.txt') }, 'Pass'],
  ],
  'deny-delete': [
    ['delete an object', { principal: acme, action: 's3:DeleteObject' }, 'Deny'],
    ['delete a version', { principal: acme, action: 's3:DeleteObjectVersion' }, 'Deny'],
    ['delete the bucket', { principal: acme, action: 's3:DeleteBucket', resource: BUCKET_ARN }, 'Deny'],
    ['put', { principal: acme, action: 's3:PutObject' }, 'Pass'],
  ],
  'tag-based-access': [
    ['read an object tagged public', { principal: partner, cond: { 's3:ExistingObjectTag/classification': 'public' } }, 'Allow'],
    ['read its tags', { principal: partner, action: 's3:GetObjectTagging', cond: { 's3:ExistingObjectTag/classification': 'public' } }, 'Allow'],
    ['read an object tagged secret', { principal: partner, cond: { 's3:ExistingObjectTag/classification': 'secret' } }, 'Pass'],
    ['read an untagged object', { principal: partner }, 'Pass'],
    ['tag key case matters', { principal: partner, cond: { 's3:ExistingObjectTag/Classification': 'public' } }, 'Pass'],
    ['put with team=analytics', { principal: partner, action: 's3:PutObject', cond: { 's3:RequestObjectTag/team': 'analytics', 's3:RequestObjectTagKeys': ['team'] } }, 'Allow'],
    ['put with team and project', { principal: partner, action: 's3:PutObject', cond: { 's3:RequestObjectTag/team': 'analytics', 's3:RequestObjectTag/project': 'x', 's3:RequestObjectTagKeys': ['team', 'project'] } }, 'Allow'],
    ['put with an extra tag key', { principal: partner, action: 's3:PutObject', cond: { 's3:RequestObjectTag/team': 'analytics', 's3:RequestObjectTag/owner': 'x', 's3:RequestObjectTagKeys': ['team', 'owner'] } }, 'Pass'],
    ['put with another team', { principal: partner, action: 's3:PutObject', cond: { 's3:RequestObjectTag/team': 'web', 's3:RequestObjectTagKeys': ['team'] } }, 'Pass'],
    ['put without tags', { principal: partner, action: 's3:PutObject' }, 'Pass'],
  ],
  'notaction-deny': [
    ['partner reads', { principal: partner }, 'Allow'],
    ['partner lists', { principal: partner, action: 's3:ListBucket', resource: BUCKET_ARN }, 'Allow'],
    ['partner writes', { principal: partner, action: 's3:PutObject' }, 'Deny'],
    ['partner changes the policy', { principal: partner, action: 's3:PutBucketPolicy', resource: BUCKET_ARN }, 'Deny'],
    ['someone else writes', { principal: acme, action: 's3:PutObject' }, 'Pass'],
  ],
  notprincipal: [
    ['the owning org writes', { principal: acme, action: 's3:PutObject' }, 'Pass'],
    ['the backup user writes', { principal: user('backup-org', 'nightly'), action: 's3:DeleteObject' }, 'Pass'],
    ['another backup-org user writes', { principal: user('backup-org', 'adhoc'), action: 's3:PutObject' }, 'Deny'],
    ['a partner writes', { principal: partner, action: 's3:PutObject', resource: obj('data/x') }, 'Deny'],
    ['a partner drops into incoming/', { principal: partner, action: 's3:PutObject', resource: obj('incoming/x') }, 'Pass'],
    ['anonymous writes', { principal: anonymous, action: 's3:PutObject' }, 'Deny'],
    ['a partner reads', { principal: partner }, 'Pass'],
  ],
  'time-window': [
    ['during 2025', { resource: obj('releases/v1.tar'), cond: { 'aws:CurrentTime': '2025-07-01T00:00:00Z' } }, 'Allow'],
    ['at the opening instant', { resource: obj('releases/v1.tar'), cond: { 'aws:CurrentTime': '2025-01-01T00:00:00Z' } }, 'Allow'],
    ['at the closing instant', { resource: obj('releases/v1.tar'), cond: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' } }, 'Pass'],
    ['before', { resource: obj('releases/v1.tar'), cond: { 'aws:CurrentTime': '2024-12-31T23:59:59Z' } }, 'Pass'],
    ['epoch seconds in the window', { resource: obj('releases/v1.tar'), cond: { 'aws:CurrentTime': '1751328000' } }, 'Allow'],
    ['no time supplied', { resource: obj('releases/v1.tar') }, 'Pass'],
  ],
  referer: [
    ['from www', { resource: obj('assets/logo.png'), cond: { 'aws:Referer': 'https://www.example.com/page' } }, 'Allow'],
    ['from the apex', { resource: obj('assets/logo.png'), cond: { 'aws:Referer': 'https://example.com/' } }, 'Allow'],
    ['from elsewhere', { resource: obj('assets/logo.png'), cond: { 'aws:Referer': 'https://evil.example/' } }, 'Pass'],
    ['look-alike host', { resource: obj('assets/logo.png'), cond: { 'aws:Referer': 'https://example.com.evil/' } }, 'Pass'],
    ['no referer', { resource: obj('assets/logo.png') }, 'Pass'],
    ['outside assets/', { resource: obj('x.png'), cond: { 'aws:Referer': 'https://example.com/' } }, 'Pass'],
  ],
  'copy-source': [
    ['copy from public/', { principal: partner, action: 's3:PutObject', cond: { 's3:x-amz-copy-source': 'happybucket/public/a.txt' } }, 'Allow'],
    ['copy from private/', { principal: partner, action: 's3:PutObject', cond: { 's3:x-amz-copy-source': 'happybucket/private/a.txt' } }, 'Pass'],
    ['plain put (no copy source)', { principal: partner, action: 's3:PutObject' }, 'Pass'],
  ],
  'metadata-directive': [
    ['copy with REPLACE', { principal: acme, action: 's3:PutObject', cond: { 's3:x-amz-metadata-directive': 'REPLACE' } }, 'Deny'],
    ['copy with replace (any case)', { principal: acme, action: 's3:PutObject', cond: { 's3:x-amz-metadata-directive': 'replace' } }, 'Deny'],
    ['copy with COPY', { principal: acme, action: 's3:PutObject', cond: { 's3:x-amz-metadata-directive': 'COPY' } }, 'Pass'],
    ['plain put', { principal: acme, action: 's3:PutObject' }, 'Pass'],
  ],
  'require-sse-c': [
    ['put without SSE-C', { principal: acme, action: 's3:PutObject' }, 'Deny'],
    ['put with SSE-C', { principal: acme, action: 's3:PutObject', cond: { 's3:x-amz-server-side-encryption-customer-algorithm': 'AES256' } }, 'Pass'],
    ['get', { principal: acme }, 'Pass'],
  ],
  'deny-public-acl': [
    ['put with public-read', { principal: acme, action: 's3:PutObject', cond: { 's3:x-amz-acl': 'public-read' } }, 'Deny'],
    ['put-object-acl public-read-write', { principal: acme, action: 's3:PutObjectAcl', cond: { 's3:x-amz-acl': 'public-read-write' } }, 'Deny'],
    ['put-bucket-acl public-read', { principal: acme, action: 's3:PutBucketAcl', resource: BUCKET_ARN, cond: { 's3:x-amz-acl': 'public-read' } }, 'Deny'],
    ['put with private', { principal: acme, action: 's3:PutObject', cond: { 's3:x-amz-acl': 'private' } }, 'Pass'],
    ['put without an ACL', { principal: acme, action: 's3:PutObject' }, 'Pass'],
  ],
};

describe('example policies', () => {
  const files = readdirSync(policiesDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

  it('every file has scenarios and every scenario has a file', () => {
    expect(files).toEqual(Object.keys(SCENARIOS).sort());
    expect(files.length).toBeGreaterThanOrEqual(13);
  });

  it('public-read.json is the seed example, exactly', () => {
    expect(JSON.parse(examplePolicyText('public-read'))).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: ['arn:aws:s3:::happybucket/*'] }],
    });
  });

  describe.each(Object.entries(SCENARIOS))('%s.json', (name, scenarios) => {
    const p = examplePolicy(name);
    it.each(scenarios.map(([d, r, e]) => [`${d} → ${e}`, r, e] as const))('%s', (_title, request, expected) => {
      expect(evaluatePolicy(p, ctx(request))).toBe(expected);
    });
  });
});
