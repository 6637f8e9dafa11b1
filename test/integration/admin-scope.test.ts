// Every admin API route, walked with a token scoped to namespace team-a, against three users:
//   team-a/alice   owned by team-a   (the token's own: every route works on it)
//   team-a/b-in-a  owned by team-b   (another organisation's key in the shared namespace: invisible,
//                                     answered exactly like a user or Secret that does not exist)
//   team-b/bob     owned by team-b   (a namespace outside the scope: 403, as for an empty one)
// The routes come from the server's own table (adminRoutes): a route added without a probe here
// fails the first test. No answer to the scoped token may carry team-b's key, and nothing of
// team-b's may change. The users are seeded again before each test, so one route getting through
// does not hide another.
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminRoutes } from '../../src/admin/server.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let root: string;
let scoped: string;
let rootTokenId: string;
/** raw and base64 forms of team-b's credentials: none may appear in an answer to the scoped token */
const teamBSecrets: string[] = [];

interface Reply {
  status: number;
  text: string;
  json: any;
}

async function api(method: string, path: string, token: string, body?: string, type?: string): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (type) headers['content-type'] = type;
  const res = await request(server.admin.endpoint + path, { method: method as 'GET', headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: text ? JSON.parse(text) : undefined };
}

function manifest(name: string, namespace: string, owner: string, secretName?: string): string {
  return `apiVersion: objectstorage.coreweave.com/v1alpha1
kind: User
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  owner: ${owner}
  access: full
${secretName ? `  secretName: ${secretName}\n` : ''}`;
}

/** What root sees of everything: compared before and after the walk. */
async function everything(): Promise<string> {
  const users = await api('GET', '/v1/users', root);
  const secrets = await api('GET', '/v1/secrets', root);
  return JSON.stringify([users.json.items, secrets.json.items]);
}

async function teamB(): Promise<string> {
  const users = (await api('GET', '/v1/users', root)).json.items.filter((u: any) => u.spec.owner === 'team-b');
  const secrets = (await api('GET', '/v1/secrets', root)).json.items.filter((s: any) => ['b-in-a-secret', 'bob-secret'].includes(s.metadata.name));
  return JSON.stringify([users, secrets]);
}

function leaksNothing(r: Reply, what: string): void {
  for (const secret of teamBSecrets) expect(r.text, `${what} carries team-b's credentials`).not.toContain(secret);
}

type Call = [method: string, path: string, body?: string];

/** The scoped token's call succeeds (2xx) and answers `check`. */
async function own([method, path, body]: Call, check: (r: Reply) => void = () => undefined): Promise<void> {
  const r = await api(method, path, scoped, body, body ? 'application/yaml' : undefined);
  expect(r.status, `${method} ${path}: ${r.text}`).toBeGreaterThanOrEqual(200);
  expect(r.status, `${method} ${path}: ${r.text}`).toBeLessThan(300);
  leaksNothing(r, `${method} ${path}`);
  check(r);
}

/**
 * The scoped token's call on team-b's thing is refused with `status`, and answered exactly as the
 * same call on something that does not exist (`twin`, naming `absentName` where `call` names
 * `name`): the answer does not tell whether team-b's thing is there.
 */
async function refused(status: 403 | 404, call: Call, twin?: { call: Call; name: string; absentName: string }): Promise<void> {
  const [method, path, body] = call;
  const r = await api(method, path, scoped, body, body ? 'application/yaml' : undefined);
  expect(r.status, `${method} ${path}: ${r.text}`).toBe(status);
  expect(r.json.error.code).toBe(status === 403 ? 'Forbidden' : 'NotFound');
  leaksNothing(r, `${method} ${path}`);
  if (twin) {
    const t = await api(twin.call[0], twin.call[1], scoped, twin.call[2], twin.call[2] ? 'application/yaml' : undefined);
    expect(t.status, `${twin.call[0]} ${twin.call[1]}`).toBe(r.status);
    expect(r.json.error.message.replaceAll(twin.name, '<name>')).toBe(t.json.error.message.replaceAll(twin.absentName, '<name>'));
  }
}

function names(r: Reply): string[] {
  return r.json.items.map((i: { metadata: { namespace: string; name: string } }) => `${i.metadata.namespace}/${i.metadata.name}`).sort();
}

