// users.objectstorage.coreweave.com/v1alpha1: the seed's User resource, served from the same
// access keys the CLI, the admin API and S3 use (src/identity/users.ts). A user created here is
// an access key at once; deleting it deletes the key and its Secret.
//
// What Kubernetes keeps beside the spec (labels, annotations, among them kubectl's
// last-applied-configuration, kept verbatim) is stored in kube_objects under the user's name,
// with the access key it belongs to, and deleted with the user by every door (the access key is
// a second guard: metadata is never shown on a key it was not written for).
import { userVisible } from '../identity/admin-scope.ts';
import type { IdentityStore, IdentityTransaction, KeyRecord } from '../identity/identity-store.ts';
import { ManifestError, userApiVersion, validateUserManifest } from '../identity/manifest.ts';
import { applyOne, IdentityError, userMetaKind } from '../identity/users.ts';
import { userGroup } from './discovery.ts';
import {
  fieldSelector,
  isObject,
  labelSelector,
  listOf,
  mergePatch,
  nameColumn,
  resourceVersionOf,
  table,
  timestamp,
  uidOf,
  withoutServerFields,
  type Json,
  type JsonObject,
} from './objects.ts';
import type { KubeContext, KubeReply, ResourceHandlers } from './request.ts';
import { alreadyExists, badRequest, conflict, forbidden, invalid, KubeError, notFound, type ResourceName, type StatusCause } from './status.ts';

export const usersResource: ResourceName = { group: userGroup, resource: 'users' };
const metaKind = userMetaKind;

