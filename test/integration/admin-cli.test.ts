// The admin CLI as a user runs it: the real bin/strata, on the data root of a running server,
// following the seed's kubectl walkthrough word for word, plus every refusal (each with a clear
// message, a non-zero exit and no change of state), the live effect on S3 requests, the API
// model (--server/--token), and an s3cmd configuration driven by the real s3cmd.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRESH_MS } from '../../src/identity/identity-postgres.ts';
import { eventually } from '../helpers/async.ts';
import { errorCode, rawRequest } from '../helpers/raw.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { runProcess as runIn, type Run } from '../helpers/processes.ts';
import { collapse, seedManifest } from '../helpers/seed.ts';

const strataBin = resolve(import.meta.dirname, '../../bin/strata');

let server: TestServer;
let adminToken: string;
let work: string;

/** A command run in the test's work directory unless told otherwise. */
function runProcess(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<Run> {
  return runIn(cmd, args, { ...options, cwd: options.cwd ?? work });
}

/** The CLI works on the server's identity: its data root, and its database when there is one. */
function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: work,
    STRATA_DATA_DIR: server.dataDir,
    STRATA_METADATA_URL: server.services.config.metadataUrl ?? '',
    STRATA_PORT: String(server.port),
    ...extra,
  };
}

/** bin/strata with STRATA_DATA_DIR pointing at the running server's data root (and STRATA_METADATA_URL at its database). */
function strata(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Run> {
  return runProcess(strataBin, args, { env: cliEnv(options.env), input: options.input });
}

/** A shell pipeline exactly as the seed writes it, with `strata` for `kubectl`. */
function sh(script: string): Promise<Run> {
  mkdirSync(join(work, 'bin'), { recursive: true });
  return runProcess('bash', ['-c', script], { env: cliEnv({ PATH: `${join(work, 'bin')}:${process.env.PATH}` }) });
}

function manifest(name: string, namespace: string, access: string, extra: { owner?: string; secretName?: string } = {}): string {
  return [
    'apiVersion: objectstorage.coreweave.com/v1alpha1',
    'kind: User',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    'spec:',
    `  owner: ${extra.owner ?? namespace}`,
    `  access: ${access}`,
    ...(extra.secretName ? [`  secretName: ${extra.secretName}`] : []),
    '',
  ].join('\n');
}

function file(name: string, text: string): string {
  const p = join(work, name);
  writeFileSync(p, text);
  return p;
}

async function credentialsOf(secretName: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const r = await strata(['get', 'secrets', secretName, '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  const s = JSON.parse(r.stdout) as { data: { accessKey: string; secretKey: string } };
  return { accessKeyId: Buffer.from(s.data.accessKey, 'base64').toString(), secretAccessKey: Buffer.from(s.data.secretKey, 'base64').toString() };
}

/**
 * The whole identity state (users, their secrets, tokens), read through the running server's
 * own connection, to show that a refused command changed nothing (and that the server sees it).
 */
async function state(): Promise<string> {
  const identity = server.services.identity;
  const keys = await identity.listKeys();
  return JSON.stringify({ keys, secrets: await Promise.all(keys.map((k) => identity.secretOf(k.accessKey))), tokens: await identity.tokens.list() });
}

/** How long a change made through the CLI may take to reach the server: at once on SQLite. */
function identityBound(): number {
  return server.services.config.metadataUrl ? FRESH_MS + 500 : 0;
}

/** What the identity store keeps (its files, or its rows in PostgreSQL), as text: for "the token is never stored". */
async function storedIdentity(): Promise<string> {
  const url = server.services.config.metadataUrl;
  if (!url) {
    const files = ['identity.db', 'identity.db-wal'].map((f) => join(server.dataDir, f)).filter((f) => existsSync(f));
    return files.map((f) => readFileSync(f).toString('latin1')).join('');
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ dump: string | null }>("SELECT string_agg(t::text, E'\\n') AS dump FROM strata_identity.admin_tokens t")).rows[0].dump ?? '';
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  server = await startTestServer();
  adminToken = (server as TestServer & { adminToken?: string }).adminToken!;
  work = mkdtempSync(join(tmpdir(), 'strata-admin-cli-'));
  mkdirSync(join(work, 'bin'), { recursive: true });
  // `strata` on PATH for the shell pipelines
  writeFileSync(join(work, 'bin', 'strata'), `#!/usr/bin/env bash\nexec ${JSON.stringify(strataBin)} "$@"\n`, { mode: 0o755 });
});
afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the seed's walkthrough, verbatim", () => {
  it('apply -f object-storage-crd.yaml → created; the key works at once; get, secrets, jsonpath | base64 --decode; delete → 403', async () => {
    file('object-storage-crd.yaml', seedManifest);
    const apply = await sh('strata apply -f object-storage-crd.yaml');
    expect(apply.stderr).toBe('');
    expect(apply.stdout).toBe('user.objectstorage.coreweave.com/my-example created\n');
    expect(apply.code).toBe(0);

    // $ kubectl get users.objectstorage.coreweave.com
    const get = await strata(['get', 'users.objectstorage.coreweave.com']);
    expect(get.code).toBe(0);
    const lines = get.stdout.split('\n');
    expect(lines[0]).toBe('NAME         OWNER          ACCESS   OBJECT STORAGE ACCESS   OBJECT STORAGE ID');
    expect(lines).toContain('my-example   my-namespace   full     ACTIVE                  my-namespace:my-example');
    const inNs = await strata(['get', 'users.objectstorage.coreweave.com', '-n', 'my-namespace']);
    expect(collapse(inNs.stdout)).toBe('NAME OWNER ACCESS OBJECT STORAGE ACCESS OBJECT STORAGE ID\nmy-example my-namespace full ACTIVE my-namespace:my-example');
    expect(inNs.stdout).toBe('NAME         OWNER          ACCESS   OBJECT STORAGE ACCESS   OBJECT STORAGE ID\nmy-example   my-namespace   full     ACTIVE                  my-namespace:my-example\n');
    // `strata get users` is the same listing
    expect((await strata(['get', 'users', '-n', 'my-namespace'])).stdout).toBe(inNs.stdout);

    // $ kubectl get secrets
    const secrets = await strata(['get', 'secrets', '-n', 'my-namespace']);
    expect(secrets.code).toBe(0);
    expect(secrets.stdout).toMatch(/^NAME {16}TYPE {5}DATA {3}AGE\nmy-example-secret {3}Opaque {3}2 {6}\d+s\n$/);

    // $ kubectl get secrets my-example-secret -o jsonpath='{.data.accessKey}' | base64 --decode
    const ak = await sh("strata get secrets my-example-secret \\\n  -o jsonpath='{.data.accessKey}' | base64 --decode");
    expect(ak.code).toBe(0);
    expect(ak.stdout).toMatch(/^[A-Z0-9]{20}$/);
    const sk = await sh("strata get secrets my-example-secret \\\n  -o jsonpath='{.data.secretKey}' | base64 --decode");
    expect(sk.stdout).toMatch(/^[A-Za-z0-9/+]{40}$/);

    // the key works at once against the running server (no restart)
    const creds = { accessKeyId: ak.stdout, secretAccessKey: sk.stdout };
    const list = await rawRequest(server.port, { path: '/', sign: creds });
    expect(list.status, list.text).toBe(200);
    // a full key may create buckets and write objects
    expect((await rawRequest(server.port, { method: 'PUT', path: '/seed-bucket', sign: creds })).status).toBe(200);
    expect((await rawRequest(server.port, { method: 'PUT', path: '/seed-bucket/kept.txt', body: 'data stays', sign: creds })).status).toBe(200);

    // $ kubectl delete users.objectstorage.coreweave.com my-example
    const del = await strata(['delete', 'users.objectstorage.coreweave.com', 'my-example']);
    expect(del.stdout).toBe('user.objectstorage.coreweave.com "my-example" deleted\n');
    expect(del.code).toBe(0);
    // "The corresponding Secret is deleted automatically."
    const gone = await strata(['get', 'secrets', 'my-example-secret']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('error: secrets "my-example-secret" not found\n');
    expect((await strata(['get', 'users', '-n', 'my-namespace'])).stderr).toBe('No resources found in my-namespace namespace.\n');
    // the deleted key stops working at once (on PostgreSQL, within the identity caches' bound)
    await eventually(async () => {
      const after = await rawRequest(server.port, { path: '/', sign: creds });
      expect(after.status).toBe(403);
      expect(errorCode(after.text)).toBe('InvalidAccessKeyId');
    }, identityBound());

    // "Even when all tokens in the organization are deleted, the data is untouched."
    expect((await strata(['apply', '-f', join(work, 'object-storage-crd.yaml')])).stdout).toBe('user.objectstorage.coreweave.com/my-example created\n');
    const fresh = await credentialsOf('my-example-secret');
    expect(fresh.accessKeyId).not.toBe(creds.accessKeyId);
    const kept = await rawRequest(server.port, { path: '/seed-bucket/kept.txt', sign: fresh });
    expect(kept.status).toBe(200);
    expect(kept.text).toBe('data stays');
  });

  it('re-apply: unchanged when identical, configured when the access level changes, which takes effect at once', async () => {
    const path = file('level.yaml', manifest('leveled', 'team-a', 'read'));
    expect((await strata(['apply', '-f', path])).stdout).toBe('user.objectstorage.coreweave.com/leveled created\n');
    const creds = await credentialsOf('team-a-leveled-obj-store-creds');
    expect((await strata(['apply', '-f', path])).stdout).toBe('user.objectstorage.coreweave.com/leveled unchanged\n');
    // read cannot create buckets
    const denied = await rawRequest(server.port, { method: 'PUT', path: '/level-bucket', sign: creds });
    expect(denied.status).toBe(403);
    expect(errorCode(denied.text)).toBe('AccessDenied');
    writeFileSync(path, manifest('leveled', 'team-a', 'full'));
    const configured = await strata(['apply', '-f', path]);
    expect(configured.stdout).toBe('user.objectstorage.coreweave.com/leveled configured\n');
    // same credentials, new level, no restart
    expect(await credentialsOf('team-a-leveled-obj-store-creds')).toEqual(creds);
    await eventually(async () => expect((await rawRequest(server.port, { method: 'PUT', path: '/level-bucket', sign: creds })).status).toBe(200), identityBound());
    const row = (await strata(['get', 'users', 'leveled'])).stdout.split('\n')[1];
    expect(collapse(row)).toBe('leveled team-a full ACTIVE team-a:leveled');
  });

  it('names the secret <namespace>-<metadata.name>-obj-store-creds by default', async () => {
    expect((await strata(['apply', '-f', file('default-secret.yaml', manifest('defaulted', 'ns-d', 'readwrite'))])).code).toBe(0);
    const r = await strata(['get', 'secrets', 'ns-d-defaulted-obj-store-creds', '-o', 'jsonpath={.metadata.name} {.type} {.metadata.ownerReferences[0].name}']);
    expect(r.stdout).toBe('ns-d-defaulted-obj-store-creds Opaque defaulted');
  });

  it('prints whole objects with -o json, -o yaml and -o name', async () => {
    const json = JSON.parse((await strata(['get', 'users', 'defaulted', '-o', 'json'])).stdout);
    expect(json).toMatchObject({
      apiVersion: 'objectstorage.coreweave.com/v1alpha1',
      kind: 'User',
      metadata: { name: 'defaulted', namespace: 'ns-d' },
      spec: { owner: 'ns-d', access: 'readwrite', secretName: 'ns-d-defaulted-obj-store-creds' },
      status: { objectStorageAccess: 'ACTIVE', objectStorageId: 'ns-d:defaulted' },
    });
    const yaml = (await strata(['get', 'secrets', 'ns-d-defaulted-obj-store-creds', '-o', 'yaml'])).stdout;
    expect(yaml).toMatch(/^apiVersion: v1\nkind: Secret\nmetadata:\n  name: ns-d-defaulted-obj-store-creds\n  namespace: ns-d\n/);
    expect(yaml).toMatch(/\ntype: Opaque\ndata:\n  accessKey: [A-Za-z0-9+/=]+\n  secretKey: [A-Za-z0-9+/=]+\n$/);
    const list = JSON.parse((await strata(['get', 'secrets', '-n', 'ns-d', '-o', 'json'])).stdout);
    expect(list.kind).toBe('List');
    expect(list.items).toHaveLength(1);
    expect((await strata(['get', 'users', '-n', 'ns-d', '-o', 'name'])).stdout).toBe('user.objectstorage.coreweave.com/defaulted\n');
    // what get -o yaml prints can be applied back
    const back = file('roundtrip.yaml', (await strata(['get', 'users', 'defaulted', '-n', 'ns-d', '-o', 'yaml'])).stdout);
    expect((await strata(['apply', '-f', back])).stdout).toBe('user.objectstorage.coreweave.com/defaulted unchanged\n');
  });

  it('applies several documents, from a file or stdin, and deletes with -f', async () => {
    const two = manifest('multi-a', 'ns-m', 'read') + '---\n' + manifest('multi-b', 'ns-m', 'write');
    const r = await strata(['apply', '-f', '-'], { input: two });
    expect(r.stdout).toBe('user.objectstorage.coreweave.com/multi-a created\nuser.objectstorage.coreweave.com/multi-b created\n');
    const del = await strata(['delete', '-f', file('multi.yaml', two)]);
    expect(del.stdout).toBe('user.objectstorage.coreweave.com "multi-a" deleted\nuser.objectstorage.coreweave.com "multi-b" deleted\n');
  });
});

