import { describe, expect, it } from 'vitest';
import {
  evaluatePolicy, explainPolicy, policyMentionsExistingObjectTags, requiredConditionKeys,
} from '../../src/policy/evaluate.ts';
import { ACTIONS } from '../../src/policy/actions.ts';
import {
  BUCKET_ARN, OBJECT_ARN, anonymous, ctx, doc, expectMalformed, policy, stmt, user,
} from './policy-helpers.ts';

const BOTH = [BUCKET_ARN, `${BUCKET_ARN}/*`];
const alice = user('acme', 'alice');
const mallory = user('evil', 'mallory');

describe('decision combination', () => {
  it('Pass when no statement matches', () => {
    expect(evaluatePolicy(policy(stmt()), ctx({ action: 's3:PutObject' }))).toBe('Pass');
  });

  it('Allow when an Allow statement matches', () => {
    expect(evaluatePolicy(policy(stmt()), ctx())).toBe('Allow');
  });

  it('an explicit Deny wins over an Allow, whatever the order', () => {
    const allow = stmt();
    const deny = stmt({ Effect: 'Deny' });
    expect(evaluatePolicy(policy([allow, deny]), ctx())).toBe('Deny');
    expect(evaluatePolicy(policy([deny, allow]), ctx())).toBe('Deny');
    expect(evaluatePolicy(policy([allow, allow, deny]), ctx())).toBe('Deny');
  });

  it('a Deny that does not match leaves the Allow', () => {
    const p = policy([stmt(), stmt({ Effect: 'Deny', Action: 's3:PutObject' })]);
    expect(evaluatePolicy(p, ctx())).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ action: 's3:PutObject' }))).toBe('Deny');
  });

  it('a Deny alone gives Deny or Pass, never Allow', () => {
    const p = policy(stmt({ Effect: 'Deny' }));
    expect(evaluatePolicy(p, ctx())).toBe('Deny');
    expect(evaluatePolicy(p, ctx({ action: 's3:PutObject' }))).toBe('Pass');
  });

  it('explainPolicy names the deciding statement', () => {
    const p = policy([stmt({ Sid: 'A' }), stmt({ Sid: 'D', Effect: 'Deny', Action: 's3:PutObject' })]);
    expect(explainPolicy(p, ctx())).toMatchObject({ decision: 'Allow', statement: { sid: 'A' } });
    expect(explainPolicy(p, ctx({ action: 's3:PutObject' }))).toMatchObject({ decision: 'Deny', statement: { sid: 'D' } });
    expect(explainPolicy(p, ctx({ action: 's3:ListBucket' }))).toEqual({ decision: 'Pass', statement: undefined });
  });
});

describe('principals', () => {
  it('"*" matches anonymous and every user', () => {
    const p = policy(stmt({ Principal: '*' }));
    for (const who of [anonymous, alice, mallory]) expect(evaluatePolicy(p, ctx({ principal: who }))).toBe('Allow');
  });

  it('anonymous matches only "*"', () => {
    const p = policy(stmt({ Principal: { AWS: ['acme', 'arn:aws:iam::acme:user/alice', 'arn:aws:iam::acme:root'] } }));
    expect(evaluatePolicy(p, ctx({ principal: anonymous }))).toBe('Pass');
    expect(evaluatePolicy(p, ctx({ principal: alice }))).toBe('Allow');
  });

  it('org and user names are case-sensitive', () => {
    const p = policy(stmt({ Principal: { AWS: 'arn:aws:iam::acme:user/alice' } }));
    expect(evaluatePolicy(p, ctx({ principal: user('ACME', 'alice') }))).toBe('Pass');
    expect(evaluatePolicy(p, ctx({ principal: user('acme', 'Alice') }))).toBe('Pass');
  });

  it('NotPrincipal: the statement applies to everyone not listed, anonymous included', () => {
    const s = stmt({ Effect: 'Deny', NotPrincipal: { AWS: ['arn:aws:iam::acme:root', 'arn:aws:iam::partner:user/bot'] } });
    delete s.Principal;
    const p = policy([stmt(), s]);
    expect(evaluatePolicy(p, ctx({ principal: alice }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ principal: user('partner', 'bot') }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ principal: user('partner', 'other') }))).toBe('Deny');
    expect(evaluatePolicy(p, ctx({ principal: mallory }))).toBe('Deny');
    expect(evaluatePolicy(p, ctx({ principal: anonymous }))).toBe('Deny');
  });

  it('NotPrincipal "*" applies to nobody', () => {
    const s = stmt({ Effect: 'Deny', NotPrincipal: '*' });
    delete s.Principal;
    expect(evaluatePolicy(policy(s), ctx({ principal: anonymous }))).toBe('Pass');
  });
});

