// The embedded identity engine: identity.db in the data root (WAL), shared with the CLI, which
// opens the same file while the server runs. Two connections: transactions run on the writer,
// one at a time (a queue: their bodies are async, and nothing else may interleave with an open
// transaction on its connection); reads outside transactions go to the reader, which sees only
// committed data. PRAGMA data_version on the reader changes whenever any connection (this
// process's writer or another process) commits: that is the change token caches compare.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OWNER_DIR_MODE, prepareDatabaseFile } from '../store/file-modes.ts';
import type { AccessLevel, KeyRecord } from './identity-store.ts';
import type { IdentityEngine, IdentityReads, IdentityTx, StoredKey, StoredKubeObject, StoredToken } from './identity-engine.ts';

const schema = `
  CREATE TABLE IF NOT EXISTS orgs (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS keys (
    access_key TEXT PRIMARY KEY,
    org TEXT NOT NULL,
    user TEXT NOT NULL,
    namespace TEXT NOT NULL,
    level TEXT NOT NULL,
    secret_enc BLOB NOT NULL,
    secret_name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    default_region TEXT,
    UNIQUE (namespace, user)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS admin_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    namespaces TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at INTEGER
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS kube_objects (
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
  ) WITHOUT ROWID;
`;

type Row = Record<string, unknown>;

/**
 * Columns added after a table's first release, for identity.db files made before them (nullable,
 * so old rows read as unset). The server and the CLI may open an old file together: the check and
 * the ALTER run under the write lock, and whoever comes second finds the column there.
 */
const addedColumns: { table: string; column: string; type: string }[] = [{ table: 'keys', column: 'default_region', type: 'TEXT' }];

function addMissingColumns(db: Database.Database): void {
  db.transaction(() => {
    for (const c of addedColumns) {
      const present = (db.prepare(`PRAGMA table_info(${c.table})`).all() as { name: string }[]).some((col) => col.name === c.column);
      if (!present) db.exec(`ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.type}`);
    }
  }).immediate();
}