/** A user's S3 credentials, read from its Secret as the organisation admin. */
async function credentialsOf(secret: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const { data } = (await api('GET', `/v1/secrets/${secret}`, root)).json;
  return { accessKeyId: Buffer.from(data.accessKey, 'base64').toString(), secretAccessKey: Buffer.from(data.secretKey, 'base64').toString() };
}

/** Buckets for the policy probes: scope-a owned by team-a (alice), scope-b by team-b (bob). */
async function policyBuckets(): Promise<void> {
  for (const [bucket, secret] of [['scope-a', 'alice-secret'], ['scope-b', 'bob-secret']]) {
    await server.client({ credentials: await credentialsOf(secret) }).send(new CreateBucketCommand({ Bucket: bucket })).catch((e) => expect(e.name).toBe('BucketAlreadyOwnedByYou'));
  }
}

const probes: Record<string, () => Promise<void>> = {
  'GET /v1/whoami': () => own(['GET', '/v1/whoami'], (r) => expect(r.json.namespaces).toEqual(['team-a'])),
  'GET /v1/info': () => own(['GET', '/v1/info'], (r) => expect(r.json.s3Port).toBe(server.port)),

  'GET /v1/users': async () => {
    for (const path of ['/v1/users', '/v1/users?namespace=team-a']) {
      await own(['GET', path], (r) => {
        expect(names(r)).toContain('team-a/alice');
        expect(names(r)).not.toContain('team-a/b-in-a');
        expect(r.json.items.every((u: any) => u.metadata.namespace === 'team-a' && u.spec.owner === 'team-a')).toBe(true);
      });
    }
    await own(['GET', '/v1/users?name=alice'], (r) => expect(names(r)).toEqual(['team-a/alice']));
    // team-b's user in team-a is not listed, by name or otherwise
    await own(['GET', '/v1/users?name=b-in-a'], (r) => expect(r.json.items).toEqual([]));
    await own(['GET', '/v1/users?namespace=team-a&name=b-in-a'], (r) => expect(r.json.items).toEqual([]));
    await refused(403, ['GET', '/v1/users?namespace=team-b'], { call: ['GET', '/v1/users?namespace=team-zz'], name: 'team-b', absentName: 'team-zz' });
  },

  'POST /v1/users': async () => {
    await own(['POST', '/v1/users', manifest('alice', 'team-a', 'team-a', 'alice-secret')], (r) => expect(r.json.results[0].result).toBe('unchanged'));
    await own(['POST', '/v1/users', manifest('alice-new', 'team-a', 'team-a')], (r) => expect(r.json.results[0].result).toBe('created'));
    // Taking over team-b's user (its name is taken in the shared namespace: refused, not changed)
    await refused(403, ['POST', '/v1/users', manifest('b-in-a', 'team-a', 'team-a', 'b-in-a-secret')]);
    await refused(403, ['POST', '/v1/users', manifest('b-in-a', 'team-a', 'team-b', 'b-in-a-secret')]);
    await refused(403, ['POST', '/v1/users', manifest('bob', 'team-b', 'team-b', 'bob-secret')]);
    await refused(403, ['POST', '/v1/users', manifest('new-b', 'team-a', 'team-b')]);
    // Another organisation's Secret name is taken, but its holder is not named
    const r = await api('POST', '/v1/users', scoped, manifest('steal', 'team-a', 'team-a', 'bob-secret'), 'application/yaml');
    expect(r.status).toBe(409);
    expect(r.json.error.message).toMatch(/^secret "bob-secret" is already taken by another user; /);
    expect(r.text).not.toContain('team-b');
  },

  'GET /v1/users/:namespace/:name': async () => {
    await own(['GET', '/v1/users/team-a/alice'], (r) => expect(r.json.spec.owner).toBe('team-a'));
    await refused(404, ['GET', '/v1/users/team-a/b-in-a'], { call: ['GET', '/v1/users/team-a/nobody'], name: 'b-in-a', absentName: 'nobody' });
    await refused(403, ['GET', '/v1/users/team-b/bob'], { call: ['GET', '/v1/users/team-b/nobody'], name: 'bob', absentName: 'nobody' });
  },

  'DELETE /v1/users/:namespace/:name': async () => {
    await refused(404, ['DELETE', '/v1/users/team-a/b-in-a'], { call: ['DELETE', '/v1/users/team-a/nobody'], name: 'b-in-a', absentName: 'nobody' });
    await refused(403, ['DELETE', '/v1/users/team-b/bob'], { call: ['DELETE', '/v1/users/team-b/nobody'], name: 'bob', absentName: 'nobody' });
    await own(['DELETE', '/v1/users/team-a/alice-temp'], (r) => expect(r.json.user.metadata.name).toBe('alice-temp'));
  },

  'GET /v1/secrets': async () => {
    for (const path of ['/v1/secrets', '/v1/secrets?namespace=team-a']) {
      await own(['GET', path], (r) => {
        expect(r.json.items.map((s: any) => s.metadata.name)).toContain('alice-secret');
        expect(r.json.items.map((s: any) => s.metadata.name)).not.toContain('b-in-a-secret');
      });
    }
    await refused(403, ['GET', '/v1/secrets?namespace=team-b'], { call: ['GET', '/v1/secrets?namespace=team-zz'], name: 'team-b', absentName: 'team-zz' });
  },

  'GET /v1/secrets/:name': async () => {
    await own(['GET', '/v1/secrets/alice-secret'], (r) => expect(r.json.metadata).toMatchObject({ name: 'alice-secret', namespace: 'team-a' }));
    await own(['GET', '/v1/secrets/alice-secret?namespace=team-a']);
    for (const [name, query] of [['b-in-a-secret', ''], ['b-in-a-secret', '?namespace=team-a'], ['bob-secret', '']]) {
      await refused(404, ['GET', `/v1/secrets/${name}${query}`], { call: ['GET', `/v1/secrets/nosuch-secret${query}`], name, absentName: 'nosuch-secret' });
    }
    await refused(403, ['GET', '/v1/secrets/bob-secret?namespace=team-b'], { call: ['GET', '/v1/secrets/nosuch-secret?namespace=team-b'], name: 'bob-secret', absentName: 'nosuch-secret' });
  },

  'GET /v1/secrets/:namespace/:name': async () => {
    await own(['GET', '/v1/secrets/team-a/alice-secret']);
    await refused(404, ['GET', '/v1/secrets/team-a/b-in-a-secret'], { call: ['GET', '/v1/secrets/team-a/nosuch-secret'], name: 'b-in-a-secret', absentName: 'nosuch-secret' });
    await refused(403, ['GET', '/v1/secrets/team-b/bob-secret'], { call: ['GET', '/v1/secrets/team-b/nosuch-secret'], name: 'bob-secret', absentName: 'nosuch-secret' });
  },

  // Tokens are managed by organisation admins only: refused for the scoped token, even for its own namespace.
  'GET /v1/tokens': () => refused(403, ['GET', '/v1/tokens']),
  'POST /v1/tokens': async () => {
    for (const namespaces of ['*', ['team-b'], ['team-a']]) {
      const r = await api('POST', '/v1/tokens', scoped, JSON.stringify({ namespaces }), 'application/json');
      expect(r.status).toBe(403);
    }
  },
  // Explanations only for buckets of the token's organisations, as callers it may see; another
  // organisation's bucket is refused exactly like one that does not exist, an invisible user like an absent one.
  'POST /v1/policy/explain': async () => {
    await policyBuckets();
    const explain = (input: object) => api('POST', '/v1/policy/explain', scoped, JSON.stringify({ action: 's3:ListBucket', ...input }), 'application/json');
    const mine = await explain({ bucket: 'scope-a', as: 'team-a/alice' });
    expect(mine.status, mine.text).toBe(200);
    expect(mine.json).toMatchObject({ decision: 'Allow', decidedBy: 'owner-level' });
    leaksNothing(mine, 'explain scope-a');
    const same = async (a: Reply, b: Reply, name: string, absent: string) => {
      expect(a.status).toBe(b.status);
      expect(a.json.error.message.replaceAll(name, '<name>')).toBe(b.json.error.message.replaceAll(absent, '<name>'));
      leaksNothing(a, 'explain');
    };
    const other = await explain({ bucket: 'scope-b', anonymous: true });
    expect(other.status).toBe(403);
    await same(other, await explain({ bucket: 'scope-zz', anonymous: true }), 'scope-b', 'scope-zz');
    const invisible = await explain({ bucket: 'scope-a', as: 'team-a/b-in-a' });
    expect(invisible.status).toBe(404);
    await same(invisible, await explain({ bucket: 'scope-a', as: 'team-a/nobody' }), 'b-in-a', 'nobody');
    const byKey = await explain({ bucket: 'scope-a', as: (await credentialsOf('b-in-a-secret')).accessKeyId });
    expect(byKey.status).toBe(404);
  },
  // Only buckets of the token's organisations, and only the keys it may see.
  'POST /v1/policy/who-can': async () => {
    await policyBuckets();
    const who = (bucket: string) => api('POST', '/v1/policy/who-can', scoped, JSON.stringify({ bucket, action: 's3:ListBucket' }), 'application/json');
    const mine = await who('scope-a');
    expect(mine.status, mine.text).toBe(200);
    const names = mine.json.users.map((u: any) => `${u.namespace}/${u.user}`);
    expect(names).toContain('team-a/alice');
    expect(names).not.toContain('team-a/b-in-a');
    expect(names).not.toContain('team-b/bob');
    leaksNothing(mine, 'who-can scope-a');
    const other = await who('scope-b');
    const absent = await who('scope-zz');
    expect(other.status).toBe(403);
    expect(absent.status).toBe(403);
    expect(other.json.error.message.replaceAll('scope-b', '<name>')).toBe(absent.json.error.message.replaceAll('scope-zz', '<name>'));
  },
  'DELETE /v1/tokens/:id': () => refused(403, ['DELETE', `/v1/tokens/${rootTokenId}`], { call: ['DELETE', '/v1/tokens/nosuchtoken12'], name: rootTokenId, absentName: 'nosuchtoken12' }),
  // Topics and the outbox belong to the operator: organisation-admin tokens only, like tokens.
  'GET /v1/topics': () => refused(403, ['GET', '/v1/topics']),
  'POST /v1/topics': async () => {
    const r = await api('POST', '/v1/topics', scoped, JSON.stringify({ name: 't', organisation: 'team-a', 'push-endpoint': 'http://127.0.0.1:9/' }), 'application/json');
    expect(r.status).toBe(403);
  },
  'DELETE /v1/topics/:region/:organisation/:name': () => refused(403, ['DELETE', '/v1/topics/lga1/team-a/t']),
  'GET /v1/events': () => refused(403, ['GET', '/v1/events']),
};