describe('actions', () => {
  it('NotAction alone means every action except those listed (AWS; Ceph never matches it)', () => {
    const s = stmt({ NotAction: ['s3:DeleteObject', 's3:DeleteBucket'], Resource: BOTH });
    delete s.Action;
    const p = policy(s);
    expect(evaluatePolicy(p, ctx({ action: 's3:GetObject' }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ action: 's3:PutObject' }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ action: 's3:ListBucket', resource: BUCKET_ARN }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ action: 's3:DeleteObject' }))).toBe('Pass');
    expect(evaluatePolicy(p, ctx({ action: 's3:DeleteBucket', resource: BUCKET_ARN }))).toBe('Pass');
  });

  it('NotAction with wildcards', () => {
    const s = stmt({ Effect: 'Deny', NotAction: 's3:Get*', Resource: BOTH });
    delete s.Action;
    const p = policy(s);
    expect(evaluatePolicy(p, ctx({ action: 's3:GetObjectAcl' }))).toBe('Pass');
    expect(evaluatePolicy(p, ctx({ action: 's3:PutObjectAcl' }))).toBe('Deny');
  });

  it.each(ACTIONS.map((a) => [a.name]))('s3:* covers %s', (name) => {
    const p = policy(stmt({ Action: 's3:*', Resource: BOTH }));
    const resource = ACTIONS.find((a) => a.name === name)!.resource === 'object' ? OBJECT_ARN : BUCKET_ARN;
    expect(evaluatePolicy(p, ctx({ action: name, resource }))).toBe('Allow');
  });

  it('action names in the request context match case-insensitively', () => {
    const p = policy(stmt({ Action: 's3:getobject' }));
    expect(evaluatePolicy(p, ctx({ action: 'S3:GETOBJECT' }))).toBe('Allow');
  });

  it('? matches exactly one character', () => {
    const p = policy(stmt({ Action: 's3:?etObject' }));
    expect(evaluatePolicy(p, ctx({ action: 's3:GetObject' }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ action: 's3:GetObjectAcl' }))).toBe('Pass');
  });

  it('an action outside the table is matched against the written patterns', () => {
    const p = policy([stmt({ Action: 's3:*', Resource: BOTH })]);
    expect(evaluatePolicy(p, ctx({ action: 's3:SomeFutureAction' }))).toBe('Allow');
    const q = policy([stmt({ Action: 's3:Get*' })]);
    expect(evaluatePolicy(q, ctx({ action: 's3:GetSomethingNew' }))).toBe('Allow');
    expect(evaluatePolicy(q, ctx({ action: 's3:PutSomethingNew' }))).toBe('Pass');
    const s = stmt({ NotAction: 's3:Get*' });
    delete s.Action;
    expect(evaluatePolicy(policy(s), ctx({ action: 's3:PutSomethingNew' }))).toBe('Allow');
  });
});