describe('refusals: a clear message, a non-zero exit, no change', () => {
  const cases: [string, () => string[] | Promise<string[]>, RegExp][] = [
    ['malformed YAML', () => ['apply', '-f', file('bad-yaml.yaml', seedManifest.replace('  owner:', '\towner:'))], /^error: error parsing ".*bad-yaml\.yaml": line 7: Tabs are not allowed as indentation/],
    ['an unterminated quote', () => ['apply', '-f', file('bad-quote.yaml', seedManifest.replace('name: my-example', 'name: "my-example'))], /bad-quote\.yaml": line \d+: Missing closing "quote/],
    ['an unknown access level', () => ['apply', '-f', file('bad-level.yaml', manifest('lvl', 'ns-x', 'admin'))], /spec\.access: Unsupported value: "admin": supported values: "full", "readwrite", "read", "write"/],
    ['a wrong apiVersion', () => ['apply', '-f', file('bad-api.yaml', seedManifest.replace('v1alpha1', 'v1'))], /apiVersion: Unsupported value: "objectstorage\.coreweave\.com\/v1"/],
    ['a wrong kind', () => ['apply', '-f', file('bad-kind.yaml', seedManifest.replace('kind: User', 'kind: Bucket'))], /kind: Unsupported value: "Bucket": supported values: "User"/],
    ['missing fields', () => ['apply', '-f', file('bad-missing.yaml', 'apiVersion: objectstorage.coreweave.com/v1alpha1\nkind: User\nmetadata:\n  name: x\nspec:\n  access: read\n')], /metadata\.namespace: Required value.*spec\.owner: Required value/],
    ['an unknown field', () => ['apply', '-f', file('bad-field.yaml', seedManifest + '  quota: 5\n')], /unknown field "spec\.quota"/],
    ['a valid document followed by a bad one', () => ['apply', '-f', file('bad-second.yaml', manifest('first-ok', 'ns-x', 'read') + '---\n' + manifest('second', 'ns-x', 'root'))], /\(document 2\).*Unsupported value: "root"/],
    ['a missing file', () => ['apply', '-f', join(work, 'nope.yaml')], /the path ".*nope\.yaml" cannot be read: no such file or directory/],
    ['apply without -f', () => ['apply'], /must specify -f FILE/],
    ['an unknown resource type', () => ['get', 'pods'], /doesn't have a resource type "pods"/],
    ['deleting a user that does not exist', () => ['delete', 'users.objectstorage.coreweave.com', 'nobody'], /^error: users\.objectstorage\.coreweave\.com "nobody" not found/],
    ['deleting a secret directly', () => ['delete', 'secrets', 'my-example-secret'], /deleted with it/],
    ['a bad output format', () => ['get', 'secrets', '-o', 'xml'], /allowed formats are: json,jsonpath,name,yaml/],
    ['an unknown flag', () => ['get', 'users', '--frobnicate', 'x'], /unknown flag --frobnicate/],
    ['a token without namespaces', () => ['token', 'create'], /a token needs namespaces/],
    ['a token with a bad namespace', () => ['token', 'create', '--namespace', 'Bad_NS'], /namespace "Bad_NS": a lowercase RFC 1123 label/],
    ['revoking an unknown token', () => ['token', 'revoke', 'doesnotexist'], /token "doesnotexist" not found/],
    ['--server without --token', () => ['get', 'users', '--server', 'http://127.0.0.1:1'], /--server needs --token TOKEN/],
    ['an unreachable admin API', () => ['get', 'users', '--server', 'http://127.0.0.1:1', '--token', 'sat_x'], /cannot reach the admin API at http:\/\/127\.0\.0\.1:1/],
  ];
  for (const [what, args, message] of cases) {
    it(`refuses ${what}`, async () => {
      const before = await state();
      const r = await strata(await args());
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      expect(await state()).toBe(before);
    });
  }

  it('refuses a secret name that another user holds, and changes nothing', async () => {
    expect((await strata(['apply', '-f', file('holder.yaml', manifest('holder', 'ns-s', 'read', { secretName: 'shared-secret' }))])).code).toBe(0);
    const before = await state();
    const r = await strata(['apply', '-f', file('taker.yaml', manifest('taker', 'ns-t', 'full', { secretName: 'shared-secret' }))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: secret "shared-secret" already belongs to user "holder" in namespace "ns-s"; two users may not share a secret name (deleting one user would delete the other\'s credentials). ' +
        'Choose another spec.secretName, or leave it out for the default "<namespace>-<name>-obj-store-creds"\n',
    );
    expect(await state()).toBe(before);
    // also when the clash is inside one file: nothing of that file is applied
    const both = manifest('one', 'ns-u', 'read', { secretName: 'twice' }) + '---\n' + manifest('two', 'ns-u', 'read', { secretName: 'twice' });
    expect((await strata(['apply', '-f', file('twice.yaml', both)])).code).toBe(1);
    expect(await state()).toBe(before);
  });

  it('asks for -n when a name exists in several namespaces', async () => {
    await strata(['apply', '-f', '-'], { input: manifest('twin', 'ns-p', 'read') + '---\n' + manifest('twin', 'ns-q', 'read') });
    const r = await strata(['delete', 'users', 'twin']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/user "twin" exists in several namespaces \(ns-p, ns-q\); pass -n NAMESPACE/);
    expect((await strata(['delete', 'users', 'twin', '-n', 'ns-q'])).stdout).toBe('user.objectstorage.coreweave.com "twin" deleted\n');
  });

  it('refuses to guess a data root', async () => {
    const r = await runProcess(strataBin, ['get', 'users'], { env: { PATH: process.env.PATH, STRATA_DATA_DIR: join(work, 'no-such-root') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no Strata data root at .*no-such-root \(identity\.db not found\)/);
    expect(existsSync(join(work, 'no-such-root'))).toBe(false);
  });
});

describe('tokens from the CLI', () => {
  it('create (shown once) / list / revoke, and the admin API honours them', async () => {
    const created = await strata(['token', 'create', '--namespace', 'ns1,ns2', '--name', 'ci']);
    expect(created.code).toBe(0);
    const token = /token: +(sat_\S+)/.exec(created.stdout)![1];
    const id = /^token\/(\S+) created/.exec(created.stdout)![1];
    expect(created.stdout).toContain('shown only this once');
    const list = await strata(['token', 'list']);
    expect(list.stdout).toMatch(new RegExp(`^ID +NAME +NAMESPACES +STATUS +AGE\\n`));
    expect(list.stdout).toMatch(new RegExp(`\\n${id} +ci +ns1,ns2 +active +\\d+s\\n`));
    expect(list.stdout).not.toContain(token);
    expect((await storedIdentity()).includes(token)).toBe(false);

    const who = await fetch(`${server.admin.endpoint}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(who.status).toBe(200);
    expect(await who.json()).toEqual({ id, name: 'ci', namespaces: ['ns1', 'ns2'] });

    expect((await strata(['token', 'revoke', id])).stdout).toBe(`token "${id}" revoked\n`);
    expect((await strata(['token', 'revoke', id])).stdout).toBe(`token "${id}" already revoked\n`);
    await eventually(async () => {
      const denied = await fetch(`${server.admin.endpoint}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
      expect(denied.status).toBe(401);
      expect(await denied.json()).toEqual({ error: { code: 'Unauthorized', message: 'the token has been revoked' } });
    }, identityBound());
    expect((await strata(['token', 'list'])).stdout).toMatch(new RegExp(`\\n${id} +ci +ns1,ns2 +revoked`));
  });

  it('-o jsonpath prints just the token, for scripts; --all-namespaces makes an organisation-admin token', async () => {
    const r = await strata(['token', 'create', '--all-namespaces', '-o', 'jsonpath={.token}']);
    expect(r.stdout).toMatch(/^sat_[a-z2-7]{12}_[0-9a-f]{64}$/);
    const who = await fetch(`${server.admin.endpoint}/v1/whoami`, { headers: { authorization: `Bearer ${r.stdout}` } });
    expect(((await who.json()) as { namespaces: string[] }).namespaces).toEqual(['*']);
  });
});

describe('the API model: --server URL --token TOKEN', () => {
  it('apply / get / jsonpath / delete through the admin API, same outputs', async () => {
    const api = ['--server', server.admin.endpoint, '--token', adminToken];
    const path = file('api-user.yaml', manifest('via-api', 'ns-api', 'readwrite', { secretName: 'via-api-secret' }));
    expect((await strata(['apply', '-f', path, ...api])).stdout).toBe('user.objectstorage.coreweave.com/via-api created\n');
    expect((await strata(['apply', '-f', path, ...api])).stdout).toBe('user.objectstorage.coreweave.com/via-api unchanged\n');
    const get = await strata(['get', 'users.objectstorage.coreweave.com', '-n', 'ns-api', ...api]);
    expect(get.stdout).toBe('NAME      OWNER    ACCESS      OBJECT STORAGE ACCESS   OBJECT STORAGE ID\nvia-api   ns-api   readwrite   ACTIVE                  ns-api:via-api\n');
    const ak = await strata(['get', 'secrets', 'via-api-secret', '-o', 'jsonpath={.data.accessKey}', ...api]);
    const local = await strata(['get', 'secrets', 'via-api-secret', '-o', 'jsonpath={.data.accessKey}']);
    expect(ak.stdout).toBe(local.stdout);
    // environment variables instead of flags
    const env = { STRATA_ADMIN_URL: server.admin.endpoint, STRATA_ADMIN_TOKEN: adminToken, STRATA_DATA_DIR: join(work, 'not-used') };
    expect((await strata(['get', 'secrets', '-n', 'ns-api'], { env })).stdout).toMatch(/^NAME +TYPE +DATA +AGE\nvia-api-secret +Opaque +2 +\d+s\n$/);
    expect((await strata(['delete', 'users.objectstorage.coreweave.com', 'via-api'], { env })).stdout).toBe('user.objectstorage.coreweave.com "via-api" deleted\n');
    expect((await strata(['get', 'secrets', 'via-api-secret'])).code).toBe(1);
  });

  it('a scoped token cannot reach outside its namespaces; a forged one is refused', async () => {
    const t = (await strata(['token', 'create', '--namespace', 'ns-scoped', '-o', 'jsonpath={.token}'])).stdout;
    const api = ['--server', server.admin.endpoint, '--token', t];
    expect((await strata(['apply', '-f', file('scoped-ok.yaml', manifest('mine', 'ns-scoped', 'read')), ...api])).code).toBe(0);
    const before = await state();
    const out = await strata(['apply', '-f', file('scoped-bad.yaml', manifest('theirs', 'ns-other', 'full')), ...api]);
    expect(out.code).toBe(1);
    expect(out.stderr).toBe('error: the token may not manage users in namespace "ns-other"\n');
    const forgedToken = t.slice(0, -1) + (t.endsWith('a') ? 'b' : 'a'); // always differs from t
    const forged = await strata(['get', 'users', '--server', server.admin.endpoint, '--token', forgedToken]);
    expect(forged.code).toBe(1);
    expect(forged.stderr).toBe('error: the token is not valid\n');
    expect(await state()).toBe(before);
    // it sees only its namespace
    expect(collapse((await strata(['get', 'users', ...api])).stdout)).toBe('NAME OWNER ACCESS OBJECT STORAGE ACCESS OBJECT STORAGE ID\nmine ns-scoped read ACTIVE ns-scoped:mine');
  });
});

describe('s3cmd-config', () => {
  it('defaults to the key\u2019s own default region, which get users -o yaml shows', async () => {
    await server.services.identity.addKey({ org: 'ns-region', user: 'ord-user', namespace: 'ns-region', level: 'read', accessKey: 'AKORDUSER00000000001', secretKey: 'ord-user-secret-000000000000000001', secretName: 'ns-region-ord-user-obj-store-creds', defaultRegion: 'ord1' });
    const yaml = await strata(['get', 'users', 'ord-user', '-n', 'ns-region', '-o', 'yaml']);
    expect(yaml.stdout).toContain('defaultRegion: ord1');
    const cfg = await strata(['s3cmd-config', '--user', 'ord-user', '--namespace', 'ns-region']);
    expect(cfg.code, cfg.stderr).toBe(0);
    expect(cfg.stdout).toContain('host_base = object.ord1.');
    expect((await strata(['s3cmd-config', '--user', 'ord-user', '--namespace', 'ns-region', '--region', 'las1'])).stdout).toContain('host_base = object.las1.');
  });

  it('prints a config that the real s3cmd uses unedited', async () => {
    await strata(['apply', '-f', file('s3cmd-user.yaml', manifest('s3cmd-user', 'ns-s3cmd', 'full'))]);
    const cfg = await strata(['s3cmd-config', '--user', 's3cmd-user', '--namespace', 'ns-s3cmd', '--endpoint', `127.0.0.1:${server.port}`, '--path-style']);
    expect(cfg.code, cfg.stderr).toBe(0);
    const creds = await credentialsOf('ns-s3cmd-s3cmd-user-obj-store-creds');
    expect(cfg.stdout).toContain(`[default]\naccess_key = ${creds.accessKeyId}\nsecret_key = ${creds.secretAccessKey}\nhost_base = 127.0.0.1:${server.port}\nhost_bucket = 127.0.0.1:${server.port}\nbucket_location = default\nsignature_v2 = False\nuse_https = False\n`);
    const cfgFile = file('s3cfg', cfg.stdout);
    const s3cmd = (...args: string[]) => runProcess('s3cmd', ['-c', cfgFile, ...args], { env: { PATH: process.env.PATH, HOME: work } });
    const mb = await s3cmd('mb', 's3://s3cmd-config-bucket');
    expect(mb.code, mb.stderr).toBe(0);
    const put = await s3cmd('put', file('hello.txt', 'hello from s3cmd\n'), 's3://s3cmd-config-bucket/hello.txt');
    expect(put.code, put.stderr).toBe(0);
    const ls = await s3cmd('ls');
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain('s3://s3cmd-config-bucket');
    const lsb = await s3cmd('ls', 's3://s3cmd-config-bucket');
    expect(lsb.stdout).toContain('s3://s3cmd-config-bucket/hello.txt');
    // once the user is deleted, the same file is refused
    await strata(['delete', 'users', 's3cmd-user', '-n', 'ns-s3cmd']);
    await eventually(async () => {
      const refused = await s3cmd('ls');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/InvalidAccessKeyId|403/);
    }, identityBound());
  });

  it('virtual-hosted form by region, like the Cloud UI; https; errors', async () => {
    await strata(['apply', '-f', file('cfg-user.yaml', manifest('cfg-user', 'ns-cfg', 'read'))]);
    const v = await strata(['s3cmd-config', '--user', 'cfg-user', '--region', 'ord1']);
    expect(v.stdout).toContain(`host_base = object.ord1.localhost:${server.port}\nhost_bucket = %(bucket)s.object.ord1.localhost:${server.port}\n`);
    const def = await strata(['s3cmd-config', '--user', 'cfg-user']);
    expect(def.stdout).toContain(`host_base = object.lga1.localhost:${server.port}\n`);
    const tls = await strata(['s3cmd-config', '--user', 'cfg-user', '--region', 'las1', '--https', '--base-domain', 'example.com']);
    expect(tls.stdout).toContain('host_base = object.las1.example.com\nhost_bucket = %(bucket)s.object.las1.example.com\n');
    expect(tls.stdout).toContain('use_https = True\n');
    const api = await strata(['s3cmd-config', '--user', 'cfg-user', '--server', server.admin.endpoint, '--token', adminToken]);
    expect(api.stdout).toBe(def.stdout);
    const badRegion = await strata(['s3cmd-config', '--user', 'cfg-user', '--region', 'mars1']);
    expect(badRegion.code).not.toBe(0);
    expect(badRegion.stderr).toMatch(/unknown region "mars1"; this server serves lga1, ord1, las1/);
    const noUser = await strata(['s3cmd-config', '--user', 'ghost']);
    expect(noUser.code).toBe(1);
    expect(noUser.stderr).toMatch(/"ghost" not found/);
    expect((await strata(['s3cmd-config'])).stderr).toMatch(/needs --user NAME/);
  });
});
