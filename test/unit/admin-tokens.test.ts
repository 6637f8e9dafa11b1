// Admin API tokens (format, hashing, constant-time verification, revocation, scopes) and the
// user directory behind apply/get/delete (created/configured/unchanged, secret-name
// conflicts, scope rules, all-or-nothing transactions). Also the CLI's output helpers.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { humanAge, jsonpath, parseOutput, table } from '../../src/admin/format.ts';
import { parseEndpoint, s3cmdConfig } from '../../src/admin/s3cmd.ts';
import { generateToken, hashToken, isOrgAdmin, parseNamespaceScope, tokenId } from '../../src/identity/admin-tokens.ts';
import { IdentityStore, loadOrCreateMasterKey } from '../../src/identity/identity-store.ts';
import { parseUserManifests, type UserManifest } from '../../src/identity/manifest.ts';
import { IdentityError, UserDirectory } from '../../src/identity/users.ts';

let dir: string;
let identity: IdentityStore;
let users: UserDirectory;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-admin-unit-'));
  identity = IdentityStore.sqlite(dir, loadOrCreateMasterKey(dir));
  users = new UserDirectory(identity);
});
afterEach(async () => {
  await identity.close();
  rmSync(dir, { recursive: true, force: true });
});

function m(name: string, namespace: string, owner: string, access: UserManifest['access'], secretName?: string): UserManifest {
  return { name, namespace, owner, access, secretName: secretName ?? `${namespace}-${name}-obj-store-creds` };
}

async function thrown(fn: () => Promise<unknown>): Promise<IdentityError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IdentityError);
    return err as IdentityError;
  }
  throw new Error('expected an IdentityError');
}

describe('token format and hashing', () => {
  it('generates sat_<12-char id>_<64 hex> tokens from the CSPRNG, all different', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { id, token } = generateToken();
      expect(token).toMatch(/^sat_[a-z2-7]{12}_[0-9a-f]{64}$/);
      expect(tokenId(token)).toBe(id);
      seen.add(token);
    }
    expect(seen.size).toBe(200);
  });

  it('hashes with SHA-256', () => {
    expect(hashToken('abc').toString('hex')).toBe(createHash('sha256').update('abc').digest('hex'));
  });

  it('stores only the hash: the token text appears nowhere in the database', async () => {
    const { token, record } = await identity.tokens.create({ namespaces: ['ns1'], name: 'ci', createdBy: 'test' });
    const db = new Database(join(dir, 'identity.db'), { readonly: true });
    const rows = db.prepare('SELECT * FROM admin_tokens').all() as Record<string, unknown>[];
    db.close();
    expect(rows).toHaveLength(1);
    const dump = JSON.stringify(rows, (_k, v) => (Buffer.isBuffer(v) || (v && typeof v === 'object' && 'type' in v && v.type === 'Buffer') ? Buffer.from(v.data ?? v).toString('hex') : v));
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.split('_')[2]);
    expect(Buffer.from(rows[0].token_hash as Buffer).equals(hashToken(token))).toBe(true);
    expect(record).toMatchObject({ name: 'ci', namespaces: ['ns1'], createdBy: 'test' });
  });
});