/** The three users (again, should a probe have got through to one), and team-b's credentials. */
async function seed(): Promise<void> {
  const body = [
    manifest('alice', 'team-a', 'team-a', 'alice-secret'),
    manifest('alice-temp', 'team-a', 'team-a', 'alice-temp-secret'),
    manifest('b-in-a', 'team-a', 'team-b', 'b-in-a-secret'),
    manifest('bob', 'team-b', 'team-b', 'bob-secret'),
  ].join('---\n');
  expect((await api('POST', '/v1/users', root, body, 'application/yaml')).status).toBeLessThan(300);
  teamBSecrets.length = 0;
  for (const name of ['b-in-a-secret', 'bob-secret']) {
    const { data } = (await api('GET', `/v1/secrets/${name}`, root)).json;
    for (const value of [data.accessKey, data.secretKey]) teamBSecrets.push(value, Buffer.from(value, 'base64').toString());
  }
}

beforeAll(async () => {
  server = await startTestServer();
  root = (server as TestServer & { adminToken?: string }).adminToken!;
  rootTokenId = (await api('GET', '/v1/whoami', root)).json.id;
  const created = await api('POST', '/v1/tokens', root, JSON.stringify({ namespaces: ['team-a'], name: 'team-a' }), 'application/json');
  scoped = created.json.token;
});
beforeEach(seed);
afterAll(async () => {
  await server?.stop();
});

describe('a token scoped to team-a, on every admin route', () => {
  it('every route in the server table has a probe here', () => {
    expect(Object.keys(probes).sort()).toEqual(adminRoutes.map((r) => `${r.method} ${r.path}`).sort());
  });

  for (const { method, path } of adminRoutes) {
    it(`${method} ${path}: team-a's own works, team-b's is refused as if absent, nothing of team-b's changes`, async () => {
      const before = await teamB();
      await probes[`${method} ${path}`]();
      expect(await teamB()).toBe(before);
    });
  }

  it('the organisation admin still sees and manages team-b in team-a', async () => {
    const all = await everything();
    expect(all).toContain('b-in-a-secret');
    expect((await api('GET', '/v1/secrets/team-a/b-in-a-secret', root)).status).toBe(200);
    expect((await api('GET', '/v1/tokens', root)).status).toBe(200);
  });
});
