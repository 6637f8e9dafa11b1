// The Kubernetes API's pure parts: RBAC rule matching and validation, merge patches (JSON and
// the strategic form kubectl sends for Roles), selectors, and the self-signed admin certificate.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IdentityStore } from '../../src/identity/identity-store.ts';
import { adminTls, certificateSerial, selfSignedCertificate, storedAdminCertificate } from '../../src/kube/certificate.ts';
import { fieldSelector, labelSelector, mergePatch, strategicToMergePatch } from '../../src/kube/objects.ts';
import { boundNamespaces, rbacAllows, validateRbacObject } from '../../src/kube/rbac.ts';
import { KubeError } from '../../src/kube/status.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-kube-rbac-'));
const identity = IdentityStore.sqlite(dir, Buffer.alloc(32, 7));
afterAll(async () => {
  await identity.close();
  rmSync(dir, { recursive: true, force: true });
});

const role = (name: string, rules: unknown[]) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name }, rules });
const binding = (name: string, roleName: string, subject: string, kind = 'User') => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name },
  subjects: [{ kind, name: subject }],
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
});

async function store(kind: 'Role' | 'RoleBinding', namespace: string, obj: unknown): Promise<void> {
  const valid = validateRbacObject(kind, obj as never, namespace);
  await identity.transaction((tx) => tx.putKubeObject(kind === 'Role' ? 'roles' : 'rolebindings', namespace, (valid.metadata as { name: string }).name, JSON.stringify(valid)));
}

describe('RBAC', () => {
  it('allows what the rules of a bound Role list, and nothing else', async () => {
    await store('Role', 'ns1', role('reader', [{ apiGroups: ['objectstorage.coreweave.com'], resources: ['users'], verbs: ['get', 'list'] }, { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['only-this'] }]));
    await store('Role', 'ns1', role('all', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]));
    await store('RoleBinding', 'ns1', binding('b1', 'reader', 'tok1'));
    await store('RoleBinding', 'ns1', binding('b2', 'all', 'tok1', 'Group'));
    const ask = (verb: string, resource: string, group: string, namespace = 'ns1', name?: string) => rbacAllows(identity, 'tok1', { verb, resource, group, namespace, name });
    expect(await ask('list', 'users', 'objectstorage.coreweave.com')).toBe(true);
    expect(await ask('create', 'users', 'objectstorage.coreweave.com')).toBe(false);
    expect(await ask('list', 'users', 'objectstorage.coreweave.com', 'ns2')).toBe(false);
    expect(await ask('get', 'secrets', '', 'ns1', 'only-this')).toBe(true);
    expect(await ask('get', 'secrets', '', 'ns1', 'another')).toBe(false);
    expect(await ask('list', 'secrets', '')).toBe(false); // resourceNames never match a list
    expect(await rbacAllows(identity, 'tok2', { verb: 'list', resource: 'users', group: 'objectstorage.coreweave.com', namespace: 'ns1' })).toBe(false);
    expect(await boundNamespaces(identity, 'tok1')).toEqual(['ns1']);
  });

  it('refuses malformed Roles and RoleBindings with field causes', () => {
    const problem = (kind: 'Role' | 'RoleBinding', obj: unknown) => {
      try {
        validateRbacObject(kind, obj as never, 'ns');
      } catch (err) {
        expect(err).toBeInstanceOf(KubeError);
        return (err as KubeError).message;
      }
      throw new Error('expected a refusal');
    };
    expect(problem('Role', role('r', [{ resources: ['users'] }]))).toBe('Role.rbac.authorization.k8s.io "r" is invalid: rules[0].verbs: Required value');
    expect(problem('Role', { ...role('r', []), extra: 1 })).toContain('unknown field "extra"');
    expect(problem('RoleBinding', { ...binding('b', 'r', 't'), roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' } })).toContain('roleRef.kind: Unsupported value: "ClusterRole"');
    expect(problem('Role', role('Bad_Name', []))).toContain('metadata.name: Invalid value: "Bad_Name"');
  });
});

describe('patches and selectors', () => {
  it('applies RFC 7386 merge patches', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1] }, { a: null, b: { c: 5 }, l: [2, 3], n: 'x' })).toEqual({ b: { c: 5, d: 3 }, l: [2, 3], n: 'x' });
  });

  it('reads the strategic merge patches kubectl sends for Roles as merge patches, refusing $patch', () => {
    expect(strategicToMergePatch({ rules: [{ verbs: ['get'] }], '$setElementOrder/rules': [], metadata: { $retainKeys: ['a'], labels: { a: 'b' } } })).toEqual({ rules: [{ verbs: ['get'] }], metadata: { labels: { a: 'b' } } });
    expect(() => strategicToMergePatch({ rules: [{ $patch: 'delete' }] })).toThrow(/\$patch/);
  });

  it('filters by metadata.name fields and label equality', () => {
    expect(fieldSelector('metadata.name=a')({ name: 'a', namespace: 'n' })).toBe(true);
    expect(fieldSelector('metadata.name!=a')({ name: 'a' })).toBe(false);
    expect(() => fieldSelector('spec.owner=x')).toThrow(/field label not supported: spec.owner/);
    expect(labelSelector('app=x,!gone')({ app: 'x' })).toBe(true);
    expect(labelSelector('app')({})).toBe(false);
    expect(labelSelector('app!=x')(undefined)).toBe(true);
  });
});

describe('the admin certificate', () => {
  it('is a self-signed CA for the names given, verifying with its own key', () => {
    const { cert } = selfSignedCertificate(['localhost', '127.0.0.1', '::1']);
    const x = new X509Certificate(cert);
    expect(x.ca).toBe(true);
    expect(x.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(Date.parse(x.validTo) - Date.now()).toBeGreaterThan(9 * 365 * 86400_000);
  });

  it('is made once per data root, owner-only, and a pair that does not match is refused', () => {
    const root = mkdtempSync(join(tmpdir(), 'strata-admin-tls-'));
    try {
      const first = adminTls({ dataDir: root, adminHost: '127.0.0.1' });
      expect(adminTls({ dataDir: root, adminHost: '127.0.0.1' })).toEqual(first);
      expect(storedAdminCertificate(root)).toBe(first.cert);
      expect(statSync(join(root, 'admin-tls.pem')).mode & 0o777).toBe(0o600);
      expect(readdirSync(root)).toEqual(['admin-tls.pem']);
      const other = selfSignedCertificate(['localhost']);
      writeFileSync(join(root, 'admin-tls.pem'), other.key + first.cert);
      expect(() => adminTls({ dataDir: root, adminHost: '127.0.0.1' })).toThrow(/does not belong to the key/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('the admin certificate serial', () => {
  it('is a positive, minimally encoded DER integer whatever the random bytes (OpenSSL refuses "illegal padding")', () => {
    for (const first of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
      const serial = certificateSerial(Buffer.from([first, 0x05, ...Buffer.alloc(14, 0x11)]));
      expect(serial).toHaveLength(16);
      expect(serial[0] & 0x80, `first byte ${first}`).toBe(0);
      expect(serial[0], `first byte ${first}`).not.toBe(0);
    }
    const { cert } = selfSignedCertificate(['localhost', '127.0.0.1']);
    expect(new X509Certificate(cert).serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
  });
});
