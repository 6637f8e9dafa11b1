// rbac.authorization.k8s.io/v1 Roles and RoleBindings, kept as JSON in the identity store
// (kube_objects), and the one question a blank token's requests ask of them: does a Role bound
// to this token allow this verb on this resource in this namespace?
//
// Subjects: `kind: User` with `name` = the token's id (as `strata token list` shows it). Other
// subject kinds (Group, ServiceAccount) are stored and match nothing. Only `roleRef.kind: Role`
// is served (there are no ClusterRoles). Rules match as in Kubernetes: apiGroups, resources and
// verbs each list the value or "*"; resourceNames, when given, limit get/update/patch/delete to
// those names (list and create never match a rule with resourceNames).
import type { IdentityStore, IdentityTransaction } from '../identity/identity-store.ts';
import { subdomainProblem } from '../identity/names.ts';
import { rbacGroup, rbacVersion } from './discovery.ts';
import { isObject, type Json, type JsonObject } from './objects.ts';
import { invalid, type StatusCause } from './status.ts';

export const rbacApiVersion = `${rbacGroup}/${rbacVersion}`;

export type RbacKind = 'Role' | 'RoleBinding';

export interface RbacRequest {
  verb: string;
  group: string;
  resource: string;
  namespace: string;
  name?: string;
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

function strings(v: Json | undefined, field: string, causes: StatusCause[], required: boolean): string[] | undefined {
  if (v === undefined || v === null) {
    if (required) causes.push({ field, reason: 'FieldValueRequired', message: 'Required value' });
    return undefined;
  }
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    causes.push({ field, message: 'Invalid value: must be a list of strings' });
    return undefined;
  }
  if (required && v.length === 0) causes.push({ field, reason: 'FieldValueRequired', message: 'Required value' });
  return v as string[];
}

function unknownFields(obj: JsonObject, allowed: string[], prefix: string, causes: StatusCause[]): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) causes.push({ field: `${prefix}${k}`, reason: 'FieldValueNotSupported', message: `unknown field "${prefix}${k}"` });
}

/**
 * Check a Role or RoleBinding (server-owned fields already removed) and return it as stored:
 * apiVersion, kind, metadata (name, namespace, labels, annotations) and the kind's own fields.
 */
export function validateRbacObject(kind: RbacKind, obj: JsonObject, namespace: string): JsonObject {
  const causes: StatusCause[] = [];
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (obj.apiVersion !== rbacApiVersion) causes.push({ field: 'apiVersion', reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(obj.apiVersion)}: supported values: "${rbacApiVersion}"` });
  if (obj.kind !== kind) causes.push({ field: 'kind', reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(obj.kind)}: supported values: "${kind}"` });
  const problem = name === '' ? 'Required value' : subdomainProblem(name);
  if (problem) causes.push({ field: 'metadata.name', message: name === '' ? problem : `Invalid value: ${JSON.stringify(name)}: ${problem}` });
  unknownFields(meta, ['name', 'namespace', 'labels', 'annotations'], 'metadata.', causes);
  for (const f of ['labels', 'annotations'] as const) {
    const m = meta[f];
    if (m !== undefined && m !== null && (!isObject(m) || !Object.values(m).every((v) => typeof v === 'string'))) causes.push({ field: `metadata.${f}`, message: 'Invalid value: must be a mapping of strings' });
  }
  const stored: JsonObject = {
    apiVersion: rbacApiVersion,
    kind,
    metadata: { name, namespace, ...(isObject(meta.labels) ? { labels: meta.labels } : {}), ...(isObject(meta.annotations) ? { annotations: meta.annotations } : {}) },
  };
  if (kind === 'Role') {
    unknownFields(obj, ['apiVersion', 'kind', 'metadata', 'rules'], '', causes);
    const rules = obj.rules ?? [];
    if (!Array.isArray(rules)) causes.push({ field: 'rules', message: 'Invalid value: must be a list' });
    else {
      stored.rules = rules.map((r, i) => {
        const f = `rules[${i}]`;
        if (!isObject(r)) {
          causes.push({ field: f, message: 'Invalid value: must be a mapping' });
          return {};
        }
        unknownFields(r, ['apiGroups', 'resources', 'verbs', 'resourceNames'], `${f}.`, causes);
        const rule: JsonObject = { verbs: strings(r.verbs, `${f}.verbs`, causes, true) ?? [] };
        for (const k of ['apiGroups', 'resources', 'resourceNames'] as const) {
          const list = strings(r[k], `${f}.${k}`, causes, false);
          if (list) rule[k] = list;
        }
        if (!rule.resources) causes.push({ field: `${f}.resources`, reason: 'FieldValueRequired', message: 'Required value: a namespaced Role needs resources (nonResourceURLs are not served)' });
        return rule;
      });
    }
  } else {
    unknownFields(obj, ['apiVersion', 'kind', 'metadata', 'roleRef', 'subjects'], '', causes);
    const ref = obj.roleRef;
    if (!isObject(ref)) causes.push({ field: 'roleRef', reason: 'FieldValueRequired', message: 'Required value' });
    else {
      unknownFields(ref, ['apiGroup', 'kind', 'name'], 'roleRef.', causes);
      if (ref.apiGroup !== rbacGroup) causes.push({ field: 'roleRef.apiGroup', reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(ref.apiGroup ?? '')}: supported values: "${rbacGroup}"` });
      if (ref.kind !== 'Role') causes.push({ field: 'roleRef.kind', reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(ref.kind ?? '')}: supported values: "Role" (Strata serves no ClusterRoles)` });
      if (typeof ref.name !== 'string' || ref.name === '') causes.push({ field: 'roleRef.name', reason: 'FieldValueRequired', message: 'Required value' });
      stored.roleRef = { apiGroup: rbacGroup, kind: 'Role', name: typeof ref.name === 'string' ? ref.name : '' };
    }
    const subjects = obj.subjects ?? [];
    if (!Array.isArray(subjects)) causes.push({ field: 'subjects', message: 'Invalid value: must be a list' });
    else {
      stored.subjects = subjects.map((s, i) => {
        const f = `subjects[${i}]`;
        if (!isObject(s) || typeof s.kind !== 'string' || typeof s.name !== 'string' || s.name === '') {
          causes.push({ field: f, message: 'Invalid value: a subject needs a kind and a name' });
          return {};
        }
        unknownFields(s, ['kind', 'name', 'apiGroup', 'namespace'], `${f}.`, causes);
        return s;
      });
    }
  }
  if (causes.length > 0) throw invalid(kind, rbacGroup, name, causes);
  return stored;
}

