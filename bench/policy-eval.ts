// Micro benchmark: bucket policy evaluation.
// Run: node --import tsx bench/policy-eval.ts
//
// Builds a 20-statement policy with conditions (String, Numeric, Date, Bool, IpAddress, Null,
// set operators, tag keys, NotAction/NotResource/NotPrincipal) and reports the mean time per
// evaluatePolicy call over 200k evaluations, cycling through requests that end in Allow, Deny
// and Pass. Baseline, measured in the same run: the seed's one-statement public-read policy.
// Prints figures only; no assertion.

import { performance } from 'node:perf_hooks';
import { conditionValues } from '../src/policy/conditions.ts';
import { evaluatePolicy, type PolicyDecision, type RequestContext } from '../src/policy/evaluate.ts';
import { parsePolicy, type ParsedPolicy } from '../src/policy/parse.ts';

const BUCKET = 'happybucket';
const B = `arn:aws:s3:::${BUCKET}`;
const ITERATIONS = 200_000;

const statements = [
  { Sid: 's01', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [B, `${B}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
  { Sid: 's02', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `${B}/public/*` },
  { Sid: 's03', Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::partner:root', 'arn:aws:iam::analytics:user/reporter'] }, Action: ['s3:GetObject', 's3:ListBucket'], Resource: [B, `${B}/*`] },
  { Sid: 's04', Effect: 'Allow', Principal: { AWS: 'partner' }, Action: 's3:ListBucket', Resource: B, Condition: { StringLike: { 's3:prefix': ['shared/', 'shared/*'] }, NumericLessThanEquals: { 's3:max-keys': '1000' } } },
  { Sid: 's05', Effect: 'Deny', Principal: '*', Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'], Resource: `${B}/archive/*` },
  { Sid: 's06', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `${B}/office/*`, Condition: { IpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '198.51.100.0/24', '2001:db8::/32'] } } },
  { Sid: 's07', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `${B}/*`, Condition: { StringLike: { 's3:x-amz-acl': 'public*' } } },
  { Sid: 's08', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::partner:root' }, Action: 's3:GetObject', Resource: `${B}/*`, Condition: { StringEquals: { 's3:ExistingObjectTag/classification': 'public' } } },
  { Sid: 's09', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::partner:root' }, Action: 's3:PutObject', Resource: `${B}/*`, Condition: { StringEquals: { 's3:RequestObjectTag/team': 'analytics' }, 'ForAllValues:StringEquals': { 's3:RequestObjectTagKeys': ['team', 'project'] } } },
  { Sid: 's10', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `${B}/releases/*`, Condition: { DateGreaterThanEquals: { 'aws:CurrentTime': '2025-01-01T00:00:00Z' }, DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } } },
  { Sid: 's11', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `${B}/assets/*`, Condition: { StringLike: { 'aws:Referer': ['https://www.example.com/*', 'https://example.com/*'] } } },
  { Sid: 's12', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `${B}/secure/*`, Condition: { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'true' } } },
  { Sid: 's13', Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::partner:root' }, NotAction: ['s3:GetObject', 's3:ListBucket', 's3:PutObject'], Resource: [B, `${B}/*`] },
  { Sid: 's14', Effect: 'Deny', NotPrincipal: { AWS: ['arn:aws:iam::acme:root'] }, Action: 's3:PutBucketPolicy', Resource: B },
  { Sid: 's15', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::partner:root' }, Action: 's3:PutObject', Resource: `${B}/*`, Condition: { StringLike: { 's3:x-amz-copy-source': `${BUCKET}/public/*` } } },
  { Sid: 's16', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `${B}/*`, Condition: { StringEqualsIgnoreCase: { 's3:x-amz-metadata-directive': 'REPLACE' } } },
  { Sid: 's17', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::acme:user/ci' }, Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], Resource: `${B}/builds/*`, Condition: { StringEquals: { 'aws:UserAgent': ['ci-runner/1', 'ci-runner/2'] } } },
  { Sid: 's18', Effect: 'Deny', Principal: '*', Action: 's3:*', NotResource: [B, `${B}/public/*`, `${B}/releases/*`, `${B}/assets/*`, `${B}/office/*`, `${B}/shared/*`, `${B}/builds/*`, `${B}/secure/*`, `${B}/archive/*`, `${B}/data/*`] },
  { Sid: 's19', Effect: 'Allow', Principal: '*', Action: 's3:ListBucket', Resource: B, Condition: { StringEquals: { 's3:delimiter': '/' }, 'StringLikeIfExists': { 's3:prefix': 'public/*' } } },
  { Sid: 's20', Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `${B}/data/*`, Condition: { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } } },
];

const big = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), { bucket: BUCKET });
const seed = parsePolicy(JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: [`${B}/*`] }],
}), { bucket: BUCKET });

const now = new Date('2026-03-04T05:06:07Z');
const base = {
  'aws:SecureTransport': 'true',
  'aws:SourceIp': '203.0.113.9',
  'aws:CurrentTime': now.toISOString(),
  'aws:EpochTime': String(Math.floor(now.getTime() / 1000)),
  'aws:UserAgent': 'aws-sdk-js/3.900.0',
  'aws:PrincipalType': 'User',
};

const contexts: RequestContext[] = [
  { principal: { kind: 'anonymous' }, action: 's3:GetObject', resource: `${B}/public/a.txt`, conditions: conditionValues({ ...base, 'aws:PrincipalType': 'Anonymous' }) },
  { principal: { kind: 'user', org: 'partner', user: 'etl' }, action: 's3:GetObject', resource: `${B}/data/x.parquet`, conditions: conditionValues({ ...base, 's3:ExistingObjectTag/classification': 'public' }) },
  { principal: { kind: 'user', org: 'partner', user: 'etl' }, action: 's3:PutObject', resource: `${B}/data/y`, conditions: conditionValues({ ...base, 's3:RequestObjectTag/team': 'analytics', 's3:RequestObjectTagKeys': ['team'] }) },
  { principal: { kind: 'user', org: 'acme', user: 'ci' }, action: 's3:PutObject', resource: `${B}/builds/1.tar`, conditions: conditionValues({ ...base, 'aws:UserAgent': 'ci-runner/2' }) },
  { principal: { kind: 'anonymous' }, action: 's3:GetObject', resource: `${B}/office/doc.pdf`, conditions: conditionValues({ ...base, 'aws:SourceIp': '198.51.100.44' }) },
  { principal: { kind: 'anonymous' }, action: 's3:ListBucket', resource: B, conditions: conditionValues({ ...base, 's3:prefix': 'public/', 's3:delimiter': '/', 's3:max-keys': '1000' }) },
  { principal: { kind: 'user', org: 'acme', user: 'alice' }, action: 's3:DeleteObject', resource: `${B}/archive/2020.tar`, conditions: conditionValues(base) },
  { principal: { kind: 'anonymous' }, action: 's3:GetObject', resource: `${B}/private/secret`, conditions: conditionValues(base) },
  { principal: { kind: 'user', org: 'acme', user: 'alice' }, action: 's3:GetObject', resource: `${B}/releases/v2.tar`, conditions: conditionValues({ ...base, 'aws:SecureTransport': 'false' }) },
  { principal: { kind: 'user', org: 'other', user: 'x' }, action: 's3:GetObject', resource: `${B}/shared/readme`, conditions: conditionValues(base) },
];

function run(policy: ParsedPolicy, iterations: number): { meanMicros: number; tally: Record<PolicyDecision, number> } {
  const tally: Record<PolicyDecision, number> = { Allow: 0, Deny: 0, Pass: 0 };
  const n = contexts.length;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) tally[evaluatePolicy(policy, contexts[i % n]!)]++;
  const elapsed = performance.now() - start;
  return { meanMicros: (elapsed * 1000) / iterations, tally };
}

// Warm up both paths so the JIT has compiled them before measuring.
run(big, 50_000);
run(seed, 50_000);

const baseline = run(seed, ITERATIONS);
const result = run(big, ITERATIONS);

const fmt = (x: number): string => x.toFixed(3);
console.log(`policy-eval: ${ITERATIONS} evaluations over ${contexts.length} request shapes`);
console.log(`  baseline (seed public-read, 1 statement): ${fmt(baseline.meanMicros)} µs/eval`);
console.log(`  20-statement policy with conditions:      ${fmt(result.meanMicros)} µs/eval`
  + `  (${(result.meanMicros / baseline.meanMicros).toFixed(1)}× baseline)`);
console.log(`  decisions: ${JSON.stringify(result.tally)}`);
