// The identity store's contract, run against both engines: SQLite (identity.db in the data
// root) and PostgreSQL (the schema strata_identity of a throw-away database). Keys, secrets,
// organisations, tokens, all-or-nothing transactions, and what several nodes (or the server and
// the CLI) sharing one store must see: a key deleted or a token revoked through one store stops
// working through another within the documented bound (SQLite: at once), unknown keys are never
// cached, and concurrent applies of one user or one secret name through two nodes cannot both win.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FRESH_MS, IDENTITY_SCHEMA, MasterKeyMismatchError } from '../../src/identity/identity-postgres.ts';
import { IdentityStore, loadOrCreateMasterKey, openIdentityStore, type IdentityOptions } from '../../src/identity/identity-store.ts';
import type { UserManifest } from '../../src/identity/manifest.ts';
import { IdentityError, UserDirectory } from '../../src/identity/users.ts';
import { bootstrap } from '../../src/main.ts';
import type { Services } from '../../src/ops/operation.ts';
import { PgDatabase } from '../../src/store/meta/postgres.ts';
import { freshDatabase } from '../helpers/postgres.ts';

interface Node {
  identity: IdentityStore;
  close(): Promise<void>;
}

interface Engine {
  name: 'sqlite' | 'postgres';
  /** how long a change through one node may take to show through another */
  boundMs: number;
  /** a fresh store; `open` gives further nodes on the same data (another process, another node) */
  create(): Promise<{ dir: string; url?: string; open(options?: Partial<IdentityOptions>): Promise<Node>; dispose(): Promise<void> }>;
}

