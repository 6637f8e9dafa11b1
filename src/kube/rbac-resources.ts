// The roles and rolebindings resources: create, get, list, update, patch and delete of the
// objects rbac.ts validates and evaluates. kubectl patches these built-in kinds with a strategic
// merge patch, which for their fields is a JSON merge patch (objects.ts strategicToMergePatch).
import { rbacGroup } from './discovery.ts';
import { ageColumn, ageOf, fieldSelector, isObject, labelSelector, listOf, mergePatch, nameColumn, resourceVersionOf, strategicToMergePatch, table, timestamp, uidOf, withoutServerFields, type JsonObject } from './objects.ts';
import { rbacApiVersion, rbacResource, storedObject, storedObjects, validateRbacObject, type RbacKind } from './rbac.ts';
import type { KubeContext, KubeReply, ResourceHandlers } from './request.ts';
import { alreadyExists, badRequest, conflict, invalid, notFound, type ResourceName } from './status.ts';
import { unsupportedPatch } from './users.ts';

/** Stored objects carry uid and creationTimestamp; resourceVersion is derived on the way out. */
function served(obj: JsonObject): JsonObject {
  return { ...obj, metadata: { ...(obj.metadata as JsonObject), resourceVersion: resourceVersionOf(obj) } };
}

function rbacTable(kind: RbacKind, items: JsonObject[]): JsonObject {
  const now = Date.now();
  const role = kind === 'RoleBinding' ? [{ name: 'Role', type: 'string' as const }] : [];
  return table(
    [nameColumn, ...role, ageColumn],
    items.map((o) => {
      const meta = o.metadata as JsonObject;
      const ref = kind === 'RoleBinding' ? [`Role/${(o.roleRef as JsonObject).name as string}`] : [];
      return { cells: [meta.name as string, ...ref, ageOf(meta.creationTimestamp as string, now)], metadata: meta };
    }),
  );
}

function nameOf(obj: JsonObject): string {
  return isObject(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : '';
}

function checkNamespace(obj: JsonObject, namespace: string): void {
  const ns = isObject(obj.metadata) ? obj.metadata.namespace : undefined;
  if (ns !== undefined && ns !== null && ns !== '' && ns !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
}

export function rbacHandlers(kind: RbacKind): ResourceHandlers {
  const r: ResourceName = { group: rbacGroup, resource: rbacResource(kind) };

  async function replaceWith(c: KubeContext, build: (current: JsonObject) => JsonObject): Promise<KubeReply> {
    const name = c.name!;
    const namespace = c.namespace!;
    const stored = await c.identity.transaction(async (tx) => {
      const before = await storedObject(tx, kind, namespace, name);
      if (!before) throw notFound(r, name);
      const current = served(before);
      const next = build(current);
      checkNamespace(next, namespace);
      const sent = isObject(next.metadata) ? next.metadata : {};
      if (sent.name !== undefined && sent.name !== name) throw badRequest(`the name of the object (${String(sent.name)}) does not match the name on the URL (${name})`);
      if (typeof sent.resourceVersion === 'string' && sent.resourceVersion !== '' && sent.resourceVersion !== (current.metadata as JsonObject).resourceVersion) throw conflict(r, name);
      const valid = validateRbacObject(kind, withoutServerFields({ ...next, metadata: { ...sent, name } }), namespace);
      if (kind === 'RoleBinding' && JSON.stringify(valid.roleRef) !== JSON.stringify(before.roleRef)) {
        throw invalid(kind, rbacGroup, name, [{ field: 'roleRef', message: 'Invalid value: cannot change roleRef' }]);
      }
      const beforeMeta = before.metadata as JsonObject;
      const out = { ...valid, metadata: { ...(valid.metadata as JsonObject), uid: beforeMeta.uid, creationTimestamp: beforeMeta.creationTimestamp } };
      await tx.putKubeObject(r.resource, namespace, name, JSON.stringify(out));
      return out;
    });
    return { status: 200, body: served(stored) };
  }

  return {
    async get(c) {
      const obj = await storedObject(c.identity, kind, c.namespace!, c.name!);
      if (!obj) throw notFound(r, c.name!);
      return { status: 200, body: c.table ? rbacTable(kind, [served(obj)]) : served(obj) };
    },

    async list(c) {
      const byName = fieldSelector(c.query.get('fieldSelector'));
      const byLabels = labelSelector(c.query.get('labelSelector'));
      const allowed = c.scope === undefined || c.scope.includes('*') ? undefined : c.scope;
      const items = (await storedObjects(c.identity, kind, c.namespace))
        .filter((o) => {
          const meta = o.metadata as { name: string; namespace: string; labels?: Record<string, unknown> };
          return (allowed === undefined || allowed.includes(meta.namespace)) && byName(meta) && byLabels(meta.labels);
        })
        .map(served);
      return { status: 200, body: c.table ? rbacTable(kind, items) : listOf(rbacApiVersion, kind, items) };
    },

    async create(c) {
      const obj = await c.body();
      checkNamespace(obj, c.namespace!);
      const valid = validateRbacObject(kind, withoutServerFields(obj), c.namespace!);
      const name = nameOf(valid);
      const stored = await c.identity.transaction(async (tx) => {
        if (await storedObject(tx, kind, c.namespace!, name)) throw alreadyExists(r, name);
        const out = { ...valid, metadata: { ...(valid.metadata as JsonObject), uid: uidOf(`${r.resource}:${c.namespace}:${name}:${Date.now()}`), creationTimestamp: timestamp(Date.now()) } };
        await tx.putKubeObject(r.resource, c.namespace!, name, JSON.stringify(out));
        return out;
      });
      return { status: 201, body: served(stored) };
    },

    async update(c) {
      const obj = await c.body();
      return replaceWith(c, () => obj);
    },

    async patch(c) {
      const type = (c.req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const accepted = ['application/merge-patch+json', 'application/strategic-merge-patch+json'];
      if (!accepted.includes(type)) throw unsupportedPatch(type, accepted);
      const body = await c.body();
      const patch = type === accepted[1] ? strategicToMergePatch(body) : body;
      return replaceWith(c, (current) => mergePatch(current, patch) as JsonObject);
    },

    async delete(c) {
      const obj = await c.identity.transaction(async (tx) => {
        const found = await storedObject(tx, kind, c.namespace!, c.name!);
        if (!found) throw notFound(r, c.name!);
        await tx.deleteKubeObject(r.resource, c.namespace!, c.name!);
        return found;
      });
      return { status: 200, body: served(obj) };
    },
  };
}
