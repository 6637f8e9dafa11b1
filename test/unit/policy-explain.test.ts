// The statement-by-statement explanation must agree with the evaluation it explains: over every
// example policy in policies/ and a spread of requests, explainStatements' decision equals
// evaluatePolicy's and each statement's `matches` equals statementMatches.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainStatements } from '../../src/policy/explain.ts';
import { evaluatePolicy, statementMatches } from '../../src/policy/evaluate.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { anonymous, BUCKET, ctx, examplePolicyText, policy, stmt, user } from './policy-helpers.ts';

const examples = readdirSync(join(__dirname, '..', '..', 'policies')).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));

const requests = [
  ctx(),
  ctx({ principal: user('partner', 'p1'), cond: { 'aws:SourceIp': '10.1.2.3', 'aws:SecureTransport': 'true' } }),
  ctx({ principal: user(BUCKET, 'admin'), action: 's3:DeleteObject', cond: { 'aws:SecureTransport': 'false' } }),
  ctx({ principal: anonymous, action: 's3:ListBucket', resource: `arn:aws:s3:::${BUCKET}`, cond: { 's3:prefix': 'home/', 'aws:SourceIp': '192.0.2.1' } }),
  ctx({ principal: user('other', 'u'), action: 's3:PutObject', cond: { 's3:x-amz-acl': 'public-read', 'aws:SecureTransport': 'false' } }),
];

describe('explainStatements', () => {
  it(`agrees with evaluatePolicy and statementMatches on ${examples.length} example policies`, () => {
    expect(examples.length).toBeGreaterThan(5);
    for (const name of examples) {
      const parsed = parsePolicy(examplePolicyText(name), { bucket: BUCKET });
      for (const request of requests) {
        const explained = explainStatements(parsed, request);
        expect(explained.decision, name).toBe(evaluatePolicy(parsed, request));
        expect(explained.statements.map((s) => s.matches), name).toEqual(parsed.statements.map((s) => statementMatches(s, request)));
      }
    }
  });

  it('shows each condition with the policy values and the request values, absent as null', () => {
    const p = policy(stmt({ Sid: 'Office', Condition: { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] }, StringEquals: { 'aws:Referer': 'https://example.com/' } } }));
    const e = explainStatements(p, ctx({ cond: { 'aws:SourceIp': '10.9.9.9' } }));
    expect(e.decision).toBe('Pass');
    expect(e.statements[0]).toMatchObject({ sid: 'Office', principal: true, action: true, resource: true, matches: false });
    expect(e.statements[0].conditions).toEqual([
      { operator: 'IpAddress', key: 'aws:SourceIp', policyValues: ['10.0.0.0/8', '192.168.0.0/16'], requestValues: ['10.9.9.9'], holds: true },
      { operator: 'StringEquals', key: 'aws:Referer', policyValues: ['https://example.com/'], requestValues: null, holds: false },
    ]);
  });

  it('says which part of a NotPrincipal / NotAction / NotResource statement applies', () => {
    const p = policy(stmt({ Effect: 'Deny', NotAction: 's3:GetObject', Action: undefined, NotResource: `arn:aws:s3:::${BUCKET}/public/*`, Resource: undefined }));
    const e = explainStatements(p, ctx({ action: 's3:PutObject' }));
    expect(e.statements[0]).toMatchObject({ action: true, resource: true, matches: true });
    expect(e.decision).toBe('Deny');
    expect(explainStatements(p, ctx({ action: 's3:GetObject' })).statements[0]).toMatchObject({ action: false, matches: false });
  });
});