describe('resources', () => {
  it('a bucket ARN does not match object requests, and bucket/* does not match bucket requests', () => {
    const bucketOnly = policy(stmt({ Action: 's3:*', Resource: BUCKET_ARN }));
    expect(evaluatePolicy(bucketOnly, ctx({ action: 's3:GetObject', resource: OBJECT_ARN }))).toBe('Pass');
    expect(evaluatePolicy(bucketOnly, ctx({ action: 's3:ListBucket', resource: BUCKET_ARN }))).toBe('Allow');
    const objectsOnly = policy(stmt({ Action: 's3:*', Resource: `${BUCKET_ARN}/*` }));
    expect(evaluatePolicy(objectsOnly, ctx({ action: 's3:ListBucket', resource: BUCKET_ARN }))).toBe('Pass');
    expect(evaluatePolicy(objectsOnly, ctx({ action: 's3:GetObject', resource: OBJECT_ARN }))).toBe('Allow');
  });

  it('s3:PutObject on the bucket ARN grants nothing on objects (accepted, like Ceph; AWS refuses the statement)', () => {
    const p = policy(stmt({ Action: 's3:PutObject', Resource: BUCKET_ARN }));
    expect(evaluatePolicy(p, ctx({ action: 's3:PutObject' }))).toBe('Pass');
  });

  it('bucket* matches both the bucket and its objects', () => {
    const p = policy(stmt({ Action: 's3:*', Resource: `${BUCKET_ARN}*` }));
    expect(evaluatePolicy(p, ctx({ action: 's3:ListBucket', resource: BUCKET_ARN }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ action: 's3:GetObject', resource: OBJECT_ARN }))).toBe('Allow');
  });

  it('* spans slashes; ? matches one character', () => {
    const p = policy(stmt({ Resource: [`${BUCKET_ARN}/logs/*/app.log`, `${BUCKET_ARN}/img?.png`] }));
    const get = (key: string) => evaluatePolicy(p, ctx({ resource: `${BUCKET_ARN}/${key}` }));
    expect(get('logs/2025/01/app.log')).toBe('Allow');
    expect(get('logs//app.log')).toBe('Allow');
    expect(get('logs/app.log')).toBe('Pass');
    expect(get('img1.png')).toBe('Allow');
    expect(get('img12.png')).toBe('Pass');
    expect(get('img.png')).toBe('Pass');
  });

  it('AWS resource example: bucket/*/test/*', () => {
    const p = policy(stmt({ Resource: `${BUCKET_ARN}/*/test/*` }));
    const get = (key: string) => evaluatePolicy(p, ctx({ resource: `${BUCKET_ARN}/${key}` }));
    expect(get('1///test///object.jpg')).toBe('Allow');
    expect(get('/test/object.jpg')).toBe('Allow');
    expect(get('1/test/')).toBe('Allow');
    expect(get('1-test/object.jpg')).toBe('Pass');
    expect(get('test/object.jpg')).toBe('Pass');
    expect(get('1/2/test.jpg')).toBe('Pass');
  });

  it('resource matching is case-sensitive', () => {
    const p = policy(stmt({ Resource: `${BUCKET_ARN}/Docs/*` }));
    expect(evaluatePolicy(p, ctx({ resource: `${BUCKET_ARN}/Docs/a` }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ resource: `${BUCKET_ARN}/docs/a` }))).toBe('Pass');
  });

  it('NotResource: every resource except those listed', () => {
    const s = stmt({ Effect: 'Deny', Action: 's3:*', NotResource: [`${BUCKET_ARN}/public/*`, BUCKET_ARN] });
    delete s.Resource;
    const p = policy(s);
    expect(evaluatePolicy(p, ctx({ resource: `${BUCKET_ARN}/public/a` }))).toBe('Pass');
    expect(evaluatePolicy(p, ctx({ action: 's3:ListBucket', resource: BUCKET_ARN }))).toBe('Pass');
    expect(evaluatePolicy(p, ctx({ resource: `${BUCKET_ARN}/private/a` }))).toBe('Deny');
  });

  it('keys with special characters are literal', () => {
    const p = policy(stmt({ Resource: `${BUCKET_ARN}/a+b (1).[x]` }));
    expect(evaluatePolicy(p, ctx({ resource: `${BUCKET_ARN}/a+b (1).[x]` }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ resource: `${BUCKET_ARN}/aab (1).[x]` }))).toBe('Pass');
  });
});

