// Users (the seed's User resources) and their Secrets over the identity store: apply, list,
// find, delete. Shared by the CLI (on the data root) and the admin API (behind a token scope).
//
// A User is one access key: metadata.namespace + metadata.name identify it, spec.owner is the
// organisation that owns it, spec.access its level, spec.secretName the Secret holding its
// credentials (base64 in .data.accessKey / .data.secretKey). Re-applying never rotates the
// credentials. Deleting a user deletes its key and Secret; buckets and objects stay.
import { isOrgAdmin } from './admin-tokens.ts';
import { scopeDecision, userVisible, type AdminTarget, type Scope } from './admin-scope.ts';
import { generateCredentials, type IdentityStore, type IdentityTransaction, type KeyRecord } from './identity-store.ts';
import { secretObject, userObject, userResource, userResourcePlural, type SecretObject, type UserManifest, type UserObject } from './manifest.ts';

export class IdentityError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'IdentityError';
  }
}

export type ApplyResult = 'created' | 'configured' | 'unchanged';

/** The kube_objects kind holding a user's Kubernetes metadata (src/kube/users.ts). */
export const userMetaKind = 'users';

export interface ApplyOutcome {
  result: ApplyResult;
  /** kubectl's line, e.g. `user.objectstorage.coreweave.com/my-example created` */
  message: string;
  user: UserObject;
}

export type { Scope };

/** Refuse (403, worded by `describe`) unless `scopeDecision` allows `target`, which exists or not. */
function requireAllowed(scope: Scope, target: AdminTarget, describe: () => string): void {
  if (scopeDecision(scope, target) !== 'allowed') throw forbidden(describe());
}

function requireNamespace(scope: Scope, namespace: string | undefined, verb = 'read'): void {
  if (namespace !== undefined) requireAllowed(scope, { kind: 'namespace', namespace }, () => `the token may not ${verb} namespace "${namespace}"`);
}

export function notFound(resource: string, name: string, namespace?: string): IdentityError {
  return new IdentityError(404, 'NotFound', `${resource} "${name}" not found${namespace ? ` in namespace "${namespace}"` : ''}`);
}

export class UserDirectory {
  constructor(readonly identity: IdentityStore) {}

  /**
   * Apply validated manifests in one transaction: all of them take effect, or (on any
   * conflict or scope violation) none. The lookups and the writes share the transaction, so a
   * concurrent apply through another node cannot slip in between (identity-postgres.ts).
   */
  apply(manifests: UserManifest[], scope?: Scope, options: ApplyOptions = {}): Promise<ApplyOutcome[]> {
    return this.identity.transaction(async (tx) => {
      const outcomes: ApplyOutcome[] = [];
      for (const m of manifests) outcomes.push(await applyOne(tx, m, scope, options));
      return outcomes;
    });
  }

  /**
   * Users visible to the scope, optionally only one namespace and/or one name. Users of other
   * organisations in a shared namespace are left out, as if they did not exist.
   */
  async list(filter: { namespace?: string; name?: string } = {}, scope?: Scope, from: KeySource = this.identity): Promise<KeyRecord[]> {
    requireNamespace(scope, filter.namespace);
    return (await from.listKeys())
      .filter((k) => userVisible(scope, k))
      .filter((k) => filter.namespace === undefined || k.namespace === filter.namespace)
      .filter((k) => filter.name === undefined || k.user === filter.name);
  }

  /** One user by name; without a namespace the name must be unique among visible users. */
  async find(name: string, namespace?: string, scope?: Scope, from: KeySource = this.identity): Promise<KeyRecord> {
    const found = await this.list({ namespace, name }, scope, from);
    if (found.length === 0) throw notFound(userResourcePlural, name, namespace);
    if (found.length > 1) {
      throw new IdentityError(409, 'Ambiguous', `user "${name}" exists in several namespaces (${found.map((k) => k.namespace).join(', ')}); pass -n NAMESPACE`);
    }
    return found[0];
  }

  /** Delete a user: its key and its Secret. Buckets and objects are untouched. */
  delete(name: string, namespace?: string, scope?: Scope): Promise<KeyRecord> {
    return this.identity.transaction(async (tx) => {
      const key = await this.find(name, namespace, scope, tx);
      await tx.deleteKey(key.accessKey);
      // What the Kubernetes API keeps beside the user (labels, annotations: src/kube/users.ts) goes with it.
      await tx.deleteKubeObject(userMetaKind, key.namespace, key.user);
      return key;
    });
  }

