// The shared identity engine: the schema strata_identity of the PostgreSQL database that every
// node shares (STRATA_METADATA_URL), over the process's one pool (store/meta/postgres.ts).
//
// Consistency. Every write transaction starts by bumping the one row of identity_version. The
// row lock it takes is held until commit, so identity writes queue one behind the other across
// the cluster (they are rare: admin operations); under READ COMMITTED each later statement sees
// every earlier commit, so a read-modify-write (users.apply: look the user and the secret name
// up, then insert or update) cannot interleave with another node's. The unique constraints stay
// as the backstop, and PgDatabase.transaction runs a body again after a unique violation.
//
// Caches. Each node caches decrypted secrets and tokens (identity-engine.ts IdentityCache) and
// trusts them only while the version it last read is current: a background poll (unref'd,
// every POLL_MS) reads identity_version, and this node's own writes invalidate at once. The
// bound: a key or token deleted or revoked on any node stops working on every other node
// within POLL_MS plus one poll's round trip, and never later than FRESH_MS after the commit
// whatever the timers do (a stalled event loop, a slow database): an entry is trusted only while
// the last successful version check started at most FRESH_MS ago; past that, the next request
// checks the version itself before using the cache.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PgDatabase } from '../store/meta/postgres.ts';
import type { AccessLevel, KeyRecord } from './identity-store.ts';
import type { IdentityEngine, IdentityReads, IdentityTx, StoredKey, StoredKubeObject, StoredToken } from './identity-engine.ts';

export const IDENTITY_SCHEMA = 'strata_identity';
/** how often each node reads identity_version */
export const POLL_MS = 1000;
/** how long a successful version check vouches for the cache */
export const FRESH_MS = 2000;

const S = IDENTITY_SCHEMA;

/** Migrations, in order; each runs once, in a transaction, under the migrations lock. */
const migrations: string[] = [
  `CREATE TABLE ${S}.orgs (id text COLLATE "C" PRIMARY KEY, created_at bigint NOT NULL);
   CREATE TABLE ${S}.keys (
     access_key text COLLATE "C" PRIMARY KEY,
     org text COLLATE "C" NOT NULL,
     user_name text COLLATE "C" NOT NULL,
     namespace text COLLATE "C" NOT NULL,
     level text NOT NULL,
     secret_enc bytea NOT NULL,
     secret_name text COLLATE "C" NOT NULL UNIQUE,
     created_at bigint NOT NULL,
     UNIQUE (namespace, user_name)
   );
   CREATE TABLE ${S}.admin_tokens (
     id text COLLATE "C" PRIMARY KEY,
     name text NOT NULL,
     namespaces text NOT NULL,
     token_hash bytea NOT NULL,
     created_at bigint NOT NULL,
     created_by text NOT NULL,
     revoked_at bigint
   );
   -- One row: bumped by every identity write, read by every node's cache.
   CREATE TABLE ${S}.identity_version (one boolean PRIMARY KEY DEFAULT true CHECK (one), version bigint NOT NULL);
   INSERT INTO ${S}.identity_version (version) VALUES (0);
   -- A check value of the master key the secrets are encrypted under (HMAC, not the key).
   CREATE TABLE ${S}.master_key (one boolean PRIMARY KEY DEFAULT true CHECK (one), check_value bytea NOT NULL);`,
  // The Kubernetes API's own objects (Roles, RoleBindings, Users' metadata): src/kube.
  `CREATE TABLE ${S}.kube_objects (
     kind text COLLATE "C" NOT NULL,
     namespace text COLLATE "C" NOT NULL,
     name text COLLATE "C" NOT NULL,
     body text NOT NULL,
     PRIMARY KEY (kind, namespace, name)
   );`,
  // A key's default region (the console's create form); NULL for keys made by manifests.
  `ALTER TABLE ${S}.keys ADD COLUMN default_region text;`,
];

/** The advisory lock region migrations take too (store/meta/postgres.ts), so start-ups queue on one lock. */
const migrationsLock = createHash('sha256').update('strata-migrations').digest().readBigInt64BE(0).toString();

export class MasterKeyMismatchError extends Error {
  override name = 'MasterKeyMismatchError';
}

