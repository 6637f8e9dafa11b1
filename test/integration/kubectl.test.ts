// The real kubectl against Strata's Kubernetes API (/k8s on the admin listener), with a
// kubeconfig `strata kubeconfig` wrote: the seed's walkthrough verbatim with its exact outputs,
// re-apply, -A, -o yaml, edit, delete -f, refusals (nothing applied), token scopes, RBAC for a
// blank token, and the key kubectl created signing S3 requests (SDK and aws CLI). Fails, never
// skips, when kubectl is missing.
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { awsClis, clientEnv, run } from '../helpers/cli-clients.ts';
import { collapse, KubectlUser, kubeconfigFor, kubectlOnPath, seedManifest, strataBin } from '../helpers/kubectl.ts';
import { runProcess } from '../helpers/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let rootToken: string;
let work: string;
let admin: KubectlUser;

async function adminApi(method: string, path: string, body?: string): Promise<{ status: number; json: any }> {
  const res = await request(server.admin.endpoint + path, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${rootToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body,
  });
  return { status: res.statusCode, json: await res.body.json() };
}

async function createToken(spec: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const r = await adminApi('POST', '/v1/tokens', JSON.stringify(spec));
  expect(r.status).toBe(201);
  return r.json;
}

function file(name: string, text: string): string {
  writeFileSync(join(work, name), text);
  return name;
}

async function usersSnapshot(): Promise<string> {
  return JSON.stringify((await adminApi('GET', '/v1/users')).json);
}

function s3(creds: { accessKeyId: string; secretAccessKey: string }): S3Client {
  return new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds });
}