describe('conditions in statements', () => {
  it('a statement whose conditions fail does not apply', () => {
    const p = policy([stmt(), stmt({ Effect: 'Deny', Condition: { StringNotEquals: { 'aws:Referer': 'ok' } } })]);
    expect(evaluatePolicy(p, ctx({ cond: { 'aws:Referer': 'ok' } }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ cond: { 'aws:Referer': 'bad' } }))).toBe('Deny');
  });

  it('requiredConditionKeys and policyMentionsExistingObjectTags', () => {
    const p = policy([
      stmt({ Condition: { StringEquals: { 's3:ExistingObjectTag/Class': 'public' } } }),
      stmt({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }),
    ]);
    expect(requiredConditionKeys(p)).toEqual(new Set(['s3:existingobjecttag/Class', 'aws:sourceip']));
    expect(policyMentionsExistingObjectTags(p)).toBe(true);
    expect(policyMentionsExistingObjectTags(policy(stmt()))).toBe(false);
    expect(requiredConditionKeys(policy(stmt())).size).toBe(0);
  });

  it('requiredConditionKeys returns a copy', () => {
    const p = policy(stmt({ Condition: { Bool: { 'aws:SecureTransport': 'true' } } }));
    requiredConditionKeys(p).clear();
    expect(requiredConditionKeys(p).size).toBe(1);
  });
});