describe('token verification', () => {
  it('accepts the token it created and refuses forgeries', async () => {
    const { token, record } = await identity.tokens.create({ namespaces: '*', createdBy: 'test' });
    expect(await identity.tokens.verify(token)).toEqual({ ok: true, token: record });
    const last = token.at(-1) === '0' ? '1' : '0';
    expect(await identity.tokens.verify(token.slice(0, -1) + last)).toEqual({ ok: false, reason: 'unknown' });
    const other = generateToken();
    expect(await identity.tokens.verify(other.token)).toEqual({ ok: false, reason: 'unknown' });
    expect(await identity.tokens.verify(`sat_${record.id}_${'0'.repeat(64)}`)).toEqual({ ok: false, reason: 'unknown' });
    for (const junk of ['', 'Bearer', 'sat_', token + 'x', token.toUpperCase(), 'x'.repeat(5000)]) {
      expect((await identity.tokens.verify(junk)).ok).toBe(false);
    }
  });

  it('revokes: verification then fails, listing shows it, revoking again says so', async () => {
    const { token, record } = await identity.tokens.create({ namespaces: ['a'], createdBy: 'test' });
    expect(await identity.tokens.revoke(record.id)).toBe('revoked');
    expect(await identity.tokens.verify(token)).toEqual({ ok: false, reason: 'revoked' });
    expect(await identity.tokens.revoke(record.id)).toBe('already-revoked');
    expect(await identity.tokens.revoke('nosuchtokenid')).toBe('not-found');
    expect((await identity.tokens.list())[0].revokedAt).toBeTypeOf('number');
    expect(await identity.tokens.count()).toBe(1);
  });

  it('validates scopes', async () => {
    expect(parseNamespaceScope('ns2, ns1,ns1')).toEqual(['ns1', 'ns2']);
    expect(parseNamespaceScope(['*'])).toEqual(['*']);
    expect(() => parseNamespaceScope('')).toThrow(/at least one namespace/);
    expect(() => parseNamespaceScope('*,ns1')).toThrow(/cannot be combined/);
    expect(() => parseNamespaceScope('Not_Valid')).toThrow(/RFC 1123 label/);
    await expect(identity.tokens.create({ namespaces: [], createdBy: 't' })).rejects.toThrow(/at least one namespace/);
    expect(await identity.tokens.count()).toBe(0);
  });

  it('isOrgAdmin', () => {
    expect(isOrgAdmin(['*'])).toBe(true);
    expect(isOrgAdmin(['a'])).toBe(false);
  });
});

