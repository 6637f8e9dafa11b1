// POST /console/api/kubeconfig {"token": "sat_…", "namespace": "NS"}: the kubeconfig of an API
// token the page has just created (src/console/ui/api-access.tsx), as an attachment. The token's
// plaintext exists only at its creation, so the page sends it back once, here, and the server
// keeps nothing: it checks the token, writes the file with the code `strata kubeconfig` uses
// (src/kube/kubeconfig.ts) and forgets it. The server URL is the host the browser reached the
// console on (the admin listener, which also speaks TLS on that port), with https:// because
// kubectl sends a bearer token only over TLS; the CA data is the certificate that port presents.
import type { IncomingMessage } from 'node:http';
import type { Services } from '../ops/operation.ts';
import { isOrgAdmin } from '../identity/admin-tokens.ts';
import { labelProblem } from '../identity/names.ts';
import { IdentityError } from '../identity/users.ts';
import { kubeconfig } from '../kube/kubeconfig.ts';

/** host[:port] as a browser sends it: a name or an IPv4 address, or a bracketed IPv6 address. */
const hostHeader = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export async function kubeconfigFor(
  services: Services,
  req: IncomingMessage,
  certificate: string,
  body: { token: string; namespace: string },
): Promise<{ name: string; text: string }> {
  const result = await services.identity.tokens.verify(body.token.trim());
  if (!result.ok) {
    throw new IdentityError(400, 'InvalidToken', result.reason === 'malformed' ? 'that is not a Strata API token (sat_…)' : result.reason === 'revoked' ? 'that token has been revoked' : 'that token is not valid');
  }
  const { token } = result;
  const namespace = body.namespace.trim();
  const problem = labelProblem(namespace);
  if (problem) throw new IdentityError(400, 'BadRequest', `namespace "${namespace}": ${problem}`);
  // A namespace-scoped token is refused everywhere else (src/kube/access.ts): a default namespace
  // outside its scope would make every plain `kubectl get` fail. A blank token's namespaces come
  // from RoleBindings, so any namespace may be its default.
  if (token.namespaces.length > 0 && !isOrgAdmin(token.namespaces) && !token.namespaces.includes(namespace)) {
    throw new IdentityError(400, 'BadRequest', `namespace "${namespace}" is outside the token's namespaces (${token.namespaces.join(', ')})`);
  }
  const host = req.headers.host ?? '';
  if (!hostHeader.test(host)) throw new IdentityError(400, 'BadRequest', 'the request has no usable Host header for the kubeconfig\u2019s server URL');
  const text = kubeconfig({ server: `https://${host}`, token: body.token.trim(), namespace, certificateAuthority: certificate });
  return { name: `kubeconfig-${token.name || token.id}-${namespace}.yaml`, text };
}