// Each difference between AWS and Ceph RGW listed in reference §1 / decision §7, with what Strata does.
describe('AWS vs Ceph differences (Strata follows AWS)', () => {
  it('NotAction-only statement matches every other action (Ceph: never matches)', () => {
    const s = stmt({ Effect: 'Deny', NotAction: 's3:GetObject', Resource: BOTH });
    delete s.Action;
    expect(evaluatePolicy(policy(s), ctx({ action: 's3:PutObject' }))).toBe('Deny');
  });

  it('negated operator with a value list is true only if the value matches none (Ceph: any differs)', () => {
    const p = policy(stmt({ Effect: 'Deny', Condition: { StringNotEquals: { 'aws:Referer': ['A', 'B'] } } }));
    expect(evaluatePolicy(p, ctx({ cond: { 'aws:Referer': 'A' } }))).toBe('Pass');
    expect(evaluatePolicy(p, ctx({ cond: { 'aws:Referer': 'C' } }))).toBe('Deny');
  });

  it('negated operator on a missing key is true (Ceph: false)', () => {
    const p = policy(stmt({ Effect: 'Deny', Condition: { StringNotLike: { 'aws:Referer': 'https://ok/*' } } }));
    expect(evaluatePolicy(p, ctx({ cond: {} }))).toBe('Deny');
  });

  it('Null honours its value: "false" means the key is present (Ceph: only tests absence)', () => {
    const p = policy(stmt({ Condition: { Null: { 's3:x-amz-acl': 'false' } } }));
    expect(evaluatePolicy(p, ctx({ cond: { 's3:x-amz-acl': 'private' } }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ cond: {} }))).toBe('Pass');
  });

  it('an action starting with * is an ordinary wildcard (Ceph: all actions, tracker #81229)', () => {
    const p = policy(stmt({ Action: '*Tagging', Resource: BOTH }));
    expect(evaluatePolicy(p, ctx({ action: 's3:GetObjectTagging' }))).toBe('Allow');
    expect(evaluatePolicy(p, ctx({ action: 's3:DeleteObject' }))).toBe('Pass');
  });

  it('a statement without Principal is refused (Ceph: accepted and never matches)', () => {
    const s = stmt();
    delete s.Principal;
    expectMalformed(doc(s), 'Missing required field Principal');
  });

  it('invalid policies are 400 MalformedPolicy (Ceph: 400 InvalidArgument)', () => {
    expectMalformed(doc(stmt({ Action: 's3:Nope' })), 'Policy has invalid action');
  });

  it('CanonicalUser principals are refused (Ceph: ignored unless rgw_policy_reject_invalid_principals)', () => {
    expectMalformed(doc(stmt({ Principal: { CanonicalUser: 'abc' } })), 'Invalid principal in policy');
  });

  it('aws:SecureTransport is always supplied, so "Deny if false" fires over plain HTTP (Ceph: key absent, never fires)', () => {
    const p = policy([stmt(), stmt({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]);
    expect(evaluatePolicy(p, ctx({ cond: { 'aws:SecureTransport': 'false' } }))).toBe('Deny');
    expect(evaluatePolicy(p, ctx({ cond: { 'aws:SecureTransport': 'true' } }))).toBe('Allow');
    // What Ceph sees over HTTP: the key is missing and the Deny never fires. Callers must always set it.
    expect(evaluatePolicy(p, ctx({ cond: {} }))).toBe('Allow');
  });

  it('aws:CurrentTime is ISO-8601 and aws:EpochTime epoch seconds (Ceph swaps them)', () => {
    const p = policy(stmt({
      Condition: {
        StringLike: { 'aws:CurrentTime': '2025-*' },
        NumericGreaterThan: { 'aws:EpochTime': '1735689599' },
        DateLessThan: { 'aws:CurrentTime': '2026-01-01T00:00:00Z', 'aws:EpochTime': '2026-01-01T00:00:00Z' },
      },
    }));
    const now = new Date('2025-03-04T05:06:07Z');
    const cond = { 'aws:CurrentTime': now.toISOString(), 'aws:EpochTime': String(Math.floor(now.getTime() / 1000)) };
    expect(evaluatePolicy(p, ctx({ cond }))).toBe('Allow');
    // Ceph's swapped formats break StringLike / Numeric on these keys.
    const swapped = { 'aws:CurrentTime': cond['aws:EpochTime'], 'aws:EpochTime': cond['aws:CurrentTime'] };
    expect(evaluatePolicy(p, ctx({ cond: swapped }))).toBe('Pass');
  });

  it('aws:PrincipalType is Anonymous for unsigned requests (Ceph: always User)', () => {
    const p = policy([stmt(), stmt({ Effect: 'Deny', Condition: { StringEquals: { 'aws:PrincipalType': 'Anonymous' } } })]);
    expect(evaluatePolicy(p, ctx({ principal: anonymous, cond: { 'aws:PrincipalType': 'Anonymous' } }))).toBe('Deny');
    expect(evaluatePolicy(p, ctx({ principal: alice, cond: { 'aws:PrincipalType': 'User' } }))).toBe('Allow');
  });

  it('Bool matches only true/false (Ceph: any other non-empty string is true)', () => {
    const p = policy(stmt({ Condition: { Bool: { 'aws:SecureTransport': 'true' } } }));
    expect(evaluatePolicy(p, ctx({ cond: { 'aws:SecureTransport': 'yes' } }))).toBe('Pass');
  });

  it('${aws:username} in Resource is a literal (decision §7.6; Ceph substitutes it)', () => {
    const p = policy(stmt({ Resource: `${BUCKET_ARN}/home/\${aws:username}/*` }));
    const c = { 'aws:username': 'alice' };
    expect(evaluatePolicy(p, ctx({ principal: alice, cond: c, resource: `${BUCKET_ARN}/home/alice/x` }))).toBe('Pass');
    expect(evaluatePolicy(p, ctx({ principal: alice, cond: c, resource: `${BUCKET_ARN}/home/\${aws:username}/x` }))).toBe('Allow');
  });

  it('${...} in condition values is a literal (decision §7.6; Ceph looks it up at run time)', () => {
    const p = policy(stmt({ Condition: { StringEquals: { 's3:prefix': '${aws:username}/' } } }));
    expect(evaluatePolicy(p, ctx({ cond: { 's3:prefix': 'alice/', 'aws:username': 'alice' } }))).toBe('Pass');
    expect(evaluatePolicy(p, ctx({ cond: { 's3:prefix': '${aws:username}/' } }))).toBe('Allow');
  });

  it('NotPrincipal with Allow is refused (AWS, s3-tests; Ceph accepts it)', () => {
    const s = stmt({ NotPrincipal: '*' });
    delete s.Principal;
    expectMalformed(doc(s), /NotPrincipal/);
  });

  it('condition key names match case-insensitively (AWS)', () => {
    const p = policy(stmt({ Condition: { StringEquals: { 'AWS:REFERER': 'x' } } }));
    expect(evaluatePolicy(p, ctx({ cond: { 'aws:Referer': 'x' } }))).toBe('Allow');
  });
});
