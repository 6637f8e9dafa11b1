// Discovery: what kubectl asks before anything else. The same answer for every caller (kubectl
// caches it per host for hours, whatever token asked), so it is served without authentication,
// as a cluster serves it to system:unauthenticated; resources are authorized where they are used.
//
// Legacy discovery only (plain JSON lists): every kubectl from 1.20 to 1.33 reads it; the
// aggregated form is optional. OpenAPI: v3 is absent (404) and v2 is an empty document, which
// lets kubectl's default `--validate=strict` pass for kinds it does not describe; the server
// validates every object itself.
import type { ServerResponse } from 'node:http';
import { sendJson } from './status.ts';

/** The minor version kubectl's dispatcher picks its client by: /usr/bin/kubectl is 1.32. */
export const kubeVersion = { major: '1', minor: '32', gitVersion: 'v1.32.4-strata' };

export const userGroup = 'objectstorage.coreweave.com';
export const userVersion = 'v1alpha1';
export const rbacGroup = 'rbac.authorization.k8s.io';
export const rbacVersion = 'v1';

interface ApiResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
}

const readWrite = ['create', 'delete', 'get', 'list', 'patch', 'update'];

const groups: Record<string, ApiResource[]> = {
  v1: [
    { name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['get', 'list'], shortNames: ['ns'] },
    { name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: ['get', 'list'] },
  ],
  [`${userGroup}/${userVersion}`]: [{ name: 'users', singularName: 'user', namespaced: true, kind: 'User', verbs: readWrite }],
  [`${rbacGroup}/${rbacVersion}`]: [
    { name: 'roles', singularName: 'role', namespaced: true, kind: 'Role', verbs: readWrite },
    { name: 'rolebindings', singularName: 'rolebinding', namespaced: true, kind: 'RoleBinding', verbs: readWrite },
  ],
};

function groupList(): unknown {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [
      [userGroup, userVersion],
      [rbacGroup, rbacVersion],
    ].map(([name, version]) => {
      const gv = { groupVersion: `${name}/${version}`, version };
      return { name, versions: [gv], preferredVersion: gv };
    }),
  };
}

/**
 * Answer a discovery path (segments after the prefix) and say so; false when `path` is not
 * discovery. `host` is the Host header, for /api's serverAddressByClientCIDRs.
 */
export function serveDiscovery(path: string[], host: string, res: ServerResponse): boolean {
  const joined = path.join('/');
  if (joined === 'version') sendJson(res, 200, { ...kubeVersion, gitCommit: '', gitTreeState: 'clean', buildDate: '', goVersion: '', compiler: 'gc', platform: 'linux/amd64' });
  else if (joined === 'api') sendJson(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }] });
  else if (joined === 'apis') sendJson(res, 200, groupList());
  else if (joined === 'api/v1') sendJson(res, 200, resourceList('v1'));
  else if (path.length === 3 && path[0] === 'apis' && groups[`${path[1]}/${path[2]}`]) sendJson(res, 200, resourceList(`${path[1]}/${path[2]}`));
  else if (joined === 'openapi/v2') {
    // An empty protobuf message is a valid, empty OpenAPI v2 document.
    res.writeHead(200, { 'content-type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf', 'content-length': 0 });
    res.end();
  } else return false;
  return true;
}

function resourceList(groupVersion: string): unknown {
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources: groups[groupVersion] };
}
