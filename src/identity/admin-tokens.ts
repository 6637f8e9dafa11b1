// Organisation-admin API tokens for the admin API (the seed's "API access tokens": created by
// an admin, shown once, scoped to namespaces, revocable).
//
// A token reads `sat_<id>_<64 hex digits>`: 256 random bits from the CSPRNG behind a public id.
// Only SHA-256(token) is stored. Verification looks the row up by the id and compares the
// hashes with crypto.timingSafeEqual (a made-up id is compared against a dummy hash, so the
// time taken does not tell whether an id exists).
//
// Scope: the namespaces a token may manage, or ['*'] for every namespace. A scoped token may
// manage a User only when both its metadata.namespace and its spec.owner (the organisation) are
// in scope, so it cannot mint keys for an organisation it was not given. Only '*' tokens
// (organisation admins) may create, list or revoke tokens.
import type Database from 'better-sqlite3';
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
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

const schema = `
  CREATE TABLE IF NOT EXISTS admin_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    namespaces TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at INTEGER
  ) WITHOUT ROWID;
`;

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
  constructor(private readonly db: Database.Database) {
    db.exec(schema);
  }

  /** Create a token; the returned `token` is the only time the secret exists outside a hash. */
  create(options: { name?: string; namespaces: string | string[]; createdBy: string }): { token: string; record: AdminToken } {
    const namespaces = parseNamespaceScope(options.namespaces);
    const name = (options.name ?? '').trim();
    if (name.length > 100 || /[\x00-\x1f\x7f]/.test(name)) throw new TokenError('token name must be at most 100 printable characters');
    const { id, token } = generateToken();
    const createdAt = Date.now();
    this.db
      .prepare('INSERT INTO admin_tokens (id, name, namespaces, token_hash, created_at, created_by, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)')
      .run(id, name, JSON.stringify(namespaces), hashToken(token), createdAt, options.createdBy);
    return { token, record: { id, name, namespaces, createdAt, createdBy: options.createdBy } };
  }

  verify(token: string): VerifyResult {
    const presented = hashToken(token);
    const id = tokenId(token);
    const row = id ? this.db.prepare<[string], Record<string, unknown>>('SELECT * FROM admin_tokens WHERE id = ?').get(id) : undefined;
    const stored = row ? (row.token_hash as Buffer) : dummyHash;
    const match = timingSafeEqual(presented, stored.length === presented.length ? stored : dummyHash) && row !== undefined;
    if (!id) return { ok: false, reason: 'malformed' };
    if (!match || !row) return { ok: false, reason: 'unknown' };
    const record = rowToToken(row);
    if (record.revokedAt !== undefined) return { ok: false, reason: 'revoked' };
    return { ok: true, token: record };
  }

  get(id: string): AdminToken | undefined {
    const row = this.db.prepare<[string], Record<string, unknown>>('SELECT * FROM admin_tokens WHERE id = ?').get(id);
    return row ? rowToToken(row) : undefined;
  }

  list(): AdminToken[] {
    return this.db.prepare<[], Record<string, unknown>>('SELECT * FROM admin_tokens ORDER BY created_at, id').all().map(rowToToken);
  }

  /** How many tokens were ever created (revoked ones included). */
  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM admin_tokens').get() as { n: number }).n;
  }

  revoke(id: string): 'revoked' | 'already-revoked' | 'not-found' {
    const existing = this.get(id);
    if (!existing) return 'not-found';
    if (existing.revokedAt !== undefined) return 'already-revoked';
    this.db.prepare('UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(Date.now(), id);
    return 'revoked';
  }
}

function rowToToken(row: Record<string, unknown>): AdminToken {
  const t: AdminToken = {
    id: row.id as string,
    name: row.name as string,
    namespaces: JSON.parse(row.namespaces as string) as string[],
    createdAt: row.created_at as number,
    createdBy: row.created_by as string,
  };
  if (row.revoked_at !== null && row.revoked_at !== undefined) t.revokedAt = row.revoked_at as number;
  return t;
}
