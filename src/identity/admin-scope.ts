// What an admin caller may see and change: the one decision behind every admin operation (the
// admin HTTP API, the CLI through it, and later a Kubernetes-compatible API). It knows nothing
// of HTTP; callers turn its answer into their own errors.
//
// The model. A User lives in a namespace (metadata.namespace) and belongs to an organisation
// (spec.owner); its access key and its Secret belong to the same organisation. A token is scoped
// to a list of namespaces, or to all of them ('*', an organisation admin). For a scoped token a
// namespace name is also the organisation it may act for: it may create keys only for
// organisations among its namespaces. Hence:
//
// - a namespace outside the scope is refused as a whole ('forbidden'), whatever it holds: the
//   answer is the same whether anything exists there, so it reveals nothing;
// - a user (with its key and Secret) is visible only when both its namespace and its
//   organisation are in scope. A user of another organisation in a namespace the token shares
//   is 'invisible': reads, deletes and lists behave exactly as if it did not exist, so a token
//   learns neither the key nor the user's name;
// - admin tokens themselves are managed only by organisation admins.
//
// Names are unique, so `apply` cannot pretend an invisible user is absent: creating a user whose
// name another organisation holds in the shared namespace, or a Secret name another user holds,
// is refused (the name is taken), without saying anything more about the holder than the
// caller may see.

import { isOrgAdmin } from './admin-tokens.ts';

/** Namespaces a caller may manage ('*' = all); undefined = unrestricted (the CLI on the data root). */
export type Scope = readonly string[] | undefined;

export type AdminTarget =
  /** working in a namespace at all: listing it, applying users into it */
  | { kind: 'namespace'; namespace: string }
  /** creating or re-assigning keys for an organisation (spec.owner) */
  | { kind: 'organisation'; org: string }
  /** one user, with its access key and its Secret */
  | { kind: 'user'; namespace: string; org: string }
  /** creating, listing and revoking admin API tokens */
  | { kind: 'tokens' };

/**
 * - allowed: go ahead;
 * - forbidden: refuse openly (403), the same way whether the target exists or not;
 * - invisible: behave as if the target did not exist (404; left out of lists).
 */
export type ScopeDecision = 'allowed' | 'forbidden' | 'invisible';

export function isUnrestricted(scope: Scope): boolean {
  return scope === undefined || isOrgAdmin(scope);
}

/** May a caller with `scope` see or change `target`? */
export function scopeDecision(scope: Scope, target: AdminTarget): ScopeDecision {
  if (isUnrestricted(scope)) return 'allowed';
  const has = (name: string) => scope!.includes(name);
  switch (target.kind) {
    case 'namespace':
      return has(target.namespace) ? 'allowed' : 'forbidden';
    case 'organisation':
      return has(target.org) ? 'allowed' : 'forbidden';
    case 'user':
      if (!has(target.namespace)) return 'forbidden';
      return has(target.org) ? 'allowed' : 'invisible';
    case 'tokens':
      return 'forbidden';
  }
}

/** The target for a stored user (key record). */
export function userTarget(user: { namespace: string; org: string }): AdminTarget {
  return { kind: 'user', namespace: user.namespace, org: user.org };
}

/** For filters: may `scope` see this user (and its key and Secret) at all? */
export function userVisible(scope: Scope, user: { namespace: string; org: string }): boolean {
  return scopeDecision(scope, userTarget(user)) === 'allowed';
}