  async secrets(filter: { namespace?: string } = {}, scope?: Scope): Promise<SecretObject[]> {
    const keys = await this.list(filter, scope);
    const secrets = await Promise.all(keys.map((k) => this.identity.secretOf(k.accessKey)));
    // A key deleted between the two reads has no Secret any more: left out.
    return keys.flatMap((k, i) => (secrets[i] === undefined ? [] : [secretObject(k, secrets[i])]));
  }

  /** A Secret by name (secret names are unique across the data root). */
  async secret(name: string, namespace?: string, scope?: Scope): Promise<SecretObject> {
    requireNamespace(scope, namespace);
    const key = await this.identity.keyBySecretName(name);
    // A Secret the scope may not see looks exactly like an absent one, wherever it lives.
    if (!key || (namespace !== undefined && key.namespace !== namespace) || !userVisible(scope, key)) throw notFound('secrets', name, namespace);
    const secret = await this.identity.secretOf(key.accessKey);
    if (secret === undefined) throw notFound('secrets', name, namespace);
    return secretObject(key, secret);
  }
}

export interface ApplyOptions {
  /** refuse (409 AlreadyExists) instead of reconfiguring a user that exists: the console's "create" */
  createOnly?: boolean;
  /** the default region of a key this creates (an existing key keeps its own) */
  defaultRegion?: string;
}

/** Where keys are listed from: committed state, or an open transaction. */
type KeySource = Pick<IdentityTransaction, 'listKeys'>;

/** Apply one validated manifest inside `tx` (also used by the Kubernetes API, src/kube/users.ts). */
export async function applyOne(tx: IdentityTransaction, m: UserManifest, scope: Scope, options: ApplyOptions = {}): Promise<ApplyOutcome> {
  requireNamespace(scope, m.namespace, 'manage users in');
  requireAllowed(
    scope,
    { kind: 'organisation', org: m.owner },
    () => `the token may not create keys for organisation "${m.owner}" (spec.owner must be one of the token's namespaces)`,
  );
  const existing = await tx.keyByUser(m.namespace, m.name);
  // The name is taken in a namespace the token shares: it cannot be created, so saying so
  // is unavoidable; the user itself stays out of reach (it is not changed, read or listed).
  if (existing && !userVisible(scope, existing)) throw forbidden(`user "${m.name}" in namespace "${m.namespace}" belongs to an organisation the token may not manage`);
  if (existing && options.createOnly) throw new IdentityError(409, 'AlreadyExists', `a token named "${m.name}" already exists in namespace "${m.namespace}"; choose another name`);
  const holder = await tx.keyBySecretName(m.secretName);
  if (holder && (holder.namespace !== m.namespace || holder.user !== m.name)) {
    // Secret names are unique across the data root; the holder is named only to a caller who may see it.
    const who = userVisible(scope, holder) ? `already belongs to user "${holder.user}" in namespace "${holder.namespace}"` : 'is already taken by another user';
    throw new IdentityError(
      409,
      'SecretNameTaken',
      `secret "${m.secretName}" ${who}; two users may not share a secret name ` +
        `(deleting one user would delete the other's credentials). Choose another spec.secretName, or leave it out for the default "<namespace>-<name>-obj-store-creds"`,
    );
  }
  let result: ApplyResult;
  let record: KeyRecord;
  if (!existing) {
    const creds = generateCredentials();
    record = await tx.addKey({ org: m.owner, user: m.name, namespace: m.namespace, level: m.access, accessKey: creds.accessKey, secretKey: creds.secretKey, secretName: m.secretName, ...(options.defaultRegion !== undefined ? { defaultRegion: options.defaultRegion } : {}) });
    result = 'created';
  } else if (existing.org === m.owner && existing.level === m.access && existing.secretName === m.secretName) {
    record = existing;
    result = 'unchanged';
  } else {
    await tx.updateKey(existing.accessKey, { org: m.owner, level: m.access, secretName: m.secretName });
    record = { ...existing, org: m.owner, level: m.access, secretName: m.secretName };
    result = 'configured';
  }
  return { result, message: `${userResource}/${m.name} ${result}`, user: userObject(record) };
}

export function forbidden(message: string): IdentityError {
  return new IdentityError(403, 'Forbidden', message);
}

export { isOrgAdmin };
