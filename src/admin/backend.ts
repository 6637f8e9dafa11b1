// Where the CLI's admin commands act: directly on the data root (default; works with or
// without a running server, SQLite WAL lets both write) or through a server's admin API
// (`--server URL --token TOKEN`, or STRATA_ADMIN_URL / STRATA_ADMIN_TOKEN). Both give the same
// results and messages.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StrataConfig } from '../config.ts';
import { loadOrCreateMasterKey, openIdentityStore, type IdentityStore } from '../identity/identity-store.ts';
import type { PgDatabase } from '../store/meta/postgres.ts';
import { userObject, type ListObject, type SecretObject, type UserManifest, type UserObject } from '../identity/manifest.ts';
import { IdentityError, UserDirectory, type ApplyOutcome } from '../identity/users.ts';

export interface TokenView {
  id: string;
  name: string;
  namespaces: string[];
  createdAt: string;
  createdBy: string;
  status: 'active' | 'revoked';
  revokedAt?: string;
}

export interface ServerInfo {
  regions: string[];
  defaultRegion: string;
  baseDomain: string;
  s3Port: number;
}

export interface AdminBackend {
  /** `manifestText` is sent as-is to the API; `manifests` (already validated) are used locally. */
  applyUsers(manifests: UserManifest[], manifestText: string, namespace?: string): Promise<ApplyOutcome[]>;
  listUsers(filter: { namespace?: string; name?: string }): Promise<UserObject[]>;
  /** one user by name; without a namespace the name must be unique */
  findUser(name: string, namespace?: string): Promise<UserObject>;
  deleteUser(name: string, namespace?: string): Promise<UserObject>;
  listSecrets(namespace?: string): Promise<SecretObject[]>;
  getSecret(name: string, namespace?: string): Promise<SecretObject>;
  /** no namespaces = a blank token (only what Kubernetes RoleBindings grant it) */
  createToken(namespaces: string[], name?: string): Promise<TokenView & { token: string }>;
  listTokens(): Promise<TokenView[]>;
  revokeToken(id: string): Promise<string>;
  info(): Promise<ServerInfo>;
  close(): Promise<void>;
}

export function tokenView(t: { id: string; name: string; namespaces: string[]; createdAt: number; createdBy: string; revokedAt?: number }): TokenView {
  return {
    id: t.id,
    name: t.name,
    namespaces: t.namespaces,
    createdAt: new Date(t.createdAt).toISOString(),
    createdBy: t.createdBy,
    status: t.revokedAt === undefined ? 'active' : 'revoked',
    ...(t.revokedAt !== undefined ? { revokedAt: new Date(t.revokedAt).toISOString() } : {}),
  };
}

export class NoDataRootError extends Error {}

/**
 * The data-root model: the identity store the server uses, opened beside it (or without one):
 * identity.db in the data root, or the shared PostgreSQL database with STRATA_METADATA_URL
 * (and the data root's master.key either way).
 */
export class LocalBackend implements AdminBackend {
  private readonly users: UserDirectory;

  private constructor(
    private readonly config: StrataConfig,
    private readonly identity: IdentityStore,
    private readonly database: PgDatabase | undefined,
  ) {
    this.users = new UserDirectory(identity);
  }

  static async open(config: StrataConfig, options: { create: boolean }): Promise<LocalBackend> {
    // With PostgreSQL the rows are in the database; what must be there is the key they are encrypted under.
    const marker = config.metadataUrl ? 'master.key' : 'identity.db';
    if (!options.create && !existsSync(join(config.dataDir, marker))) {
      throw new NoDataRootError(
        `no Strata data root at ${config.dataDir} (${marker} not found); set STRATA_DATA_DIR or --data-dir to the server's data directory, or use --server URL --token TOKEN`,
      );
    }
    const masterKey = loadOrCreateMasterKey(config.dataDir);
    // A command makes a few queries, one after the other: two connections are plenty.
    // Imported only then: a command on an SQLite data root does not load the PostgreSQL client.
    const database = config.metadataUrl ? new (await import('../store/meta/postgres.ts')).PgDatabase(config.metadataUrl, 2) : undefined;
    try {
      return new LocalBackend(config, await openIdentityStore({ dataDir: config.dataDir, masterKey, database }), database);
    } catch (error) {
      await database?.close();
      throw error;
    }
  }