beforeAll(async () => {
  kubectlOnPath();
  server = await startTestServer();
  rootToken = (server as TestServer & { adminToken?: string }).adminToken!;
  work = mkdtempSync(join(tmpdir(), 'strata-kubectl-'));
  admin = new KubectlUser(work, await kubeconfigFor(server, rootToken, 'my-namespace'));
  file('object-storage-crd.yaml', seedManifest);
});
afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the seed walkthrough, verbatim', () => {
  let accessKey: string;
  let secretKey: string;

  it('kubectl apply -f object-storage-crd.yaml', async () => {
    const r = await admin.sh('kubectl apply -f object-storage-crd.yaml');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('user.objectstorage.coreweave.com/my-example created\n');
  });

  it('kubectl get users.objectstorage.coreweave.com prints the seed table', async () => {
    const r = await admin.sh('kubectl get users.objectstorage.coreweave.com');
    expect(collapse(r.stdout)).toBe('NAME OWNER ACCESS OBJECT STORAGE ACCESS OBJECT STORAGE ID\nmy-example my-namespace full ACTIVE my-namespace:my-example');
  });

  it('kubectl get secrets: NAME TYPE DATA AGE', async () => {
    const r = await admin.sh('kubectl get secrets');
    const [header, row, ...rest] = collapse(r.stdout).split('\n');
    expect(header).toBe('NAME TYPE DATA AGE');
    expect(row).toMatch(/^my-example-secret Opaque 2 \d+s$/);
    expect(rest).toEqual([]);
  });

  it('the decoded keys are the user the admin API shows, and they sign S3 requests at once', async () => {
    const a = await admin.sh(`kubectl get secrets my-example-secret \\\n-o jsonpath='{.data.accessKey}' | base64 --decode`);
    const s = await admin.sh(`kubectl get secrets my-example-secret \\\n-o jsonpath='{.data.secretKey}' | base64 --decode`);
    [accessKey, secretKey] = [a.stdout, s.stdout];
    expect(accessKey).toMatch(/^[A-Z0-9]{20}$/);
    expect(secretKey).toHaveLength(40);
    const viaApi = await adminApi('GET', '/v1/secrets/my-namespace/my-example-secret');
    expect(Buffer.from(viaApi.json.data.secretKey, 'base64').toString()).toBe(secretKey);
    expect((await adminApi('GET', '/v1/users/my-namespace/my-example')).json.spec).toEqual({ owner: 'my-namespace', access: 'full', secretName: 'my-example-secret' });

    const client = s3({ accessKeyId: accessKey, secretAccessKey: secretKey });
    await client.send(new CreateBucketCommand({ Bucket: 'kubectl-made' }));
    expect((await client.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['kubectl-made']);
    client.destroy();
    const aws = awsClis()[0];
    expect(aws, 'the aws CLI is needed: apt-get install awscli').toBeDefined();
    const ls = await run(aws, ['s3', 'ls', '--endpoint-url', server.endpoint], { env: clientEnv(work, { endpoint: server.endpoint, accessKey, secretKey }) });
    expect(ls.stdout).toMatch(/ kubectl-made\n$/);
  });

  it('re-apply: unchanged, then configured (the same key, a new level)', async () => {
    expect((await admin.run(['apply', '-f', 'object-storage-crd.yaml'])).stdout).toBe('user.objectstorage.coreweave.com/my-example unchanged\n');
    file('read.yaml', seedManifest.replace('access: full', 'access: read'));
    expect((await admin.run(['apply', '-f', 'read.yaml'])).stdout).toBe('user.objectstorage.coreweave.com/my-example configured\n');
    const api = await adminApi('GET', '/v1/users/my-namespace/my-example');
    expect(api.json.spec.access).toBe('read');
    const viaApi = await adminApi('GET', '/v1/secrets/my-namespace/my-example-secret');
    expect(Buffer.from(viaApi.json.data.accessKey, 'base64').toString()).toBe(accessKey);
  });

  it('get users -A adds the NAMESPACE column; -o yaml keeps the last-applied annotation', async () => {
    const all = collapse((await admin.run(['get', 'users', '-A'])).stdout).split('\n');
    expect(all[0]).toBe('NAMESPACE NAME OWNER ACCESS OBJECT STORAGE ACCESS OBJECT STORAGE ID');
    expect(all).toContain('my-namespace my-example my-namespace read ACTIVE my-namespace:my-example');
    const yaml = parse((await admin.run(['get', 'users.objectstorage.coreweave.com', 'my-example', '-o', 'yaml'])).stdout);
    expect(yaml).toMatchObject({ apiVersion: 'objectstorage.coreweave.com/v1alpha1', kind: 'User', metadata: { name: 'my-example', namespace: 'my-namespace' }, spec: { access: 'read' } });
    const applied = JSON.parse(yaml.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
    expect(applied.spec).toEqual({ owner: 'my-namespace', access: 'read', secretName: 'my-example-secret' });
    expect((await admin.run(['get', 'users', '-o', 'name'])).stdout).toBe('user.objectstorage.coreweave.com/my-example\n');
  });

  it('kubectl edit through KUBE_EDITOR changes the user', async () => {
    const editor = file('editor.sh', '#!/bin/sh\nsed -i "s/access: read/access: readwrite/" "$1"\n');
    await run('chmod', ['+x', join(work, editor)]);
    const r = await admin.run(['edit', 'users.objectstorage.coreweave.com', 'my-example'], { KUBE_EDITOR: join(work, editor) });
    expect(r.stdout).toBe('user.objectstorage.coreweave.com/my-example edited\n');
    expect((await adminApi('GET', '/v1/users/my-namespace/my-example')).json.spec.access).toBe('readwrite');
  });

  it("refuses bad manifests in kubectl's error format and applies nothing", async () => {
    const before = await usersSnapshot();
    file('bad-access.yaml', seedManifest.replace('access: full', 'access: superuser').replace(/my-example/g, 'other'));
    let r = await admin.run(['apply', '-f', 'bad-access.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('The User "other" is invalid: spec.access: Unsupported value: "superuser": supported values: "full", "readwrite", "read", "write"\n');
    file('bad-version.yaml', seedManifest.replace('v1alpha1', 'v1'));
    r = await admin.run(['apply', '-f', 'bad-version.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: resource mapping not found for name: "my-example" namespace: "my-namespace" from "bad-version.yaml": no matches for kind "User" in version "objectstorage.coreweave.com\/v1"/);
    file('bad-field.yaml', seedManifest.replace('  secretName', '  quota: 5\n  secretName'));
    r = await admin.run(['apply', '-f', 'bad-field.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/strict decoding error: unknown field "spec.quota"\n$/);
    expect(await usersSnapshot()).toBe(before);
  });

  it('--validate=warn and --validate=false drop unknown fields (warn says so) instead of refusing', async () => {
    file('extra-field.yaml', seedManifest.replace(/my-example/g, 'lenient').replace('  secretName', '  quota: 5\n  secretName'));
    const warned = await admin.run(['apply', '--validate=warn', '-f', 'extra-field.yaml']);
    expect(warned.stdout).toBe('user.objectstorage.coreweave.com/lenient created\n');
    expect(warned.stderr).toContain('Warning: unknown field "spec.quota"\n');
    expect((await adminApi('GET', '/v1/users/my-namespace/lenient')).json.spec).toEqual({ owner: 'my-namespace', access: 'full', secretName: 'lenient-secret' });
    expect((await admin.run(['delete', '-f', 'extra-field.yaml'])).code).toBe(0);
    const ignored = await admin.run(['apply', '--validate=false', '-f', 'extra-field.yaml']);
    expect(ignored.stdout).toBe('user.objectstorage.coreweave.com/lenient created\n');
    expect(ignored.stderr).toBe('');
    expect((await admin.run(['delete', '-f', 'extra-field.yaml'])).code).toBe(0);
  });

  it('kubectl delete users.objectstorage.coreweave.com my-example: the Secret and the key go with it', async () => {
    const r = await admin.sh('kubectl delete users.objectstorage.coreweave.com my-example');
    expect(r.stdout).toBe('user.objectstorage.coreweave.com "my-example" deleted\n');
    const secrets = await admin.sh('kubectl get secrets');
    expect(secrets.stdout).toBe('');
    expect(secrets.stderr).toBe('No resources found in my-namespace namespace.\n');
    const gone = await admin.run(['get', 'secrets', 'my-example-secret']);
    expect(gone.stderr).toBe('Error from server (NotFound): secrets "my-example-secret" not found\n');
    const client = s3({ accessKeyId: accessKey, secretAccessKey: secretKey });
    await expect(client.send(new ListBucketsCommand({}))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    client.destroy();
  });

  it('kubectl delete -f removes what the file names', async () => {
    expect((await admin.run(['apply', '-f', 'object-storage-crd.yaml'])).stdout).toBe('user.objectstorage.coreweave.com/my-example created\n');
    expect((await admin.run(['delete', '-f', 'object-storage-crd.yaml'])).stdout).toBe('user.objectstorage.coreweave.com "my-example" deleted\n');
    expect((await adminApi('GET', '/v1/users/my-namespace/my-example')).status).toBe(404);
  });

  it('a user deleted through the admin API is gone for kubectl too, and comes back new', async () => {
    file('labelled.yaml', seedManifest.replace('  namespace: my-namespace', '  namespace: my-namespace\n  labels: {team: storage}'));
    expect((await admin.run(['apply', '-f', 'labelled.yaml'])).stdout).toBe('user.objectstorage.coreweave.com/my-example created\n');
    expect((await adminApi('DELETE', '/v1/users/my-namespace/my-example')).status).toBe(200);
    expect((await admin.run(['get', 'users', '-l', 'team=storage'])).stderr).toBe('No resources found in my-namespace namespace.\n');
    expect((await admin.run(['apply', '-f', 'object-storage-crd.yaml'])).stdout).toBe('user.objectstorage.coreweave.com/my-example created\n');
    const labels = (await admin.run(['get', 'users', 'my-example', '-o', 'jsonpath={.metadata.labels}'])).stdout;
    expect(labels).toBe('');
    expect((await admin.run(['delete', '-f', 'object-storage-crd.yaml'])).code).toBe(0);
  });
});

describe('tokens', () => {
  it('an unknown token: kubectl asks to log in', async () => {
    const forged = new KubectlUser(work, await kubeconfigFor(server, `sat_${'a'.repeat(12)}_${'0'.repeat(64)}`, 'my-namespace'));
    const r = await forged.run(['get', 'users.objectstorage.coreweave.com']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: You must be logged in to the server (Unauthorized)\n');
  });

  it('a namespace-scoped token works in its namespaces and is refused elsewhere', async () => {
    const scoped = await createToken({ namespaces: ['team-a'], name: 'team-a' });
    const user = new KubectlUser(work, await kubeconfigFor(server, scoped.token, 'team-a'));
    file('team-a.yaml', seedManifest.replace(/my-namespace/g, 'team-a').replace('my-example-secret', 'team-a-secret'));
    expect((await user.run(['apply', '-f', 'team-a.yaml'])).stdout).toBe('user.objectstorage.coreweave.com/my-example created\n');
    expect(collapse((await user.run(['get', 'users'])).stdout)).toContain('my-example team-a full ACTIVE team-a:my-example');

    const before = await usersSnapshot();
    const list = await user.run(['get', 'users', '-n', 'my-namespace']);
    expect(list.stderr).toBe(
      `Error from server (Forbidden): users.objectstorage.coreweave.com is forbidden: User "${scoped.id}" cannot list resource "users" in API group "objectstorage.coreweave.com" in the namespace "my-namespace"\n`,
    );
    const apply = await user.run(['apply', '-f', 'object-storage-crd.yaml']);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toMatch(/users.objectstorage.coreweave.com "my-example" is forbidden: User ".*" cannot get resource "users" .* in the namespace "my-namespace"\n$/);
    expect(await usersSnapshot()).toBe(before);
    expect(collapse((await user.run(['get', 'namespaces'])).stdout).split('\n').map((l) => l.split(' ')[0])).toEqual(['NAME', 'team-a']);
  });

  it('a blank token gets exactly what a RoleBinding naming its id grants', async () => {
    const blank = await createToken({ blank: true, name: 'ci' });
    const user = new KubectlUser(work, await kubeconfigFor(server, blank.token, 'team-b'));
    file('team-b.yaml', seedManifest.replace(/my-namespace/g, 'team-b').replace('my-example-secret', 'team-b-secret'));
    const refused = await user.run(['apply', '-f', 'team-b.yaml']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is forbidden: User ".*" cannot get resource "users" in API group "objectstorage.coreweave.com" in the namespace "team-b"/);
    expect((await adminApi('GET', '/v1/users?namespace=team-b')).json.items).toEqual([]);

    const rbac = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: user-admin, namespace: team-b}
rules:
- apiGroups: [objectstorage.coreweave.com]
  resources: [users]
  verbs: [get, list, create, patch, delete]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci-user-admin, namespace: team-b}
subjects: [{kind: User, name: ${blank.id}, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: Role, name: user-admin, apiGroup: rbac.authorization.k8s.io}
`;
    file('rbac.yaml', rbac);
    expect((await admin.run(['apply', '-f', 'rbac.yaml'])).stdout).toBe('role.rbac.authorization.k8s.io/user-admin created\nrolebinding.rbac.authorization.k8s.io/ci-user-admin created\n');
    expect((await admin.run(['apply', '-f', 'rbac.yaml'])).stdout).toBe('role.rbac.authorization.k8s.io/user-admin unchanged\nrolebinding.rbac.authorization.k8s.io/ci-user-admin unchanged\n');

    expect((await user.run(['apply', '-f', 'team-b.yaml'])).stdout).toBe('user.objectstorage.coreweave.com/my-example created\n');
    const key = (await user.sh("kubectl get secrets team-b-secret -o jsonpath='{.data.accessKey}' | base64 --decode")).stdout;
    expect(key).toMatch(/^[A-Z0-9]{20}$/);
    // Still nothing elsewhere, and no way to grant itself more.
    expect((await user.run(['get', 'users', '-n', 'team-a'])).stderr).toMatch(/^Error from server \(Forbidden\): users.objectstorage.coreweave.com is forbidden/);
    const escalate = await user.run(['apply', '-f', 'rbac.yaml']);
    expect(escalate.code).toBe(1);
    expect(escalate.stderr).toMatch(/roles.rbac.authorization.k8s.io "user-admin" is forbidden/);

    // Without the binding, refused again.
    expect((await admin.run(['delete', 'rolebinding', 'ci-user-admin', '-n', 'team-b'])).stdout).toBe('rolebinding.rbac.authorization.k8s.io "ci-user-admin" deleted\n');
    expect((await user.run(['get', 'users'])).stderr).toMatch(/^Error from server \(Forbidden\): users.objectstorage.coreweave.com is forbidden: User ".*" cannot list resource "users"/);
  });
});

describe('strata kubeconfig and blank tokens', () => {
  it('writes an https:// kubeconfig with the prefix, the token, the namespace and the certificate to trust', async () => {
    const config = parse(await kubeconfigFor(server, rootToken, 'team-x'));
    const cluster = config.clusters[0].cluster;
    expect(cluster.server).toBe(`https://127.0.0.1:${server.admin.port}/k8s`);
    const ca = Buffer.from(cluster['certificate-authority-data'], 'base64').toString();
    expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    expect(readFileSync(join(server.dataDir, 'admin-tls.pem'), 'utf8')).toContain(ca); // and never the key beside it
    expect(new X509Certificate(ca).checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(config.users[0].user.token).toBe(rootToken);
    expect(config.contexts[0].context.namespace).toBe('team-x');
    expect(config['current-context']).toBe(config.contexts[0].name);
  });

  it('refuses without a token, with a malformed one, or without a certificate', async () => {
    const cli = (args: string[]) => runProcess(strataBin, ['kubeconfig', ...args], { env: { PATH: process.env.PATH, HOME: work } });
    expect((await cli(['--server', server.admin.endpoint, '--data-dir', server.dataDir])).stderr).toMatch(/^error: kubeconfig needs --token TOKEN/);
    expect((await cli(['--token', 'abc', '--server', server.admin.endpoint, '--data-dir', server.dataDir])).stderr).toMatch(/^error: the token is not an admin API token/);
    const r = await cli(['--token', rootToken, '--server', server.admin.endpoint, '--data-dir', join(work, 'nowhere')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: no admin certificate in .*nowhere/);
  });

  it('strata token create --blank makes a token with no namespaces; the admin API refuses blank with namespaces', async () => {
    const r = await runProcess(strataBin, ['token', 'create', '--blank', '--name', 'robot', '-o', 'json', '--server', server.admin.endpoint, '--token', rootToken], { env: { PATH: process.env.PATH, HOME: work } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'robot', namespaces: [] });
    const both = await adminApi('POST', '/v1/tokens', JSON.stringify({ blank: true, namespaces: ['a'] }));
    expect(both.status).toBe(400);
    expect(both.json.error.message).toMatch(/not both/);
    // A blank token can do nothing through the admin API itself.
    const res = await request(`${server.admin.endpoint}/v1/users?namespace=a`, { headers: { authorization: `Bearer ${JSON.parse(r.stdout).token}` } });
    expect(res.statusCode).toBe(403);
    await res.body.dump();
  });

  it('a broken TLS handshake on the admin port is dropped; the port keeps serving both protocols', async () => {
    const socket = connect(server.admin.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.resume(); // read the server's alert, so that the close is seen
    socket.end(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect((await adminApi('GET', '/v1/whoami')).status).toBe(200);
    expect((await admin.run(['get', 'namespaces', 'default', '-o', 'name'])).stdout).toBe('namespace/default\n');
  });
});