interface UserMeta {
  accessKey: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

type MetaReads = Pick<IdentityStore | IdentityTransaction, 'kubeObject' | 'kubeObjects'>;

async function metaOf(reads: MetaReads, key: KeyRecord): Promise<UserMeta | undefined> {
  const body = await reads.kubeObject(metaKind, key.namespace, key.user);
  const meta = body === undefined ? undefined : (JSON.parse(body) as UserMeta);
  return meta?.accessKey === key.accessKey ? meta : undefined;
}

export function userKubeObject(key: KeyRecord, meta: UserMeta | undefined): JsonObject {
  const spec = { owner: key.org, access: key.level, secretName: key.secretName };
  const extra = { ...(meta?.labels ? { labels: meta.labels } : {}), ...(meta?.annotations ? { annotations: meta.annotations } : {}) };
  return {
    apiVersion: userApiVersion,
    kind: 'User',
    metadata: {
      name: key.user,
      namespace: key.namespace,
      uid: uidOf(`user:${key.accessKey}`),
      resourceVersion: resourceVersionOf({ spec, extra }),
      creationTimestamp: timestamp(key.createdAt),
      ...extra,
    },
    spec,
    status: { objectStorageAccess: 'ACTIVE', objectStorageId: `${key.namespace}:${key.user}` },
  };
}

/** A manifest problem in Kubernetes' words: unknown fields are a strict-decoding 400, the rest 422 Invalid. */
function manifestError(err: ManifestError, name: string): KubeError {
  const unknown = err.problems.filter((p) => p.startsWith('unknown field'));
  if (unknown.length > 0) return badRequest(`User in version "v1alpha1" cannot be handled as a User: strict decoding error: ${unknown.join(', ')}`);
  if (err.problems.length === 0) return badRequest(err.message);
  const causes: StatusCause[] = err.problems.map((p) => {
    const i = p.indexOf(': ');
    const reason = /Unsupported value/.test(p) ? 'FieldValueNotSupported' : /Required value/.test(p) ? 'FieldValueRequired' : 'FieldValueInvalid';
    return i < 0 ? { message: p, reason } : { field: p.slice(0, i), message: p.slice(i + 2), reason };
  });
  return invalid('User', userGroup, name, causes);
}

/**
 * Validate a User. Unknown fields are refused unless the client asked otherwise
 * (`fieldValidation=Ignore`, which `kubectl --validate=false` sends, or `Warn`): then they are
 * dropped, with a Warning header for Warn, and the rest is validated as usual.
 */
function validateLeniently(obj: JsonObject, namespace: string, c: KubeContext) {
  const mode = c.query.get('fieldValidation') ?? 'Strict';
  try {
    return validateUserManifest(obj, { namespace });
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    const unknown = err.problems.flatMap((p) => /^unknown field "(.+)"$/.exec(p)?.[1] ?? []);
    const name = str(isObject(obj.metadata) ? obj.metadata.name : undefined);
    if (mode === 'Strict' || unknown.length === 0) throw manifestError(err, name);
    const pruned: JsonObject = structuredClone(obj);
    for (const path of unknown) {
      const [first, second] = path.split('.');
      const parent = second === undefined ? pruned : pruned[first];
      if (isObject(parent)) delete parent[second ?? first];
    }
    if (mode === 'Warn') c.warnings.push(...unknown.map((p) => `unknown field "${p}"`));
    try {
      return validateUserManifest(pruned, { namespace });
    } catch (again) {
      throw again instanceof ManifestError ? manifestError(again, name) : again;
    }
  }
}

/** The identity layer's refusals, in Kubernetes' words. */
export function identityError(err: unknown, r: ResourceName, name: string | undefined): unknown {
  if (!(err instanceof IdentityError)) return err;
  if (err.status === 404) return notFound(r, name ?? '');
  if (err.status === 403) return forbidden(r, name, err.message);
  if (err.code === 'SecretNameTaken') return invalid('User', userGroup, name ?? '', [{ field: 'spec.secretName', reason: 'FieldValueDuplicate', message: `Duplicate value: ${err.message}` }]);
  return new KubeError(err.status, err.status === 409 ? 'Conflict' : 'BadRequest', err.message);
}

function str(v: Json | undefined): string {
  return typeof v === 'string' ? v : '';
}

/**
 * Validate a User object for `namespace` (the URL's) and write it in `tx`: create it, or
 * change the existing one. Returns the stored key.
 */
async function write(c: KubeContext, tx: IdentityTransaction, obj: JsonObject, namespace: string): Promise<KeyRecord> {
  const clean = withoutServerFields(obj);
  const meta = isObject(clean.metadata) ? clean.metadata : {};
  if (meta.namespace !== undefined && meta.namespace !== null && meta.namespace !== '' && meta.namespace !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const manifest = validateLeniently(clean, namespace, c);
  await applyOne(tx, manifest, c.scope);
  const key = (await tx.keyByUser(namespace, manifest.name))!;
  const stored: UserMeta = { accessKey: key.accessKey };
  if (isObject(meta.labels) && Object.keys(meta.labels).length > 0) stored.labels = meta.labels as Record<string, string>;
  if (isObject(meta.annotations) && Object.keys(meta.annotations).length > 0) stored.annotations = meta.annotations as Record<string, string>;
  await tx.putKubeObject(metaKind, namespace, manifest.name, JSON.stringify(stored));
  return key;
}

/** The visible user `name` in `namespace` inside `tx`, or NotFound. */
async function existing(c: KubeContext, tx: IdentityTransaction, name: string, namespace: string): Promise<KeyRecord> {
  const key = await tx.keyByUser(namespace, name);
  if (!key || !userVisible(c.scope, key)) throw notFound(usersResource, name);
  return key;
}

/** PUT and PATCH: a sent resourceVersion must be the current one; the name cannot change. */
function checkReplacement(current: JsonObject, next: JsonObject, name: string): void {
  const sent = isObject(next.metadata) ? next.metadata : {};
  if (sent.name !== undefined && sent.name !== name) throw badRequest(`the name of the object (${str(sent.name)}) does not match the name on the URL (${name})`);
  if (typeof sent.resourceVersion === 'string' && sent.resourceVersion !== '' && sent.resourceVersion !== (current.metadata as JsonObject).resourceVersion) throw conflict(usersResource, name);
}

const patchTypes = ['application/merge-patch+json', 'application/json-patch+json'];

export function unsupportedPatch(type: string, accepted = ['application/merge-patch+json']): KubeError {
  return new KubeError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format (${type || 'none'}) - accepted media types include: ${accepted.join(', ')}`);
}

async function replaceWith(c: KubeContext, build: (current: JsonObject) => JsonObject): Promise<KubeReply> {
  const name = c.name!;
  const namespace = c.namespace!;
  try {
    const key = await c.identity.transaction(async (tx) => {
      const before = await existing(c, tx, name, namespace);
      const current = userKubeObject(before, await metaOf(tx, before));
      const next = build(current);
      checkReplacement(current, next, name);
      return write(c, tx, { ...next, metadata: { ...(isObject(next.metadata) ? next.metadata : {}), name } }, namespace);
    });
    return { status: 200, body: userKubeObject(key, await metaOf(c.identity, key)) };
  } catch (err) {
    throw identityError(err, usersResource, name);
  }
}

function userTable(items: JsonObject[]): JsonObject {
  return table(
    [nameColumn, { name: 'Owner', type: 'string' }, { name: 'Access', type: 'string' }, { name: 'Object Storage Access', type: 'string' }, { name: 'Object Storage ID', type: 'string' }],
    items.map((u) => {
      const spec = u.spec as JsonObject;
      const status = u.status as JsonObject;
      return { cells: [str((u.metadata as JsonObject).name), str(spec.owner), str(spec.access), str(status.objectStorageAccess), str(status.objectStorageId)], metadata: u.metadata as JsonObject };
    }),
  );
}

export const userHandlers: ResourceHandlers = {
  async get(c) {
    try {
      const key = await c.users.find(c.name!, c.namespace, c.scope);
      const obj = userKubeObject(key, await metaOf(c.identity, key));
      return { status: 200, body: c.table ? userTable([obj]) : obj };
    } catch (err) {
      throw identityError(err, usersResource, c.name);
    }
  },

  async list(c) {
    const byName = fieldSelector(c.query.get('fieldSelector'));
    const byLabels = labelSelector(c.query.get('labelSelector'));
    const keys = (await c.users.list({ namespace: c.namespace }, c.scope)).filter((k) => byName({ name: k.user, namespace: k.namespace }));
    const metas = new Map((await c.identity.kubeObjects(metaKind)).map((o) => [`${o.namespace}/${o.name}`, JSON.parse(o.body) as UserMeta]));
    const items = keys
      .map((k) => {
        const meta = metas.get(`${k.namespace}/${k.user}`);
        return userKubeObject(k, meta?.accessKey === k.accessKey ? meta : undefined);
      })
      .filter((u) => byLabels((u.metadata as JsonObject).labels as Record<string, unknown> | undefined));
    return { status: 200, body: c.table ? userTable(items) : listOf(userApiVersion, 'User', items) };
  },

  async create(c) {
    const obj = await c.body();
    const name = str(isObject(obj.metadata) ? obj.metadata.name : undefined);
    try {
      const key = await c.identity.transaction(async (tx) => {
        const taken = name === '' ? undefined : await tx.keyByUser(c.namespace!, name);
        if (taken && userVisible(c.scope, taken)) throw alreadyExists(usersResource, name);
        return write(c, tx, obj, c.namespace!);
      });
      return { status: 201, body: userKubeObject(key, await metaOf(c.identity, key)) };
    } catch (err) {
      throw identityError(err, usersResource, name);
    }
  },

  async update(c) {
    const obj = await c.body();
    return replaceWith(c, () => obj);
  },

  async patch(c) {
    const type = (c.req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    // JSON Patch (RFC 6902) is not implemented: said plainly rather than misapplied.
    if (!patchTypes.slice(0, 1).includes(type)) throw unsupportedPatch(type);
    const patch = await c.body();
    return replaceWith(c, (current) => mergePatch(current, patch) as JsonObject);
  },

  async delete(c) {
    try {
      const key = await c.identity.transaction(async (tx) => {
        const found = await existing(c, tx, c.name!, c.namespace!);
        const obj = userKubeObject(found, await metaOf(tx, found));
        await tx.deleteKey(found.accessKey);
        await tx.deleteKubeObject(metaKind, found.namespace, found.user);
        return obj;
      });
      return { status: 200, body: key };
    } catch (err) {
      throw identityError(err, usersResource, c.name);
    }
  },
};