describe('user directory', () => {
  it('creates, leaves unchanged, configures, and never rotates credentials', async () => {
    const [created] = await users.apply([m('u', 'ns', 'org', 'read')]);
    expect(created.result).toBe('created');
    expect(created.message).toBe('user.objectstorage.coreweave.com/u created');
    const key = (await identity.keyByUser('ns', 'u'))!;
    expect(key.accessKey).toMatch(/^[A-Z0-9]{20}$/);
    const secret = (await identity.secretOf(key.accessKey))!;
    expect(secret).toMatch(/^[A-Za-z0-9/+]{40}$/);

    expect((await users.apply([m('u', 'ns', 'org', 'read')]))[0].message).toBe('user.objectstorage.coreweave.com/u unchanged');
    expect((await users.apply([m('u', 'ns', 'org', 'full')]))[0].message).toBe('user.objectstorage.coreweave.com/u configured');
    expect((await identity.credentialsFor(key.accessKey))?.principal.level).toBe('full');
    expect((await users.apply([m('u', 'ns', 'org2', 'full', 'renamed')]))[0].result).toBe('configured');
    const after = (await identity.keyByUser('ns', 'u'))!;
    expect(after).toMatchObject({ accessKey: key.accessKey, org: 'org2', secretName: 'renamed' });
    expect(await identity.secretOf(key.accessKey)).toBe(secret);
    expect(await identity.listOrgs()).toContain('org2');
  });

  it('serves the Secret with base64 data, as Kubernetes does', async () => {
    await users.apply([m('my-example', 'my-namespace', 'my-namespace', 'full', 'my-example-secret')]);
    const key = (await identity.keyByUser('my-namespace', 'my-example'))!;
    const s = await users.secret('my-example-secret');
    expect(s).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'my-example-secret', namespace: 'my-namespace' } });
    expect(Buffer.from(s.data.accessKey, 'base64').toString()).toBe(key.accessKey);
    expect(Buffer.from(s.data.secretKey, 'base64').toString()).toBe(await identity.secretOf(key.accessKey));
  });

  it('refuses a secret name held by another user, and applies nothing of the batch', async () => {
    await users.apply([m('a', 'ns', 'org', 'read', 'shared')]);
    const before = await identity.listKeys();
    const err = await thrown(() => users.apply([m('c', 'ns', 'org', 'read'), m('b', 'other', 'org', 'write', 'shared')]));
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/secret "shared" already belongs to user "a" in namespace "ns"; two users may not share a secret name/);
    expect(await identity.listKeys()).toEqual(before);
    // within one batch too
    const err2 = await thrown(() => users.apply([m('x', 'ns', 'org', 'read', 'dup'), m('y', 'ns', 'org', 'read', 'dup')]));
    expect(err2.status).toBe(409);
    expect(await identity.listKeys()).toEqual(before);
  });

  it('finds by name across namespaces, refusing ambiguity; deletes key and secret', async () => {
    await users.apply([m('same', 'ns1', 'org', 'read'), m('same', 'ns2', 'org', 'read'), m('solo', 'ns1', 'org', 'read')]);
    expect((await users.find('solo')).namespace).toBe('ns1');
    expect((await thrown(() => users.find('same'))).message).toMatch(/exists in several namespaces \(ns1, ns2\); pass -n NAMESPACE/);
    expect((await users.find('same', 'ns2')).namespace).toBe('ns2');
    expect((await thrown(() => users.find('nobody'))).message).toBe('users.objectstorage.coreweave.com "nobody" not found');
    const key = await users.delete('solo');
    expect(await identity.keyByAccessKey(key.accessKey)).toBeUndefined();
    expect(await identity.credentialsFor(key.accessKey)).toBeUndefined();
    expect((await thrown(() => users.secret(key.secretName))).status).toBe(404);
    expect(await identity.listOrgs()).toContain('org');
  });

  it('scoped callers: only their namespaces, only their organisations, nothing changed on refusal', async () => {
    await users.apply([m('x', 'ns1', 'ns1', 'read'), m('y', 'ns2', 'ns2', 'read'), m('foreign', 'ns1', 'bigorg', 'read')]);
    const scope = ['ns1'];
    const before = await identity.listKeys();
    expect((await thrown(() => users.apply([m('z', 'ns2', 'ns2', 'full')], scope))).status).toBe(403);
    expect((await thrown(() => users.apply([m('z', 'ns1', 'bigorg', 'full')], scope))).message).toMatch(/may not create keys for organisation "bigorg"/);
    expect((await thrown(() => users.apply([m('foreign', 'ns1', 'ns1', 'full')], scope))).message).toMatch(/user "foreign" in namespace "ns1" belongs to an organisation the token may not manage/);
    expect((await thrown(() => users.apply([m('ok', 'ns1', 'ns1', 'read'), m('z', 'ns2', 'ns2', 'read')], scope))).status).toBe(403);
    expect(await identity.listKeys()).toEqual(before);
    expect((await users.apply([m('ok', 'ns1', 'ns1', 'read')], scope))[0].result).toBe('created');

    // bigorg's user in the shared namespace ns1 is not there for this scope (nor its Secret)
    expect((await users.list({}, scope)).map((k) => k.user).sort()).toEqual(['ok', 'x']);
    expect((await thrown(() => users.list({ namespace: 'ns2' }, scope))).status).toBe(403);
    expect((await thrown(() => users.find('y', undefined, scope))).status).toBe(404);
    expect((await thrown(() => users.delete('y', 'ns2', scope))).status).toBe(403);
    expect(await identity.keyByUser('ns2', 'y')).toBeDefined();
    // another namespace's secret looks absent, not forbidden
    expect((await thrown(() => users.secret('ns2-y-obj-store-creds', undefined, scope))).status).toBe(404);
    expect(await users.secrets({}, scope)).toHaveLength(2);
    expect((await thrown(() => users.secret('ns1-foreign-obj-store-creds', 'ns1', scope))).status).toBe(404);
    expect((await thrown(() => users.delete('foreign', 'ns1', scope))).status).toBe(404);
    expect(await identity.keyByUser('ns1', 'foreign')).toBeDefined();
  });

  it('parses + applies the seed manifest end to end', async () => {
    const manifests = parseUserManifests(
      'apiVersion: objectstorage.coreweave.com/v1alpha1\nkind: User\nmetadata:\n  name: my-example\n  namespace: my-namespace\nspec:\n  owner: my-namespace\n  access: full\n  secretName: my-example-secret\n',
    );
    const [outcome] = await users.apply(manifests);
    expect(outcome.user.status).toEqual({ objectStorageAccess: 'ACTIVE', objectStorageId: 'my-namespace:my-example' });
  });
});