const engines: Engine[] = [
  {
    name: 'sqlite',
    boundMs: 0,
    async create() {
      const dir = mkdtempSync(join(tmpdir(), 'strata-identity-'));
      const masterKey = loadOrCreateMasterKey(dir);
      return {
        dir,
        async open() {
          const identity = await openIdentityStore({ dataDir: dir, masterKey });
          return { identity, close: () => identity.close() };
        },
        async dispose() {
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    boundMs: FRESH_MS,
    async create() {
      const dir = mkdtempSync(join(tmpdir(), 'strata-identity-pg-'));
      const masterKey = loadOrCreateMasterKey(dir);
      const url = await freshDatabase();
      return {
        dir,
        url,
        // Each node has its own pool, as separate processes do.
        async open(options = {}) {
          const database = new PgDatabase(url, 4);
          const identity = await openIdentityStore({ dataDir: dir, masterKey, database, ...options }).catch(async (err) => {
            await database.close();
            throw err;
          });
          return { identity, close: async () => (await identity.close(), await database.close()) };
        },
        async dispose() {
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

function manifest(name: string, namespace: string, access: UserManifest['access'], secretName = `${namespace}-${name}-obj-store-creds`): UserManifest {
  return { name, namespace, owner: namespace, access, secretName };
}

const newKey = (n: string, extra: { namespace?: string; secretName?: string } = {}) => ({
  org: 'org',
  user: n,
  namespace: extra.namespace ?? 'ns',
  level: 'read' as const,
  accessKey: `AK${n.toUpperCase().padEnd(18, '0')}`.slice(0, 20),
  secretKey: `secret-of-${n}-${randomBytes(8).toString('hex')}`,
  secretName: extra.secretName ?? `ns-${n}-creds`,
});

/** Wait (bounded) until `check` holds; returns how long it took. Fails once `withinMs` (+ slack) has passed. */
async function within(withinMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  const deadline = started + withinMs + 500;
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(engines)('identity contract: $name', (engine) => {
  let store: Awaited<ReturnType<Engine['create']>>;
  let a: Node;
  let b: Node;

  beforeEach(async () => {
    store = await engine.create();
    a = await store.open();
    b = await store.open();
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await store.dispose();
  });

  it('adds, finds, updates and deletes keys; lists them in byte order', async () => {
    const { identity } = a;
    const k = newKey('alice');
    const added = await identity.addKey(k);
    expect(added).toMatchObject({ org: 'org', user: 'alice', namespace: 'ns', level: 'read', accessKey: k.accessKey, secretName: k.secretName });
    expect(added.createdAt).toBeTypeOf('number');
    expect(await identity.keyByAccessKey(k.accessKey)).toEqual(added);
    expect(await identity.keyByUser('ns', 'alice')).toEqual(added);
    expect(await identity.keyBySecretName(k.secretName)).toEqual(added);
    expect(await identity.keyByAccessKey('NOSUCHKEY')).toBeUndefined();
    expect(Object.keys(added)).not.toContain('secretEnc');

    expect(await identity.updateKey(k.accessKey, { org: 'org2', level: 'full', secretName: 'renamed' })).toBe(true);
    expect(await identity.keyByUser('ns', 'alice')).toEqual({ ...added, org: 'org2', level: 'full', secretName: 'renamed' });
    expect(await identity.keyBySecretName(k.secretName)).toBeUndefined();
    expect(await identity.updateKey('NOSUCHKEY', { org: 'o', level: 'read', secretName: 'x' })).toBe(false);

    await identity.addKey(newKey('Zed', { namespace: 'ns' }));
    await identity.addKey(newKey('bob', { namespace: 'Ans' }));
    expect((await identity.listKeys()).map((x) => `${x.namespace}/${x.user}`)).toEqual(['Ans/bob', 'ns/Zed', 'ns/alice']);

    expect(await identity.deleteKey(k.accessKey)).toBe(true);
    expect(await identity.deleteKey(k.accessKey)).toBe(false);
    expect(await identity.keyByAccessKey(k.accessKey)).toBeUndefined();
    expect(await identity.credentialsFor(k.accessKey)).toBeUndefined();
  });

  it('stores a key\u2019s default region; a key without one reads as unset, through every read', async () => {
    const withRegion = await a.identity.addKey({ ...newKey('rita'), defaultRegion: 'ord1' });
    expect(withRegion.defaultRegion).toBe('ord1');
    const without = await a.identity.addKey(newKey('sam'));
    expect(without).not.toHaveProperty('defaultRegion');
    for (const identity of [a.identity, b.identity]) {
      expect((await identity.keyByUser('ns', 'rita'))?.defaultRegion).toBe('ord1');
      expect((await identity.keyByAccessKey(withRegion.accessKey))?.defaultRegion).toBe('ord1');
      expect(await identity.keyByUser('ns', 'sam')).not.toHaveProperty('defaultRegion');
      expect((await identity.listKeys()).map((k) => k.defaultRegion)).toEqual(['ord1', undefined]);
    }
    // A change of level or owner keeps it.
    await a.identity.updateKey(withRegion.accessKey, { org: 'org', level: 'full', secretName: withRegion.secretName });
    expect((await b.identity.keyByUser('ns', 'rita'))?.defaultRegion).toBe('ord1');
  });

  it('keeps secrets encrypted and gives them back decrypted, with the principal', async () => {
    const k = newKey('carol');
    await a.identity.addKey(k);
    expect(await a.identity.secretOf(k.accessKey)).toBe(k.secretKey);
    expect(await b.identity.secretOf(k.accessKey)).toBe(k.secretKey);
    expect(await b.identity.credentialsFor(k.accessKey)).toEqual({ secret: k.secretKey, principal: { org: 'org', user: 'carol', level: 'read', accessKey: k.accessKey } });
    expect(a.identity.peekCredentials(k.accessKey)).toBeUndefined();
    await a.identity.credentialsFor(k.accessKey);
    expect(a.identity.peekCredentials(k.accessKey)?.secret).toBe(k.secretKey);
    expect(await a.identity.secretOf('NOSUCHKEY')).toBeUndefined();
  });

  it('creates organisations once, lists them in byte order', async () => {
    await a.identity.ensureOrg('beta');
    await a.identity.ensureOrg('beta');
    await b.identity.ensureOrg('Alpha');
    await a.identity.addKey(newKey('dave'));
    expect(await b.identity.listOrgs()).toEqual(['Alpha', 'beta', 'org']);
  });

  it('refuses duplicates, and a failed transaction leaves nothing behind', async () => {
    const k = newKey('erin');
    await a.identity.addKey(k);
    const before = await a.identity.listKeys();
    await expect(a.identity.addKey({ ...newKey('frank'), secretName: k.secretName })).rejects.toThrow();
    await expect(a.identity.addKey({ ...newKey('erin2'), user: 'erin' })).rejects.toThrow();
    await expect(
      a.identity.transaction(async (tx) => {
        await tx.addKey(newKey('gina'));
        await tx.deleteKey(k.accessKey);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await a.identity.listKeys()).toEqual(before);
    expect(await b.identity.listKeys()).toEqual(before);
    expect(await b.identity.listOrgs()).toEqual(['org']);
  });

  it('creates, verifies, lists and revokes admin tokens; only one first token', async () => {
    const { tokens } = a.identity;
    const first = await tokens.createFirst({ name: 'bootstrap', namespaces: ['*'], createdBy: 'bootstrap' });
    expect(first).toBeDefined();
    expect(await b.identity.tokens.createFirst({ name: 'bootstrap', namespaces: ['*'], createdBy: 'bootstrap' })).toBeUndefined();
    const { token, record } = await tokens.create({ name: 'ci', namespaces: 'ns2,ns1', createdBy: 'test' });
    expect(record.namespaces).toEqual(['ns1', 'ns2']);
    expect(await b.identity.tokens.verify(token)).toEqual({ ok: true, token: record });
    expect(await b.identity.tokens.verify(token.slice(0, -1) + (token.endsWith('0') ? '1' : '0'))).toEqual({ ok: false, reason: 'unknown' });
    expect(await b.identity.tokens.verify('nonsense')).toEqual({ ok: false, reason: 'malformed' });
    expect((await b.identity.tokens.list()).map((t) => t.name)).toEqual(['bootstrap', 'ci']);
    expect(await b.identity.tokens.count()).toBe(2);
    expect(await b.identity.tokens.get(record.id)).toEqual(record);
    expect(await a.identity.tokens.revoke(record.id)).toBe('revoked');
    expect(await b.identity.tokens.revoke(record.id)).toBe('already-revoked');
    expect(await b.identity.tokens.revoke('nosuchtoken12')).toBe('not-found');
    expect(await a.identity.tokens.verify(token)).toEqual({ ok: false, reason: 'revoked' });
    expect((await a.identity.tokens.get(record.id))?.revokedAt).toBeTypeOf('number');
  });

  it(`a key deleted through one node is refused by another within the bound (${engine.boundMs} ms)`, async () => {
    const k = newKey('henry');
    await a.identity.addKey(k);
    // b caches the key, and answers from its cache
    expect((await b.identity.credentialsFor(k.accessKey))?.secret).toBe(k.secretKey);
    expect(b.identity.peekCredentials(k.accessKey)).toBeDefined();
    await a.identity.deleteKey(k.accessKey);
    // a's own cache drops it at once
    expect(a.identity.peekCredentials(k.accessKey)).toBeUndefined();
    expect(await a.identity.credentialsFor(k.accessKey)).toBeUndefined();
    const took = await within(engine.boundMs, async () => (await b.identity.credentialsFor(k.accessKey)) === undefined);
    if (engine.boundMs === 0) expect(took).toBeLessThan(20);
  });

  it('a level changed through one node reaches another within the bound', async () => {
    const k = newKey('iris');
    await a.identity.addKey(k);
    expect((await b.identity.credentialsFor(k.accessKey))?.principal.level).toBe('read');
    await a.identity.updateKey(k.accessKey, { org: 'org', level: 'full', secretName: k.secretName });
    await within(engine.boundMs, async () => (await b.identity.credentialsFor(k.accessKey))?.principal.level === 'full');
  });

  it('a token revoked through one node is refused by another within the bound', async () => {
    const { token, record } = await a.identity.tokens.create({ namespaces: ['*'], createdBy: 'test' });
    expect((await b.identity.tokens.verify(token)).ok).toBe(true);
    await a.identity.tokens.revoke(record.id);
    await within(engine.boundMs, async () => (await b.identity.tokens.verify(token)).ok === false);
    expect(await b.identity.tokens.verify(token)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('does not cache unknown access keys: a key added elsewhere works at once', async () => {
    const k = newKey('jack');
    expect(await b.identity.credentialsFor(k.accessKey)).toBeUndefined();
    await a.identity.addKey(k);
    expect((await b.identity.credentialsFor(k.accessKey))?.secret).toBe(k.secretKey);
    const t = await a.identity.tokens.create({ namespaces: ['*'], createdBy: 'test' });
    expect((await b.identity.tokens.verify(t.token)).ok).toBe(true);
  });

  // SQLite: one process per data root, whose transactions queue; a second connection in the same
  // process would wait for the first one's lock while blocking the event loop the first one needs.
  const concurrent = () => (engine.name === 'postgres' ? b : a);

  it('concurrent applies through two nodes: one user, one secret name, never two', async () => {
    const ua = new UserDirectory(a.identity);
    const ub = new UserDirectory(concurrent().identity);
    const results = await Promise.all([ua.apply([manifest('kim', 'ns', 'read')]), ub.apply([manifest('kim', 'ns', 'read')])]);
    expect(results.map((r) => r[0].result).sort()).toEqual(['created', 'unchanged']);
    expect((await a.identity.listKeys()).filter((k) => k.user === 'kim')).toHaveLength(1);

    const settled = await Promise.allSettled([ua.apply([manifest('lee', 'ns', 'read', 'contested')]), ub.apply([manifest('max', 'ns', 'read', 'contested')])]);
    expect(settled.map((s) => s.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refusal = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult;
    expect(refusal.reason).toBeInstanceOf(IdentityError);
    expect((refusal.reason as IdentityError).status).toBe(409);
    expect((await b.identity.listKeys()).filter((k) => k.secretName === 'contested')).toHaveLength(1);
  });

  it('bootstraps once when several nodes start together', async () => {
    const config = { adminAccessKey: undefined, adminSecretKey: undefined } as unknown as Services['config'];
    const results = await Promise.all([bootstrap({ identity: a.identity, config } as Services), bootstrap({ identity: concurrent().identity, config } as Services)]);
    expect(results.filter((r) => r?.secretKey !== undefined)).toHaveLength(1);
    expect(await a.identity.listKeys()).toHaveLength(1);
  });

  if (engine.name === 'postgres') {
    it('trusts its cache only while a version check is recent (a stalled poll cannot stretch the bound)', async () => {
      // c polls once a minute, but vouches for its cache for 300 ms only
      const c = await store.open({ pollMs: 60_000, freshMs: 300 });
      try {
        const k = newKey('nina');
        await a.identity.addKey(k);
        expect(await c.identity.credentialsFor(k.accessKey)).toBeDefined();
        await a.identity.deleteKey(k.accessKey);
        await new Promise((r) => setTimeout(r, 350));
        expect(c.identity.peekCredentials(k.accessKey)).toBeUndefined();
        expect(await c.identity.credentialsFor(k.accessKey)).toBeUndefined();
      } finally {
        await c.close();
      }
    });

    it('refuses a node whose master.key differs from the one the secrets are encrypted under', async () => {
      const other = mkdtempSync(join(tmpdir(), 'strata-identity-other-'));
      const database = new PgDatabase(store.url!, 1);
      try {
        await expect(openIdentityStore({ dataDir: other, masterKey: loadOrCreateMasterKey(other), database })).rejects.toBeInstanceOf(MasterKeyMismatchError);
      } finally {
        await database.close();
        rmSync(other, { recursive: true, force: true });
      }
    });

    it('keeps its rows in the strata_identity schema, secrets encrypted and tokens hashed', async () => {
      const k = newKey('olga');
      await a.identity.addKey(k);
      const { token } = await a.identity.tokens.create({ namespaces: ['*'], createdBy: 'test' });
      const client = new pg.Client({ connectionString: store.url });
      await client.connect();
      try {
        const dump = (await client.query<{ d: string }>(`SELECT (SELECT string_agg(k::text, '') FROM ${IDENTITY_SCHEMA}.keys k) || (SELECT string_agg(t::text, '') FROM ${IDENTITY_SCHEMA}.admin_tokens t) AS d`)).rows[0].d;
        expect(dump).toContain(k.accessKey);
        expect(dump).not.toContain(k.secretKey);
        expect(dump).not.toContain(Buffer.from(k.secretKey).toString('hex'));
        expect(dump).not.toContain(token.split('_')[2]);
      } finally {
        await client.end();
      }
    });
  }
});

describe('identity.db from before keys had a default region', () => {
  it('gains the column when opened; its keys read as having none, and new keys store one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-identity-old-'));
    try {
      const masterKey = loadOrCreateMasterKey(dir);
      const old = new Database(join(dir, 'identity.db'));
      old.exec(`CREATE TABLE keys (access_key TEXT PRIMARY KEY, org TEXT NOT NULL, user TEXT NOT NULL, namespace TEXT NOT NULL, level TEXT NOT NULL,
        secret_enc BLOB NOT NULL, secret_name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, UNIQUE (namespace, user)) WITHOUT ROWID`);
      old.prepare('INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('AKOLDKEY000000000001', 'org', 'old', 'ns', 'read', Buffer.alloc(40), 'ns-old-obj-store-creds', 1);
      old.close();
      const identity = await openIdentityStore({ dataDir: dir, masterKey });
      try {
        expect(await identity.keyByUser('ns', 'old')).toMatchObject({ user: 'old', level: 'read' });
        expect(await identity.keyByUser('ns', 'old')).not.toHaveProperty('defaultRegion');
        await identity.addKey({ ...newKey('new'), defaultRegion: 'las1' });
        expect((await identity.keyByUser('ns', 'new'))?.defaultRegion).toBe('las1');
      } finally {
        await identity.close();
      }
      // A second open (the CLI beside the server) finds the column there and changes nothing.
      const again = await openIdentityStore({ dataDir: dir, masterKey });
      expect((await again.keyByUser('ns', 'new'))?.defaultRegion).toBe('las1');
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
