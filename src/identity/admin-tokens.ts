// Organisation-admin API tokens for the admin API (the seed's "API access tokens": created by
// an admin, shown once, scoped to namespaces, revocable).
//
// A token reads `sat_<id>_<64 hex digits>`: 256 random bits from the CSPRNG behind a public id.
// Only SHA-256(token) is stored. Verification looks the row up by the id (from this node's
// cache when it can, see AdminTokenStore) and compares the hashes with crypto.timingSafeEqual
// (a made-up id is compared against a dummy hash, so the comparison itself does not tell
// whether an id exists).
//
// Scope: the namespaces a token may manage, or ['*'] for every namespace. A scoped token may
// manage a User only when both its metadata.namespace and its spec.owner (the organisation) are
// in scope, so it cannot mint keys for an organisation it was not given. Only '*' tokens
// (organisation admins) may create, list or revoke tokens. A "blank" token has no namespaces: it
// may do nothing but what Kubernetes RoleBindings naming it grant (src/kube/rbac.ts).
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { IdentityCache, type IdentityEngine, type StoredToken } from './identity-engine.ts';
import { labelProblem } from './names.ts';

export const allNamespaces = '*';

/** A bad token request (namespace list, name). */
export class TokenError extends Error {
  override name = 'TokenError';
}

export interface AdminToken {
  id: string;
  name: string;
  /** namespaces in scope; ['*'] = all */
  namespaces: string[];
  createdAt: number;
  /** who created it: 'bootstrap', 'cli' or 'token:<id>' */
  createdBy: string;
  revokedAt?: number;
}

const idAlphabet = 'abcdefghijklmnopqrstuvwxyz234567';
const tokenPattern = /^sat_([a-z2-7]{12})_([0-9a-f]{64})$/;
const dummyHash = createHash('sha256').update('strata-no-such-token').digest();

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The id part of a well-formed token, or undefined. */
export function tokenId(token: string): string | undefined {
  return tokenPattern.exec(token)?.[1];
}

export function generateToken(): { id: string; token: string } {
  let id = '';
  for (let i = 0; i < 12; i++) id += idAlphabet[randomInt(idAlphabet.length)];
  return { id, token: `sat_${id}_${randomBytes(32).toString('hex')}` };
}

/** Validate and normalise a namespace list ("ns1,ns2", or "*"). Throws with a clear message. */
export function parseNamespaceScope(input: string | string[]): string[] {
  const list = (Array.isArray(input) ? input : input.split(','))
    .map((s) => (typeof s === 'string' ? s.trim() : s))
    .filter((s) => s !== '');
  if (list.length === 0) throw new TokenError('a token needs at least one namespace (--namespace ns1,ns2, or --all-namespaces for an organisation-admin token)');
  if (list.includes(allNamespaces)) {
    if (list.length > 1) throw new TokenError('"*" (all namespaces) cannot be combined with named namespaces');
    return [allNamespaces];
  }
  for (const ns of list) {
    if (typeof ns !== 'string') throw new TokenError('namespaces must be strings');
    const p = labelProblem(ns);
    if (p) throw new TokenError(`namespace "${ns}": ${p}`);
  }
  return [...new Set(list)].sort();
}

export function isOrgAdmin(namespaces: readonly string[]): boolean {
  return namespaces.includes(allNamespaces);
}

export type VerifyResult = { ok: true; token: AdminToken } | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' };

export class AdminTokenStore {
  /**
   * Tokens by id, cached per node like the access keys' secrets (identity-engine.ts): the admin
   * API verifies one per request. Ids that do not exist are not remembered. An id verified
   * recently on this node answers from memory, so the time taken can tell that an id exists;
   * ids are not secret (`strata token list` shows them), the 256 random bits are, and those are
   * compared in constant time either way.
   */
  private readonly cache: IdentityCache<StoredToken>;

  constructor(private readonly engine: IdentityEngine) {
    this.cache = new IdentityCache(engine);
  }

  /** Create a token; the returned `token` is the only time the secret exists outside a hash. */
  async create(options: TokenOptions): Promise<{ token: string; record: AdminToken }> {
    const made = newToken(options);
    await this.engine.transaction((tx) => tx.insertToken(made.stored));
    return { token: made.token, record: made.record };
  }

  /**
   * Create a token only if none was ever created (the bootstrap token): one transaction, so that
   * nodes starting together on one database create one between them.
   */
  async createFirst(options: TokenOptions): Promise<{ token: string; record: AdminToken } | undefined> {
    const made = newToken(options);
    const created = await this.engine.transaction(async (tx) => {
      if ((await tx.tokenCount()) > 0) return false;
      await tx.insertToken(made.stored);
      return true;
    });
    return created ? { token: made.token, record: made.record } : undefined;
  }

  async verify(token: string): Promise<VerifyResult> {
    const presented = hashToken(token);
    const id = tokenId(token);
    const row = id ? await this.cache.get(id, () => this.engine.read.token(id)) : undefined;
    const stored = row ? row.tokenHash : dummyHash;
    const match = timingSafeEqual(presented, stored.length === presented.length ? stored : dummyHash) && row !== undefined;
    if (!id) return { ok: false, reason: 'malformed' };
    if (!match || !row) return { ok: false, reason: 'unknown' };
    const record = publicToken(row);
    if (record.revokedAt !== undefined) return { ok: false, reason: 'revoked' };
    return { ok: true, token: record };
  }

  async get(id: string): Promise<AdminToken | undefined> {
    const row = await this.engine.read.token(id);
    return row && publicToken(row);
  }

  async list(): Promise<AdminToken[]> {
    return (await this.engine.read.tokens()).map(publicToken);
  }

  /** How many tokens were ever created (revoked ones included). */
  count(): Promise<number> {
    return this.engine.read.tokenCount();
  }

  /** Revoke a token; on every node it stops verifying within the caches' bound (identity-postgres.ts). */
  revoke(id: string): Promise<'revoked' | 'already-revoked' | 'not-found'> {
    return this.engine.transaction(async (tx) => {
      const existing = await tx.token(id);
      if (!existing) return 'not-found';
      if (existing.revokedAt !== undefined) return 'already-revoked';
      // The condition keeps a concurrent revocation from being reported twice as "revoked".
      return (await tx.revokeToken(id, Date.now())) ? 'revoked' : 'already-revoked';
    });
  }
}

interface TokenOptions {
  name?: string;
  /** ignored for a blank token */
  namespaces: string | string[];
  /** no namespaces: only what RoleBindings grant (src/kube/rbac.ts) */
  blank?: boolean;
  createdBy: string;
}

function newToken(options: TokenOptions): { token: string; record: AdminToken; stored: StoredToken } {
  const namespaces = options.blank ? [] : parseNamespaceScope(options.namespaces);
  const name = (options.name ?? '').trim();
  if (name.length > 100 || /[\x00-\x1f\x7f]/.test(name)) throw new TokenError('token name must be at most 100 printable characters');
  const { id, token } = generateToken();
  const record: AdminToken = { id, name, namespaces, createdAt: Date.now(), createdBy: options.createdBy };
  return { token, record, stored: { ...record, namespaces: [...namespaces], tokenHash: hashToken(token) } };
}

function publicToken(row: StoredToken): AdminToken {
  const t: AdminToken = { id: row.id, name: row.name, namespaces: [...row.namespaces], createdAt: row.createdAt, createdBy: row.createdBy };
  if (row.revokedAt !== undefined) t.revokedAt = row.revokedAt;
  return t;
}
