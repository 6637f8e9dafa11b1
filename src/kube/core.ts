// The core (v1) resources kubectl needs here: secrets (each User's credentials, read-only: they
// come and go with their User) and namespaces (the ones that hold something, or that a token
// names; read-only).
import { isOrgAdmin } from '../identity/admin-tokens.ts';
import type { SecretObject } from '../identity/manifest.ts';
import { identityError } from './users.ts';
import { subjectOf, visibleNamespaces } from './access.ts';
import { ageColumn, ageOf, fieldSelector, labelSelector, listOf, nameColumn, resourceVersionOf, table, timestamp, uidOf, type JsonObject } from './objects.ts';
import type { KubeContext, ResourceHandlers } from './request.ts';
import { forbidden, notFound, type ResourceName } from './status.ts';
import { labelProblem } from '../identity/names.ts';
import { storedObjects } from './rbac.ts';

export const secretsResource: ResourceName = { group: '', resource: 'secrets' };
export const namespacesResource: ResourceName = { group: '', resource: 'namespaces' };

function secretKubeObject(s: SecretObject): JsonObject {
  const owner = s.metadata.ownerReferences[0];
  const ownerUid = uidOf(`user:${Buffer.from(s.data.accessKey, 'base64').toString('utf8')}`);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: s.metadata.name,
      namespace: s.metadata.namespace,
      uid: uidOf(`secret:${s.metadata.name}:${ownerUid}`),
      resourceVersion: resourceVersionOf(s),
      creationTimestamp: s.metadata.creationTimestamp,
      ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: ownerUid, controller: true, blockOwnerDeletion: true }],
    },
    type: s.type,
    data: s.data,
  };
}

function secretTable(items: JsonObject[]): JsonObject {
  const now = Date.now();
  return table(
    [nameColumn, { name: 'Type', type: 'string' }, { name: 'Data', type: 'integer' }, ageColumn],
    items.map((s) => {
      const meta = s.metadata as JsonObject;
      return { cells: [meta.name as string, s.type as string, Object.keys(s.data as JsonObject).length, ageOf(meta.creationTimestamp as string, now)], metadata: meta };
    }),
  );
}

export const secretHandlers: ResourceHandlers = {
  async get(c) {
    try {
      const s = secretKubeObject(await c.users.secret(c.name!, c.namespace, c.scope));
      return { status: 200, body: c.table ? secretTable([s]) : s };
    } catch (err) {
      throw identityError(err, secretsResource, c.name);
    }
  },
  async list(c) {
    const byName = fieldSelector(c.query.get('fieldSelector'));
    const byLabels = labelSelector(c.query.get('labelSelector'));
    const items = (await c.users.secrets({ namespace: c.namespace }, c.scope)).filter((s) => byName(s.metadata) && byLabels(undefined)).map(secretKubeObject);
    return { status: 200, body: c.table ? secretTable(items) : listOf('v1', 'Secret', items) };
  },
};

/** Every namespace the token may see, with the earliest time Strata knows of it. */
async function namespaces(c: KubeContext): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const note = (ns: string, at: number) => seen.set(ns, Math.min(seen.get(ns) ?? at, at));
  for (const k of await c.identity.listKeys()) note(k.namespace, k.createdAt);
  for (const kind of ['Role', 'RoleBinding'] as const) {
    for (const o of await storedObjects(c.identity, kind)) note((o.metadata as JsonObject).namespace as string, Date.parse((o.metadata as JsonObject).creationTimestamp as string));
  }
  for (const t of await c.identity.tokens.list()) if (t.revokedAt === undefined && !isOrgAdmin(t.namespaces)) for (const ns of t.namespaces) note(ns, t.createdAt);
  const visible = await visibleNamespaces(c.identity, c.token);
  if (visible === undefined) return seen;
  // A token's own namespaces exist for it even before anything is created there.
  return new Map(visible.map((ns) => [ns, seen.get(ns) ?? c.token.createdAt]));
}

function namespaceObject(name: string, createdAt: number): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: uidOf(`namespace:${name}`), resourceVersion: resourceVersionOf(name), creationTimestamp: timestamp(createdAt), labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

function namespaceTable(items: JsonObject[]): JsonObject {
  const now = Date.now();
  return table(
    [nameColumn, { name: 'Status', type: 'string' }, ageColumn],
    items.map((n) => {
      const meta = n.metadata as JsonObject;
      return { cells: [meta.name as string, 'Active', ageOf(meta.creationTimestamp as string, now)], metadata: meta };
    }),
  );
}

export const namespaceHandlers: ResourceHandlers = {
  // Namespaces are implicit in Strata (a user's metadata.namespace makes one), so every valid
  // name the token may use exists; kubectl asks after a NotFound, to tell a missing namespace apart.
  async get(c) {
    const name = c.name!;
    if (labelProblem(name)) throw notFound(namespacesResource, name);
    const visible = await visibleNamespaces(c.identity, c.token);
    if (visible !== undefined && !visible.includes(name)) {
      throw forbidden(namespacesResource, name, `User "${subjectOf(c.token)}" cannot get resource "namespaces" in API group "" in the namespace "${name}"`);
    }
    const ns = namespaceObject(name, (await namespaces(c)).get(name) ?? Date.now());
    return { status: 200, body: c.table ? namespaceTable([ns]) : ns };
  },
  async list(c) {
    const byName = fieldSelector(c.query.get('fieldSelector'));
    const items = [...(await namespaces(c)).entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .filter(([name]) => byName({ name }))
      .map(([name, at]) => namespaceObject(name, at));
    return { status: 200, body: c.table ? namespaceTable(items) : listOf('v1', 'Namespace', items) };
  },
};