  async applyUsers(manifests: UserManifest[]): Promise<ApplyOutcome[]> {
    return this.users.apply(manifests);
  }
  async listUsers(filter: { namespace?: string; name?: string }): Promise<UserObject[]> {
    return (await this.users.list(filter)).map(userObject);
  }
  async findUser(name: string, namespace?: string): Promise<UserObject> {
    return userObject(await this.users.find(name, namespace));
  }
  async deleteUser(name: string, namespace?: string): Promise<UserObject> {
    return userObject(await this.users.delete(name, namespace));
  }
  async listSecrets(namespace?: string): Promise<SecretObject[]> {
    return this.users.secrets({ namespace });
  }
  async getSecret(name: string, namespace?: string): Promise<SecretObject> {
    return this.users.secret(name, namespace);
  }
  async createToken(namespaces: string[], name?: string): Promise<TokenView & { token: string }> {
    const { token, record } = await this.identity.tokens.create({ namespaces, blank: namespaces.length === 0, name, createdBy: 'cli' });
    return { ...tokenView(record), token };
  }
  async listTokens(): Promise<TokenView[]> {
    return (await this.identity.tokens.list()).map(tokenView);
  }
  async revokeToken(id: string): Promise<string> {
    const outcome = await this.identity.tokens.revoke(id);
    if (outcome === 'not-found') throw new IdentityError(404, 'NotFound', `token "${id}" not found`);
    return outcome === 'revoked' ? `token "${id}" revoked` : `token "${id}" already revoked`;
  }
  async info(): Promise<ServerInfo> {
    return { regions: this.config.regions, defaultRegion: this.config.defaultRegion, baseDomain: this.config.baseDomain, s3Port: this.config.port };
  }
  async close(): Promise<void> {
    await this.identity.close();
    await this.database?.close();
  }
}

/** The API model: the same operations over the admin HTTP API. */
export class ApiBackend implements AdminBackend {
  private readonly base: string;

  constructor(
    server: string,
    private readonly token: string,
  ) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new IdentityError(400, 'BadRequest', `--server must be a URL such as http://127.0.0.1:9001, got ${JSON.stringify(server)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new IdentityError(400, 'BadRequest', '--server must be an http:// or https:// URL');
    this.base = url.origin;
  }

  private async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: string, type?: string): Promise<T> {
    let status: number;
    let text: string;
    try {
      // global fetch (undici inside Node) rather than importing undici: keeps CLI start-up fast
      const res = await fetch(this.base + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, accept: 'application/json', ...(type ? { 'content-type': type } : {}) },
        body,
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      const cause = (err as { cause?: Error }).cause;
      throw new IdentityError(503, 'Unavailable', `cannot reach the admin API at ${this.base}: ${cause?.message ?? (err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new IdentityError(502, 'BadResponse', `the admin API at ${this.base} answered ${status} with a non-JSON body`);
    }
    if (status >= 400) {
      const e = (parsed as { error?: { code?: string; message?: string } }).error;
      throw new IdentityError(status, e?.code ?? 'Error', e?.message ?? `HTTP ${status}`);
    }
    return parsed as T;
  }

  private static query(params: Record<string, string | undefined>): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
    const s = q.toString();
    return s ? `?${s}` : '';
  }

  async applyUsers(_manifests: UserManifest[], manifestText: string, namespace?: string): Promise<ApplyOutcome[]> {
    const r = await this.call<{ results: ApplyOutcome[] }>('POST', `/v1/users${ApiBackend.query({ namespace })}`, manifestText, 'application/yaml');
    return r.results;
  }
  async listUsers(filter: { namespace?: string; name?: string }): Promise<UserObject[]> {
    return (await this.call<ListObject<UserObject>>('GET', `/v1/users${ApiBackend.query(filter)}`)).items;
  }
  async findUser(name: string, namespace?: string): Promise<UserObject> {
    if (namespace !== undefined) return this.call<UserObject>('GET', `/v1/users/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`);
    const found = await this.listUsers({ name });
    if (found.length === 0) throw new IdentityError(404, 'NotFound', `users.objectstorage.coreweave.com "${name}" not found`);
    if (found.length > 1) {
      throw new IdentityError(409, 'Ambiguous', `user "${name}" exists in several namespaces (${found.map((u) => u.metadata.namespace).join(', ')}); pass -n NAMESPACE`);
    }
    return found[0];
  }
  async deleteUser(name: string, namespace?: string): Promise<UserObject> {
    const user = await this.findUser(name, namespace);
    const r = await this.call<{ user: UserObject }>('DELETE', `/v1/users/${encodeURIComponent(user.metadata.namespace)}/${encodeURIComponent(name)}`);
    return r.user;
  }
  async listSecrets(namespace?: string): Promise<SecretObject[]> {
    return (await this.call<ListObject<SecretObject>>('GET', `/v1/secrets${ApiBackend.query({ namespace })}`)).items;
  }
  async getSecret(name: string, namespace?: string): Promise<SecretObject> {
    return this.call<SecretObject>('GET', `/v1/secrets/${encodeURIComponent(name)}${ApiBackend.query({ namespace })}`);
  }
  async createToken(namespaces: string[], name?: string): Promise<TokenView & { token: string }> {
    const scope = namespaces.length === 0 ? { blank: true } : { namespaces };
    return this.call('POST', '/v1/tokens', JSON.stringify({ ...scope, ...(name !== undefined ? { name } : {}) }), 'application/json');
  }
  async listTokens(): Promise<TokenView[]> {
    return (await this.call<{ items: TokenView[] }>('GET', '/v1/tokens')).items;
  }
  async revokeToken(id: string): Promise<string> {
    return (await this.call<{ message: string }>('DELETE', `/v1/tokens/${encodeURIComponent(id)}`)).message;
  }
  async info(): Promise<ServerInfo> {
    return this.call<ServerInfo>('GET', '/v1/info');
  }
  async close(): Promise<void> {}
}
