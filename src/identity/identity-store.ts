// Organisations and their access keys, shared by every region. Secrets are needed in clear to
// verify SigV4, so they are stored encrypted (AES-256-GCM) under a master key that lives in the
// data root with 0600 permissions (or is supplied by the operator), and never logged.
//
// The rows live in identity.db (SQLite, the default) or, with STRATA_METADATA_URL, in the
// PostgreSQL database every node shares (identity-engine.ts); the master key stays in the data
// root either way (with PostgreSQL, the shared directory every node mounts).
import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PgDatabase } from '../store/meta/postgres.ts';
import { OWNER_DIR_MODE, OWNER_FILE_MODE } from '../store/file-modes.ts';
import { AdminTokenStore } from './admin-tokens.ts';
import { IdentityCache, type IdentityEngine, type IdentityReads, type IdentityTx, type StoredKey, type StoredKubeObject } from './identity-engine.ts';
import { PgIdentityEngine } from './identity-postgres.ts';
import { SqliteIdentityEngine } from './identity-sqlite.ts';

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
  /** the region chosen when the key was created (the console's "default region"); unset for keys made by manifests */
  defaultRegion?: string;
}

export interface Principal {
  org: string;
  user: string;
  level: AccessLevel;
  accessKey: string;
}

export interface Credentials {
  secret: string;
  principal: Principal;
}

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

/** AES-256-GCM under the master key: iv (12) | tag (16) | ciphertext. */
class SecretBox {
  constructor(private readonly masterKey: Buffer) {}

  encrypt(secret: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv);
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  decrypt(blob: Buffer): string {
    const decipher = createDecipheriv('aes-256-gcm', this.masterKey, blob.subarray(0, 12));
    decipher.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]).toString('utf8');
  }
}

/** A value that identifies the master key without revealing it (PostgreSQL refuses a node with another one). */
function masterKeyCheck(masterKey: Buffer): Buffer {
  return createHmac('sha256', masterKey).update('strata identity master key check v1').digest();
}

function record(k: StoredKey): KeyRecord {
  const r: KeyRecord = { org: k.org, user: k.user, namespace: k.namespace, level: k.level, accessKey: k.accessKey, secretName: k.secretName, createdAt: k.createdAt };
  if (k.defaultRegion !== undefined) r.defaultRegion = k.defaultRegion;
  return r;
}

/** Key reads, on committed state or inside a transaction. */
class KeyReader {
  constructor(
    protected readonly rows: IdentityReads,
    protected readonly box: SecretBox,
  ) {}

  async listOrgs(): Promise<string[]> {
    return this.rows.orgs();
  }
  async keyByAccessKey(accessKey: string): Promise<KeyRecord | undefined> {
    const k = await this.rows.key(accessKey);
    return k && record(k);
  }
  async keyByUser(namespace: string, user: string): Promise<KeyRecord | undefined> {
    const k = await this.rows.keyByUser(namespace, user);
    return k && record(k);
  }
  async keyBySecretName(secretName: string): Promise<KeyRecord | undefined> {
    const k = await this.rows.keyBySecretName(secretName);
    return k && record(k);
  }
  /** every key, by namespace then user */
  async listKeys(): Promise<KeyRecord[]> {
    return (await this.rows.keys()).map(record);
  }
  async secretOf(accessKey: string): Promise<string | undefined> {
    const k = await this.rows.key(accessKey);
    return k && this.box.decrypt(k.secretEnc);
  }
  /** the Kubernetes API's own objects (src/kube), as stored JSON */
  kubeObject(kind: string, namespace: string, name: string): Promise<string | undefined> {
    return this.rows.kubeObject(kind, namespace, name);
  }
  kubeObjects(kind: string): Promise<StoredKubeObject[]> {
    return this.rows.kubeObjects(kind);
  }
}

/** Reads and writes inside one transaction (IdentityStore.transaction). */
export class IdentityTransaction extends KeyReader {
  constructor(
    private readonly tx: IdentityTx,
    box: SecretBox,
  ) {
    super(tx, box);
  }

  async ensureOrg(id: string): Promise<void> {
    await this.tx.ensureOrg(id, Date.now());
  }

  async addKey(k: Omit<KeyRecord, 'createdAt'> & { secretKey: string }): Promise<KeyRecord> {
    await this.ensureOrg(k.org);
    const key: KeyRecord = { org: k.org, user: k.user, namespace: k.namespace, level: k.level, accessKey: k.accessKey, secretName: k.secretName, createdAt: Date.now() };
    if (k.defaultRegion !== undefined) key.defaultRegion = k.defaultRegion;
    await this.tx.insertKey({ ...key, secretEnc: this.box.encrypt(k.secretKey) });
    return key;
  }

