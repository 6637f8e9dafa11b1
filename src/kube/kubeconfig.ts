// `strata kubeconfig --token TOKEN [--namespace NS] [--server URL] > cw-kubeconfig`: a kubeconfig
// for the Kubernetes API on the admin listener (src/kube/server.ts), like the one the seed's
// admins hand out: the server URL with its /k8s prefix, the token, a context with the default
// namespace, and the certificate to trust. Always https://: kubectl sends its token only over
// TLS, and the admin listener accepts TLS on its port (certificate.ts); the data root's
// certificate is embedded as certificate-authority-data (or --certificate-authority FILE's).
import { readFileSync } from 'node:fs';
import { loadConfig, type StrataConfig } from '../config.ts';
import { tokenId } from '../identity/admin-tokens.ts';
import { toYaml } from '../identity/yaml.ts';
import { kubePathPrefix } from './server.ts';
import { storedAdminCertificate } from './certificate.ts';

export interface KubeconfigOptions {
  /** the admin listener's base URL, e.g. http://127.0.0.1:9001 (the /k8s prefix is added) */
  server: string;
  token: string;
  namespace: string;
  /** PEM, for an https:// server */
  certificateAuthority?: string;
}

export function kubeconfig(o: KubeconfigOptions): string {
  const server = `${o.server.replace(/\/+$/, '')}/${kubePathPrefix}`;
  const cluster: Record<string, string> = { server };
  if (o.certificateAuthority) cluster['certificate-authority-data'] = Buffer.from(o.certificateAuthority).toString('base64');
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'strata', cluster }],
    users: [{ name: 'strata-token', user: { token: o.token } }],
    contexts: [{ name: 'strata', context: { cluster: 'strata', user: 'strata-token', namespace: o.namespace } }],
    'current-context': 'strata',
    preferences: {},
  });
}

/** The admin listener's URL as the configuration places it (what the server prints at start). */
export function adminUrlOf(config: StrataConfig): string {
  const port = config.adminPort >= 0 ? config.adminPort : config.port + 1;
  const host = config.adminHost.includes(':') ? `[${config.adminHost}]` : config.adminHost;
  return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
}

export class KubeconfigError extends Error {}

/** The CLI command; flags are already parsed (token, namespace, server, certificate-authority, data root flags). */
export function kubeconfigCommand(flags: Record<string, string>, out: NodeJS.WritableStream): void {
  const token = flags.token ?? process.env.STRATA_ADMIN_TOKEN;
  if (token === undefined || token === 'true' || token === '') throw new KubeconfigError('kubeconfig needs --token TOKEN (an admin API token: strata token create …), or STRATA_ADMIN_TOKEN');
  if (tokenId(token) === undefined) throw new KubeconfigError('the token is not an admin API token (sat_…); create one with strata token create');
  const namespace = flags.namespace && flags.namespace !== 'true' ? flags.namespace : 'default';
  const configFlags: Record<string, string> = {};
  for (const k of ['config', 'data-dir', 'port', 'admin-host', 'admin-port']) if (flags[k] !== undefined) configFlags[k] = flags[k];
  const config = loadConfig({ flags: configFlags });
  const given = flags.server ?? process.env.STRATA_ADMIN_URL;
  const server = given === undefined || given === '' ? adminUrlOf(config) : given;
  const m = /^https?:\/\/([^/]+)\/?$/.exec(server);
  if (!m) throw new KubeconfigError(`--server must be the admin API's URL (http://HOST:PORT), got "${server}"`);
  let certificateAuthority: string | undefined;
  try {
    // The one the admin listener presents (certificate.ts adminTls): the operator's (STRATA_TLS_CERT
    // or the config file), else the data root's.
    const file = flags['certificate-authority'] ?? config.tlsCert;
    certificateAuthority = file !== undefined ? readFileSync(file, 'utf8') : storedAdminCertificate(config.dataDir);
  } catch (err) {
    throw new KubeconfigError(`cannot read the certificate: ${(err as Error).message}`);
  }
  if (certificateAuthority === undefined) {
    throw new KubeconfigError(`no admin certificate in ${config.dataDir} (the server makes admin-tls.pem at its first start): pass --data-dir DIR or --certificate-authority FILE`);
  }
  out.write(kubeconfig({ server: `https://${m[1]}`, token, namespace, certificateAuthority }));
}
