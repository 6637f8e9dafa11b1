// Where organisations, access keys and admin tokens are kept, behind one interface with two
// engines: SQLite (identity-sqlite.ts: identity.db in the data root, the embedded default) and
// PostgreSQL (identity-postgres.ts: the schema strata_identity of the database every node shares,
// chosen by STRATA_METADATA_URL). IdentityStore and AdminTokenStore write the rules once against
// these row operations; an engine only says how rows are found, written and kept consistent.
import type { AdminToken } from './admin-tokens.ts';
import type { KeyRecord } from './identity-store.ts';

/** A key as stored: its record and its secret, encrypted under the master key. */
export interface StoredKey extends KeyRecord {
  secretEnc: Buffer;
}

/** A token as stored: its record and SHA-256(token). */
export interface StoredToken extends AdminToken {
  tokenHash: Buffer;
}

/** Reads of committed state, and the same reads inside a transaction. */
export interface IdentityReads {
  key(accessKey: string): Promise<StoredKey | undefined>;
  keyByUser(namespace: string, user: string): Promise<StoredKey | undefined>;
  keyBySecretName(secretName: string): Promise<StoredKey | undefined>;
  /** every key, by namespace then user (byte order) */
  keys(): Promise<StoredKey[]>;
  /** every organisation id, in byte order */
  orgs(): Promise<string[]>;
  token(id: string): Promise<StoredToken | undefined>;
  /** every token, oldest first */
  tokens(): Promise<StoredToken[]>;
  tokenCount(): Promise<number>;
  /** a Kubernetes API object's stored JSON (Roles, RoleBindings, a User's metadata: src/kube) */
  kubeObject(kind: string, namespace: string, name: string): Promise<string | undefined>;
  /** every stored object of a kind, by namespace then name */
  kubeObjects(kind: string): Promise<StoredKubeObject[]>;
}

export interface StoredKubeObject {
  namespace: string;
  name: string;
  body: string;
}

/** Writes, inside one transaction (IdentityEngine.transaction). */
export interface IdentityTx extends IdentityReads {
  /** create the organisation unless it exists */
  ensureOrg(id: string, createdAt: number): Promise<void>;
  /** a unique violation (access key, secret name, namespace + user) throws */
  insertKey(key: StoredKey): Promise<void>;
  updateKey(accessKey: string, change: Pick<KeyRecord, 'org' | 'level' | 'secretName'>): Promise<boolean>;
  deleteKey(accessKey: string): Promise<boolean>;
  insertToken(token: StoredToken): Promise<void>;
  /** set revoked_at unless already set; whether this call revoked it */
  revokeToken(id: string, at: number): Promise<boolean>;
  /** insert or replace */
  putKubeObject(kind: string, namespace: string, name: string, body: string): Promise<void>;
  deleteKubeObject(kind: string, namespace: string, name: string): Promise<boolean>;
}

export interface IdentityEngine {
  readonly engine: 'sqlite' | 'postgres';
  readonly read: IdentityReads;
  /**
   * Run `fn` in one write transaction: committed when it resolves, rolled back when it throws.
   * `fn` may run more than once (PostgreSQL retries serialization failures and unique
   * violations), so it must only touch the database through `tx`. Transactions do not nest.
   */
  transaction<T>(fn: (tx: IdentityTx) => Promise<T>): Promise<T>;
  /**
   * A number that changes whenever committed identity data may have changed, read without a
   * database round trip; undefined when this node cannot vouch for its cache right now
   * (PostgreSQL: no successful version check recently). Caches compare it before trusting an entry.
   */
  changeToken(): number | undefined;
  /** bring changeToken() up to date (PostgreSQL: check the version now); SQLite: nothing to do */
  freshen(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Values derived from identity rows (decrypted secrets, tokens), kept per node and trusted only
 * while the engine's change token stays the same. Only found values are kept: an unknown access
 * key or token id costs a read every time, since anyone can send any number of them.
 */
export class IdentityCache<V> {
  private readonly entries = new Map<string, V>();
  private token: number | undefined;

  constructor(
    private readonly engine: IdentityEngine,
    private readonly maxEntries = 10_000,
  ) {}

  /** The entry, when cached and still valid; never a database round trip (SQLite: one PRAGMA). */
  peek(key: string): V | undefined {
    const token = this.engine.changeToken();
    if (token === undefined) return undefined;
    if (token !== this.token) {
      this.entries.clear();
      this.token = token;
    }
    return this.entries.get(key);
  }

  /** The entry, or `load()`'s value, remembered unless the data changed while it was loaded. */
  async get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.peek(key);
    if (hit !== undefined) return hit;
    let before = this.engine.changeToken();
    if (before === undefined) {
      await this.engine.freshen();
      before = this.engine.changeToken();
    }
    const value = await load();
    // A change committed (and noticed) during the load may have made `value` stale: not kept.
    if (value !== undefined && before !== undefined && this.engine.changeToken() === before) {
      if (this.token !== before) {
        this.entries.clear();
        this.token = before;
      }
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(key, value);
    }
    return value;
  }
}