function open(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // A writer in another process (the CLI, or the server) makes this wait, not fail.
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Row operations on one connection (better-sqlite3 is synchronous; the promises resolve at once). */
class SqliteRows implements IdentityTx {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      key: db.prepare<[string], Row>('SELECT * FROM keys WHERE access_key = ?'),
      keyByUser: db.prepare<[string, string], Row>('SELECT * FROM keys WHERE namespace = ? AND user = ?'),
      keyBySecretName: db.prepare<[string], Row>('SELECT * FROM keys WHERE secret_name = ?'),
      keys: db.prepare<[], Row>('SELECT * FROM keys ORDER BY namespace, user'),
      orgs: db.prepare<[], { id: string }>('SELECT id FROM orgs ORDER BY id'),
      token: db.prepare<[string], Row>('SELECT * FROM admin_tokens WHERE id = ?'),
      tokens: db.prepare<[], Row>('SELECT * FROM admin_tokens ORDER BY created_at, id'),
      tokenCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM admin_tokens'),
      ensureOrg: db.prepare('INSERT OR IGNORE INTO orgs (id, created_at) VALUES (?, ?)'),
      insertKey: db.prepare('INSERT INTO keys (access_key, org, user, namespace, level, secret_enc, secret_name, created_at, default_region) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      updateKey: db.prepare('UPDATE keys SET org = ?, level = ?, secret_name = ? WHERE access_key = ?'),
      deleteKey: db.prepare('DELETE FROM keys WHERE access_key = ?'),
      insertToken: db.prepare('INSERT INTO admin_tokens (id, name, namespaces, token_hash, created_at, created_by, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)'),
      revokeToken: db.prepare('UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      kubeObject: db.prepare<[string, string, string], { body: string }>('SELECT body FROM kube_objects WHERE kind = ? AND namespace = ? AND name = ?'),
      kubeObjects: db.prepare<[string], StoredKubeObject>('SELECT namespace, name, body FROM kube_objects WHERE kind = ? ORDER BY namespace, name'),
      putKubeObject: db.prepare('INSERT OR REPLACE INTO kube_objects (kind, namespace, name, body) VALUES (?, ?, ?, ?)'),
      deleteKubeObject: db.prepare('DELETE FROM kube_objects WHERE kind = ? AND namespace = ? AND name = ?'),
    };
  }

  async key(accessKey: string) {
    return toKey(this.s.key.get(accessKey));
  }
  async keyByUser(namespace: string, user: string) {
    return toKey(this.s.keyByUser.get(namespace, user));
  }
  async keyBySecretName(secretName: string) {
    return toKey(this.s.keyBySecretName.get(secretName));
  }
  async keys() {
    return this.s.keys.all().map((r) => toKey(r)!);
  }
  async orgs() {
    return this.s.orgs.all().map((r) => r.id);
  }
  async token(id: string) {
    return toToken(this.s.token.get(id));
  }
  async tokens() {
    return this.s.tokens.all().map((r) => toToken(r)!);
  }
  async tokenCount() {
    return this.s.tokenCount.get()!.n;
  }
  async ensureOrg(id: string, createdAt: number) {
    this.s.ensureOrg.run(id, createdAt);
  }
  async insertKey(k: StoredKey) {
    this.s.insertKey.run(k.accessKey, k.org, k.user, k.namespace, k.level, k.secretEnc, k.secretName, k.createdAt, k.defaultRegion ?? null);
  }
  async updateKey(accessKey: string, change: Pick<KeyRecord, 'org' | 'level' | 'secretName'>) {
    return this.s.updateKey.run(change.org, change.level, change.secretName, accessKey).changes > 0;
  }
  async deleteKey(accessKey: string) {
    return this.s.deleteKey.run(accessKey).changes > 0;
  }
  async insertToken(t: StoredToken) {
    this.s.insertToken.run(t.id, t.name, JSON.stringify(t.namespaces), t.tokenHash, t.createdAt, t.createdBy);
  }
  async revokeToken(id: string, at: number) {
    return this.s.revokeToken.run(at, id).changes > 0;
  }
  async kubeObject(kind: string, namespace: string, name: string) {
    return this.s.kubeObject.get(kind, namespace, name)?.body;
  }
  async kubeObjects(kind: string) {
    return this.s.kubeObjects.all(kind);
  }
  async putKubeObject(kind: string, namespace: string, name: string, body: string) {
    this.s.putKubeObject.run(kind, namespace, name, body);
  }
  async deleteKubeObject(kind: string, namespace: string, name: string) {
    return this.s.deleteKubeObject.run(kind, namespace, name).changes > 0;
  }
}

export class SqliteIdentityEngine implements IdentityEngine {
  readonly engine = 'sqlite' as const;
  readonly read: IdentityReads;
  private readonly writer: Database.Database;
  private readonly reader: Database.Database;
  private readonly tx: SqliteRows;
  private readonly dataVersion: Database.Statement;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: OWNER_DIR_MODE });
    const path = join(dataDir, 'identity.db');
    prepareDatabaseFile(path);
    this.writer = open(path);
    this.writer.exec(schema);
    addMissingColumns(this.writer);
    this.reader = open(path);
    this.tx = new SqliteRows(this.writer);
    this.read = new SqliteRows(this.reader);
    // A prepared statement: db.pragma() would compile it again on every call.
    this.dataVersion = this.reader.prepare('PRAGMA data_version').pluck();
  }

  /**
   * IMMEDIATE: the write lock is taken up front, so a concurrent writer in another process
   * (server or CLI) makes this wait, never fail half-way.
   */
  transaction<T>(fn: (tx: IdentityTx) => Promise<T>): Promise<T> {
    const run = async () => {
      this.writer.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.tx);
        this.writer.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
        throw error;
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  changeToken(): number {
    return this.dataVersion.get() as number;
  }

  async freshen(): Promise<void> {}

  async close(): Promise<void> {
    await this.queue;
    this.reader.close();
    this.writer.close();
  }
}

function toKey(row: Row | undefined): StoredKey | undefined {
  if (!row) return undefined;
  return {
    org: row.org as string,
    user: row.user as string,
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
