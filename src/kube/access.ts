// Who may do what through the Kubernetes API. Three kinds of token (src/identity/admin-tokens.ts):
//
// - organisation admin ('*'): everything, everywhere;
// - namespace-scoped: everything in its namespaces, nothing elsewhere (403 Forbidden), with the
//   same rule as the admin API for users of other organisations in a shared namespace
//   (src/identity/admin-scope.ts: invisible);
// - blank (no namespaces): exactly what the Roles bound to it allow (rbac.ts), namespace by
//   namespace; in a namespace where a Role allows it, it acts like a token scoped to that
//   namespace. Writing Roles and RoleBindings is never granted by RBAC (a token could bind
//   itself to more than it has): that takes a scoped or admin token.
//
// The answer is the Scope the identity layer applies (UserDirectory), so a user created here is
// checked by the same rules as one created with the CLI or the admin API.
import { isOrgAdmin, type AdminToken } from '../identity/admin-tokens.ts';
import type { IdentityStore } from '../identity/identity-store.ts';
import type { Scope } from '../identity/admin-scope.ts';
import { boundNamespaces, rbacAllows } from './rbac.ts';
import { forbidden, type ResourceName } from './status.ts';

export interface KubeRequest extends ResourceName {
  verb: 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete';
  /** undefined: across all namespaces (lists), or a cluster-scoped resource */
  namespace?: string;
  name?: string;
}

/** The name RoleBinding subjects use for a token (kind: User). */
export function subjectOf(token: AdminToken): string {
  return token.id;
}

function refuse(token: AdminToken, r: KubeRequest): never {
  const where = r.namespace !== undefined ? `in the namespace "${r.namespace}"` : 'at the cluster scope';
  const blank = token.namespaces.length === 0 ? ' (a blank token: no RoleBinding in this namespace grants it)' : '';
  throw forbidden(r, r.name, `User "${subjectOf(token)}" cannot ${r.verb} resource "${r.resource}" in API group "${r.group}" ${where}${blank}`);
}

const rbacResources = new Set(['roles', 'rolebindings']);

/**
 * The scope the request runs with, or a 403 Forbidden. For a list across namespaces the scope
 * is the namespaces the token may list in (possibly none: then the list is empty).
 */
export async function authorize(identity: IdentityStore, token: AdminToken, r: KubeRequest): Promise<Scope> {
  if (isOrgAdmin(token.namespaces)) return token.namespaces;
  if (token.namespaces.length > 0) {
    if (r.namespace !== undefined && !token.namespaces.includes(r.namespace)) refuse(token, r);
    return token.namespaces;
  }
  const subject = subjectOf(token);
  const writesRbac = rbacResources.has(r.resource) && r.verb !== 'get' && r.verb !== 'list';
  if (r.namespace !== undefined) {
    if (writesRbac || !(await rbacAllows(identity, subject, { ...r, namespace: r.namespace }))) refuse(token, r);
    return [r.namespace];
  }
  if (r.verb !== 'list') refuse(token, r);
  const allowed: string[] = [];
  for (const ns of await boundNamespaces(identity, subject)) if (await rbacAllows(identity, subject, { ...r, namespace: ns })) allowed.push(ns);
  if (allowed.length === 0) refuse(token, r);
  return allowed;
}

/** Namespaces the token may see at all (for `kubectl get namespaces`); undefined = every one. */
export async function visibleNamespaces(identity: IdentityStore, token: AdminToken): Promise<string[] | undefined> {
  if (isOrgAdmin(token.namespaces)) return undefined;
  if (token.namespaces.length > 0) return token.namespaces;
  return boundNamespaces(identity, subjectOf(token));
}