const resourceOfKind: Record<RbacKind, string> = { Role: 'roles', RoleBinding: 'rolebindings' };

export function rbacResource(kind: RbacKind): string {
  return resourceOfKind[kind];
}

type Reads = Pick<IdentityStore | IdentityTransaction, 'kubeObject' | 'kubeObjects'>;

export async function storedObject(reads: Reads, kind: RbacKind, namespace: string, name: string): Promise<JsonObject | undefined> {
  const body = await reads.kubeObject(rbacResource(kind), namespace, name);
  return body === undefined ? undefined : (JSON.parse(body) as JsonObject);
}

export async function storedObjects(reads: Reads, kind: RbacKind, namespace?: string): Promise<JsonObject[]> {
  return (await reads.kubeObjects(rbacResource(kind))).filter((o) => namespace === undefined || o.namespace === namespace).map((o) => JSON.parse(o.body) as JsonObject);
}

function matches(list: string[] | undefined, value: string): boolean {
  return list !== undefined && (list.includes('*') || list.includes(value));
}

function ruleAllows(rule: Rule, r: RbacRequest): boolean {
  if (!matches(rule.verbs, r.verb) || !matches(rule.apiGroups, r.group) || !matches(rule.resources, r.resource)) return false;
  if (rule.resourceNames === undefined || rule.resourceNames.length === 0) return true;
  return r.name !== undefined && rule.resourceNames.includes(r.name);
}

/** Do the Roles bound (in r.namespace) to the token with id `subject` allow `r`? */
export async function rbacAllows(reads: Reads, subject: string, r: RbacRequest): Promise<boolean> {
  const bindings = await storedObjects(reads, 'RoleBinding', r.namespace);
  const roleNames = bindings
    .filter((b) => Array.isArray(b.subjects) && b.subjects.some((s) => isObject(s) && s.kind === 'User' && s.name === subject))
    .map((b) => (b.roleRef as { name: string }).name);
  for (const roleName of new Set(roleNames)) {
    const role = await storedObject(reads, 'Role', r.namespace, roleName);
    if (role && (role.rules as unknown as Rule[]).some((rule) => ruleAllows(rule, r))) return true;
  }
  return false;
}

/** Namespaces in which some RoleBinding names the token (for `kubectl get … -A` and namespace lists). */
export async function boundNamespaces(reads: Reads, subject: string): Promise<string[]> {
  const bindings = await storedObjects(reads, 'RoleBinding');
  const names = bindings.filter((b) => Array.isArray(b.subjects) && b.subjects.some((s) => isObject(s) && s.kind === 'User' && s.name === subject)).map((b) => (b.metadata as { namespace: string }).namespace);
  return [...new Set(names)].sort();
}
