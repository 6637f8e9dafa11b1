// Organisations and their access keys, shared by every region. Secrets are needed in clear to
// verify SigV4, so they are stored encrypted (AES-256-GCM) under a master key that lives in the
// data root with 0600 permissions (or is supplied by the operator), and never logged.
import Database from 'better-sqlite3';
import { createCipheriv, createDecipheriv, randomBytes, randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { OWNER_DIR_MODE, OWNER_FILE_MODE, prepareDatabaseFile } from '../store/file-modes.ts';
import { join } from 'node:path';
import { DataVersionCache } from '../store/db.ts';
import { AdminTokenStore } from './admin-tokens.ts';

export type AccessLevel = 'read' | 'write' | 'readwrite' | 'full';
export const accessLevels: readonly AccessLevel[] = ['read', 'write', 'readwrite', 'full'];

export interface KeyRecord {
  org: string;
  /** user name inside the organisation (metadata.name of the seed's User manifest) */
  user: string;
  namespace: string;
  level: AccessLevel;
  accessKey: string;
  secretName: string;
  createdAt: number;
}

export interface Principal {
  org: string;
  user: string;
  level: AccessLevel;
  accessKey: string;
}

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
    UNIQUE (namespace, user)
  ) WITHOUT ROWID;
`;

const accessKeyAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const secretAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+';

function randomString(alphabet: string, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** AWS-shaped credentials from a CSPRNG: a 20-character access key and a 40-character secret. */
export function generateCredentials(): { accessKey: string; secretKey: string } {
  return { accessKey: 'STR' + randomString(accessKeyAlphabet, 17), secretKey: randomString(secretAlphabet, 40) };
}

export function loadOrCreateMasterKey(dataDir: string): Buffer {
  const path = join(dataDir, 'master.key');
  if (existsSync(path)) {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${path} must hold 32 base64-encoded bytes`);
    return key;
  }
  mkdirSync(dataDir, { recursive: true, mode: OWNER_DIR_MODE });
  const key = randomBytes(32);
  writeFileSync(path, key.toString('base64') + '\n', { mode: OWNER_FILE_MODE, flag: 'wx' });
  chmodSync(path, OWNER_FILE_MODE);
  return key;
}

export class IdentityStore {
  readonly db: Database.Database;
  /** Decrypted secrets, cached: SigV4 needs one per request and decryption is not free. */
  private readonly secretCache: DataVersionCache<{ secret: string; principal: Principal } | undefined>;
  /** Admin API tokens (hashed), in the same database. */
  readonly tokens: AdminTokenStore;

  constructor(dataDir: string, private readonly masterKey: Buffer) {
    mkdirSync(dataDir, { recursive: true, mode: OWNER_DIR_MODE });
    prepareDatabaseFile(join(dataDir, 'identity.db'));
    this.db = new Database(join(dataDir, 'identity.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(schema);
    this.secretCache = new DataVersionCache(this.db);
    this.tokens = new AdminTokenStore(this.db);
  }

  /**
   * Run `fn` in one IMMEDIATE transaction (the write lock is taken up front, so a concurrent
   * writer in another process — server or CLI — makes this wait, never fail half-way).
   */
  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } finally {
      this.secretCache.clear();
    }
  }

  private encrypt(secret: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv);
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  private decrypt(blob: Buffer): string {
    const decipher = createDecipheriv('aes-256-gcm', this.masterKey, blob.subarray(0, 12));
    decipher.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]).toString('utf8');
  }

  ensureOrg(id: string): void {
    this.db.prepare('INSERT OR IGNORE INTO orgs (id, created_at) VALUES (?, ?)').run(id, Date.now());
  }

  listOrgs(): string[] {
    return this.db.prepare<[], { id: string }>('SELECT id FROM orgs ORDER BY id').all().map((r) => r.id);
  }

  addKey(k: Omit<KeyRecord, 'createdAt'> & { secretKey: string }): KeyRecord {
    this.ensureOrg(k.org);
    const createdAt = Date.now();
    this.db
      .prepare('INSERT INTO keys (access_key, org, user, namespace, level, secret_enc, secret_name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(k.accessKey, k.org, k.user, k.namespace, k.level, this.encrypt(k.secretKey), k.secretName, createdAt);
    this.secretCache.clear();
    return { org: k.org, user: k.user, namespace: k.namespace, level: k.level, accessKey: k.accessKey, secretName: k.secretName, createdAt };
  }

  keyByAccessKey(accessKey: string): KeyRecord | undefined {
    const row = this.db.prepare<[string], Record<string, unknown>>('SELECT * FROM keys WHERE access_key = ?').get(accessKey);
    return row ? rowToKey(row) : undefined;
  }

  keyByUser(namespace: string, user: string): KeyRecord | undefined {
    const row = this.db.prepare<[string, string], Record<string, unknown>>('SELECT * FROM keys WHERE namespace = ? AND user = ?').get(namespace, user);
    return row ? rowToKey(row) : undefined;
  }

  keyBySecretName(secretName: string): KeyRecord | undefined {
    const row = this.db.prepare<[string], Record<string, unknown>>('SELECT * FROM keys WHERE secret_name = ?').get(secretName);
    return row ? rowToKey(row) : undefined;
  }

  /** Change a key's organisation, access level or secret name; the credentials stay. */
  updateKey(accessKey: string, change: { org: string; level: AccessLevel; secretName: string }): boolean {
    this.ensureOrg(change.org);
    const changed =
      this.db.prepare('UPDATE keys SET org = ?, level = ?, secret_name = ? WHERE access_key = ?').run(change.org, change.level, change.secretName, accessKey).changes > 0;
    this.secretCache.clear();
    return changed;
  }

  listKeys(): KeyRecord[] {
    return this.db.prepare<[], Record<string, unknown>>('SELECT * FROM keys ORDER BY namespace, user').all().map(rowToKey);
  }

  secretOf(accessKey: string): string | undefined {
    const row = this.db.prepare<[string], { secret_enc: Buffer }>('SELECT secret_enc FROM keys WHERE access_key = ?').get(accessKey);
    return row ? this.decrypt(row.secret_enc) : undefined;
  }

  /**
   * The hot path of authentication. The cache is dropped whenever keys change in this process;
   * changes made by another process (the CLI on the same data root) are seen because a cache
   * entry is revalidated against the database's data_version.
   */
  credentialsFor(accessKey: string): { secret: string; principal: Principal } | undefined {
    return this.secretCache.get(
      accessKey,
      () => {
        const key = this.keyByAccessKey(accessKey);
        if (!key) return undefined;
        return { secret: this.secretOf(accessKey)!, principal: { org: key.org, user: key.user, level: key.level, accessKey } };
      },
      // Unknown access keys are not remembered: anyone can send any number of them.
      (entry) => entry !== undefined,
    );
  }

  deleteKey(accessKey: string): boolean {
    const changed = this.db.prepare('DELETE FROM keys WHERE access_key = ?').run(accessKey).changes > 0;
    this.secretCache.clear();
    return changed;
  }

  close(): void {
    this.db.close();
  }
}

function rowToKey(row: Record<string, unknown>): KeyRecord {
  return {
    org: row.org as string,
    user: row.user as string,
    namespace: row.namespace as string,
    level: row.level as AccessLevel,
    accessKey: row.access_key as string,
    secretName: row.secret_name as string,
    createdAt: row.created_at as number,
  };
}