describe('output helpers', () => {
  it('aligns tables like kubectl (three spaces, last column unpadded)', () => {
    expect(table(['NAME', 'TYPE', 'DATA', 'AGE'], [['my-example-secret', 'Opaque', '2', '14s']])).toBe('NAME                TYPE     DATA   AGE\nmy-example-secret   Opaque   2      14s\n');
  });

  it('prints ages as Kubernetes does', () => {
    const s = 1000;
    const cases: [number, string][] = [
      [14 * s, '14s'], [119 * s, '119s'], [125 * s, '2m5s'], [600 * s, '10m'], [179 * 60 * s, '179m'], [3 * 3600 * s, '3h'],
      [(5 * 3600 + 20 * 60) * s, '5h20m'], [47 * 3600 * s, '47h'], [(3 * 24 + 4) * 3600 * s, '3d4h'], [400 * 86400 * s, '400d'],
      [(3 * 365 + 10) * 86400 * s, '3y10d'], [-5000, '<invalid>'],
    ];
    for (const [ms, text] of cases) expect(humanAge(ms)).toBe(text);
  });

  it('evaluates kubectl JSONPath templates', () => {
    const secret = { data: { accessKey: 'QUJD', secretKey: 'REVG' }, metadata: { name: 'n', 'a.b': 'dotted' } };
    expect(jsonpath('{.data.accessKey}', secret)).toBe('QUJD');
    expect(jsonpath('{$.data.secretKey}', secret)).toBe('REVG');
    expect(jsonpath("{.metadata['a.b']}", secret)).toBe('dotted');
    expect(jsonpath('key={.data.accessKey}{"\\n"}', secret)).toBe('key=QUJD\n');
    expect(jsonpath('{.data.missing}', secret)).toBe('');
    expect(jsonpath('{.items[*].metadata.name}', { items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }] })).toBe('a b');
    expect(jsonpath('{.items[-1].metadata.name}', { items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }] })).toBe('b');
    expect(jsonpath('{.data}', secret)).toBe('{"accessKey":"QUJD","secretKey":"REVG"}');
    expect(() => jsonpath('{.data.accessKey', secret)).toThrow(/unclosed/);
    expect(() => jsonpath('{range .items[*]}', secret)).toThrow(/unsupported jsonpath/);
  });

  it('parses -o values', () => {
    expect(parseOutput('jsonpath={.data.accessKey}')).toEqual({ kind: 'jsonpath', template: '{.data.accessKey}' });
    expect(parseOutput("jsonpath='{.data.accessKey}'")).toEqual({ kind: 'jsonpath', template: '{.data.accessKey}' });
    expect(parseOutput('json')).toEqual({ kind: 'json' });
    expect(parseOutput(undefined)).toEqual({ kind: 'table' });
    expect(() => parseOutput('xml')).toThrow(/allowed formats are: json,jsonpath,name,yaml/);
  });

  it('writes s3cmd configurations: virtual-hosted, path-style, https, explicit endpoint', () => {
    const base = { accessKey: 'AK', secretKey: 'S/K+', user: 'u', namespace: 'n', owner: 'o', access: 'full', region: 'lga1', baseDomain: 'localhost', s3Port: 9000, https: false, pathStyle: false };
    const v = s3cmdConfig(base);
    expect(v).toContain('[default]\naccess_key = AK\nsecret_key = S/K+\nhost_base = object.lga1.localhost:9000\nhost_bucket = %(bucket)s.object.lga1.localhost:9000\nbucket_location = default\nsignature_v2 = False\nuse_https = False\n');
    const tls = s3cmdConfig({ ...base, https: true, region: 'ord1', baseDomain: 'example.com' });
    expect(tls).toContain('host_base = object.ord1.example.com\nhost_bucket = %(bucket)s.object.ord1.example.com\n');
    expect(tls).toContain('use_https = True');
    const path = s3cmdConfig({ ...base, endpoint: '127.0.0.1:9555', pathStyle: true });
    expect(path).toContain('host_base = 127.0.0.1:9555\nhost_bucket = 127.0.0.1:9555\n');
    expect(s3cmdConfig({ ...base, endpoint: 'http://s3.internal:81/' })).toContain('host_bucket = %(bucket)s.s3.internal:81\n');
    expect(() => parseEndpoint('a b')).toThrow(/--endpoint must be host or host:port/);
    expect(() => parseEndpoint('host:99999')).toThrow(/port must be 1-65535/);
    expect(parseEndpoint('[::1]:9000')).toBe('[::1]:9000');
  });
});