const KEY_COLUMNS = 'access_key, org, user_name, namespace, level, secret_enc, secret_name, created_at, default_region';
const sql = {
  key: `SELECT ${KEY_COLUMNS} FROM ${S}.keys WHERE access_key = $1`,
  keyByUser: `SELECT ${KEY_COLUMNS} FROM ${S}.keys WHERE namespace = $1 AND user_name = $2`,
  keyBySecretName: `SELECT ${KEY_COLUMNS} FROM ${S}.keys WHERE secret_name = $1`,
  keys: `SELECT ${KEY_COLUMNS} FROM ${S}.keys ORDER BY namespace, user_name`,
  orgs: `SELECT id FROM ${S}.orgs ORDER BY id`,
  token: `SELECT * FROM ${S}.admin_tokens WHERE id = $1`,
  tokens: `SELECT * FROM ${S}.admin_tokens ORDER BY created_at, id`,
  tokenCount: `SELECT COUNT(*)::bigint AS n FROM ${S}.admin_tokens`,
  ensureOrg: `INSERT INTO ${S}.orgs (id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
  insertKey: `INSERT INTO ${S}.keys (${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
  updateKey: `UPDATE ${S}.keys SET org = $1, level = $2, secret_name = $3 WHERE access_key = $4`,
  deleteKey: `DELETE FROM ${S}.keys WHERE access_key = $1`,
  insertToken: `INSERT INTO ${S}.admin_tokens (id, name, namespaces, token_hash, created_at, created_by, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)`,
  revokeToken: `UPDATE ${S}.admin_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`,
  kubeObject: `SELECT body FROM ${S}.kube_objects WHERE kind = $1 AND namespace = $2 AND name = $3`,
  kubeObjects: `SELECT namespace, name, body FROM ${S}.kube_objects WHERE kind = $1 ORDER BY namespace, name`,
  putKubeObject: `INSERT INTO ${S}.kube_objects (kind, namespace, name, body) VALUES ($1, $2, $3, $4) ON CONFLICT (kind, namespace, name) DO UPDATE SET body = EXCLUDED.body`,
  deleteKubeObject: `DELETE FROM ${S}.kube_objects WHERE kind = $1 AND namespace = $2 AND name = $3`,
  version: `SELECT version FROM ${S}.identity_version`,
  bumpVersion: `UPDATE ${S}.identity_version SET version = version + 1 RETURNING version`,
};

type Row = Record<string, unknown>;

class PgRows implements IdentityTx {
  constructor(private readonly db: pg.Pool | pg.PoolClient) {}

  private async rows(text: string, values: unknown[] = []): Promise<Row[]> {
    return (await this.db.query<Row>(text, values)).rows;
  }
  async key(accessKey: string) {
    return toKey((await this.rows(sql.key, [accessKey]))[0]);
  }
  async keyByUser(namespace: string, user: string) {
    return toKey((await this.rows(sql.keyByUser, [namespace, user]))[0]);
  }
  async keyBySecretName(secretName: string) {
    return toKey((await this.rows(sql.keyBySecretName, [secretName]))[0]);
  }
  async keys() {
    return (await this.rows(sql.keys)).map((r) => toKey(r)!);
  }
  async orgs() {
    return (await this.rows(sql.orgs)).map((r) => r.id as string);
  }
  async token(id: string) {
    return toToken((await this.rows(sql.token, [id]))[0]);
  }
  async tokens() {
    return (await this.rows(sql.tokens)).map((r) => toToken(r)!);
  }
  async tokenCount() {
    return (await this.rows(sql.tokenCount))[0].n as number;
  }
  async ensureOrg(id: string, createdAt: number) {
    await this.db.query(sql.ensureOrg, [id, createdAt]);
  }
  async insertKey(k: StoredKey) {
    await this.db.query(sql.insertKey, [k.accessKey, k.org, k.user, k.namespace, k.level, k.secretEnc, k.secretName, k.createdAt, k.defaultRegion ?? null]);
  }
  async updateKey(accessKey: string, change: Pick<KeyRecord, 'org' | 'level' | 'secretName'>) {
    return ((await this.db.query(sql.updateKey, [change.org, change.level, change.secretName, accessKey])).rowCount ?? 0) > 0;
  }
  async deleteKey(accessKey: string) {
    return ((await this.db.query(sql.deleteKey, [accessKey])).rowCount ?? 0) > 0;
  }
  async insertToken(t: StoredToken) {
    await this.db.query(sql.insertToken, [t.id, t.name, JSON.stringify(t.namespaces), t.tokenHash, t.createdAt, t.createdBy]);
  }
  async revokeToken(id: string, at: number) {
    return ((await this.db.query(sql.revokeToken, [at, id])).rowCount ?? 0) > 0;
  }
  async kubeObject(kind: string, namespace: string, name: string) {
    return (await this.rows(sql.kubeObject, [kind, namespace, name]))[0]?.body as string | undefined;
  }
  async kubeObjects(kind: string) {
    return (await this.rows(sql.kubeObjects, [kind])) as unknown as StoredKubeObject[];
  }
  async putKubeObject(kind: string, namespace: string, name: string, body: string) {
    await this.db.query(sql.putKubeObject, [kind, namespace, name, body]);
  }
  async deleteKubeObject(kind: string, namespace: string, name: string) {
    return ((await this.db.query(sql.deleteKubeObject, [kind, namespace, name])).rowCount ?? 0) > 0;
  }
}

export interface PgIdentityOptions {
  /** HMAC of a constant under the master key: a node with another master.key is refused */
  masterKeyCheck: Buffer;
  pollMs?: number;
  freshMs?: number;
}

export class PgIdentityEngine implements IdentityEngine {
  readonly engine = 'postgres' as const;
  readonly read: IdentityReads;
  /** the identity_version this node last saw */
  private version = -1;
  /** bumped whenever the cache must be dropped: the change token */
  private generation = 0;
  /** when the last successful version check started (its snapshot is at least that recent) */
  private verifiedAt = -Infinity;
  private polling: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly freshMs: number;

  private constructor(
    private readonly database: PgDatabase,
    options: PgIdentityOptions,
  ) {
    this.read = new PgRows(database.pool);
    this.freshMs = options.freshMs ?? FRESH_MS;
    this.timer = setInterval(() => void this.poll().catch(() => undefined), options.pollMs ?? POLL_MS);
    this.timer.unref();
  }

  /** Create the schema if needed (nodes may race: they queue on the migrations lock) and check the master key. */
  static async open(database: PgDatabase, options: PgIdentityOptions): Promise<PgIdentityEngine> {
    const client = await database.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [migrationsLock]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${S}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${S}.schema_version (version integer NOT NULL)`);
      const current = (await client.query<{ version: number }>(`SELECT version FROM ${S}.schema_version`)).rows[0]?.version ?? 0;
      for (let i = current; i < migrations.length; i++) await client.query(migrations[i]);
      if (current === 0) await client.query(`INSERT INTO ${S}.schema_version VALUES ($1)`, [migrations.length]);
      else await client.query(`UPDATE ${S}.schema_version SET version = $1`, [migrations.length]);
      await client.query(`INSERT INTO ${S}.master_key (check_value) VALUES ($1) ON CONFLICT DO NOTHING`, [options.masterKeyCheck]);
      const stored = (await client.query<{ check_value: Buffer }>(`SELECT check_value FROM ${S}.master_key`)).rows[0].check_value;
      if (!stored.equals(options.masterKeyCheck)) {
        throw new MasterKeyMismatchError(
          'master.key in the data root is not the key the secrets in this database are encrypted with; every node must use the same data root (or the same master.key)',
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    const engine = new PgIdentityEngine(database, options);
    try {
      await engine.poll();
    } catch (error) {
      clearInterval(engine.timer);
      throw error;
    }
    return engine;
  }

  async transaction<T>(fn: (tx: IdentityTx) => Promise<T>): Promise<T> {
    let bumped: number | undefined;
    try {
      return await this.database.transaction(async (client) => {
        bumped = (await client.query<{ version: number }>(sql.bumpVersion)).rows[0].version;
        return fn(new PgRows(client));
      });
    } finally {
      // After a commit, and after a failure too (a lost COMMIT may have committed): this node's
      // caches are dropped at once, without waiting for the poll.
      if (bumped !== undefined) this.version = bumped;
      this.generation++;
    }
  }

  changeToken(): number | undefined {
    return Date.now() - this.verifiedAt <= this.freshMs ? this.generation : undefined;
  }

  freshen(): Promise<void> {
    return this.poll();
  }

  /** Read identity_version (one query at a time; callers share the one in flight). */
  private poll(): Promise<void> {
    this.polling ??= (async () => {
      const started = Date.now();
      try {
        const version = (await this.database.pool.query<{ version: number }>(sql.version)).rows[0].version;
        if (version !== this.version) {
          this.version = version;
          this.generation++;
        }
        this.verifiedAt = Math.max(this.verifiedAt, started);
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  /** The pool belongs to the PgDatabase, which its owner closes. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.polling?.catch(() => undefined);
  }
}

function toKey(row: Row | undefined): StoredKey | undefined {
  if (!row) return undefined;
  return {
    org: row.org as string,
    user: row.user_name as string,
    namespace: row.namespace as string,
    level: row.level as AccessLevel,
    accessKey: row.access_key as string,
    secretName: row.secret_name as string,
    createdAt: row.created_at as number,
    secretEnc: row.secret_enc as Buffer,
    ...(typeof row.default_region === 'string' ? { defaultRegion: row.default_region } : {}),
  };
}

function toToken(row: Row | undefined): StoredToken | undefined {
  if (!row) return undefined;
  const t: StoredToken = {
    id: row.id as string,
    name: row.name as string,
    namespaces: JSON.parse(row.namespaces as string) as string[],
    createdAt: row.created_at as number,
    createdBy: row.created_by as string,
    tokenHash: row.token_hash as Buffer,
  };
  if (row.revoked_at !== null && row.revoked_at !== undefined) t.revokedAt = row.revoked_at as number;
  return t;
}