  /** Change a key's organisation, access level or secret name; the credentials stay. */
  async updateKey(accessKey: string, change: { org: string; level: AccessLevel; secretName: string }): Promise<boolean> {
    await this.ensureOrg(change.org);
    return this.tx.updateKey(accessKey, change);
  }

  async deleteKey(accessKey: string): Promise<boolean> {
    return this.tx.deleteKey(accessKey);
  }

  putKubeObject(kind: string, namespace: string, name: string, body: string): Promise<void> {
    return this.tx.putKubeObject(kind, namespace, name, body);
  }

  deleteKubeObject(kind: string, namespace: string, name: string): Promise<boolean> {
    return this.tx.deleteKubeObject(kind, namespace, name);
  }
}

export interface IdentityOptions {
  dataDir: string;
  masterKey: Buffer;
  /** the shared PostgreSQL database (metadataUrl); without it, identity.db in the data root */
  database?: PgDatabase;
  /** PostgreSQL: how often the version is polled, how long a check vouches for the cache (tests) */
  pollMs?: number;
  freshMs?: number;
}

/** Open the identity store on the engine the configuration chooses. */
export async function openIdentityStore(options: IdentityOptions): Promise<IdentityStore> {
  const engine = options.database
    ? await PgIdentityEngine.open(options.database, { masterKeyCheck: masterKeyCheck(options.masterKey), pollMs: options.pollMs, freshMs: options.freshMs })
    : new SqliteIdentityEngine(options.dataDir);
  return new IdentityStore(engine, options.masterKey);
}

export class IdentityStore extends KeyReader {
  /** Decrypted secrets, cached: SigV4 needs one per request and decryption is not free. */
  private readonly secretCache: IdentityCache<Credentials>;
  /** Admin API tokens (hashed), in the same database. */
  readonly tokens: AdminTokenStore;

  constructor(
    readonly engine: IdentityEngine,
    masterKey: Buffer,
  ) {
    super(engine.read, new SecretBox(masterKey));
    this.secretCache = new IdentityCache(engine);
    this.tokens = new AdminTokenStore(engine);
  }

  /** The SQLite engine on `dataDir`/identity.db, opened synchronously (tests, tools). */
  static sqlite(dataDir: string, masterKey: Buffer): IdentityStore {
    return new IdentityStore(new SqliteIdentityEngine(dataDir), masterKey);
  }

  /**
   * Run `fn` in one transaction: all of its writes take effect, or none. It may run more than
   * once (PostgreSQL retries conflicts), so it must act only through `tx`; the store's own
   * write methods each open a transaction of their own and must not be called inside.
   */
  transaction<T>(fn: (tx: IdentityTransaction) => Promise<T>): Promise<T> {
    return this.engine.transaction((tx) => fn(new IdentityTransaction(tx, this.box)));
  }

  ensureOrg(id: string): Promise<void> {
    return this.transaction((tx) => tx.ensureOrg(id));
  }

  addKey(k: Omit<KeyRecord, 'createdAt'> & { secretKey: string }): Promise<KeyRecord> {
    return this.transaction((tx) => tx.addKey(k));
  }

  updateKey(accessKey: string, change: { org: string; level: AccessLevel; secretName: string }): Promise<boolean> {
    return this.transaction((tx) => tx.updateKey(accessKey, change));
  }

  deleteKey(accessKey: string): Promise<boolean> {
    return this.transaction((tx) => tx.deleteKey(accessKey));
  }

  /**
   * The hot path of authentication, from this node's cache when it can vouch for it: SQLite
   * revalidates against the database's data_version (so changes made by the CLI in another
   * process are seen at once), PostgreSQL against identity_version (identity-postgres.ts: other
   * nodes' changes are seen within a bounded time). Unknown access keys are not remembered.
   */
  credentialsFor(accessKey: string): Promise<Credentials | undefined> {
    const hit = this.secretCache.peek(accessKey);
    if (hit) return Promise.resolve(hit);
    return this.secretCache.get(accessKey, async () => {
      const key = await this.engine.read.key(accessKey);
      if (!key) return undefined;
      return { secret: this.box.decrypt(key.secretEnc), principal: { org: key.org, user: key.user, level: key.level, accessKey } };
    });
  }

  /** The cached credentials, without any database round trip; undefined on a miss (then ask credentialsFor). */
  peekCredentials(accessKey: string): Credentials | undefined {
    return this.secretCache.peek(accessKey);
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}
