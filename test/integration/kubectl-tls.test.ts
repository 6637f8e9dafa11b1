// With the operator's certificate (--tls-cert/--tls-key), the admin port presents it to kubectl,
// `strata kubeconfig` embeds it, and no self-signed pair is made in the data root.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { selfSignedCertificate } from '../../src/kube/certificate.ts';
import { KubectlUser, strataBin } from '../helpers/kubectl.ts';
import { runProcess } from '../helpers/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let work: string;
let operator: { cert: string; key: string };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strata-kubectl-tls-'));
  operator = selfSignedCertificate(['127.0.0.1']);
  writeFileSync(join(work, 'cert.pem'), operator.cert);
  writeFileSync(join(work, 'key.pem'), operator.key);
  server = await startTestServer({ tlsCert: join(work, 'cert.pem'), tlsKey: join(work, 'key.pem'), tlsPort: 0 });
});
afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

it("presents the operator's certificate, which strata kubeconfig embeds", async () => {
  const token = (server as TestServer & { adminToken?: string }).adminToken!;
  const env = { PATH: process.env.PATH, STRATA_TLS_CERT: join(work, 'cert.pem'), STRATA_TLS_KEY: join(work, 'key.pem') };
  const r = await runProcess(strataBin, ['kubeconfig', '--token', token, '--server', server.admin.endpoint, '--data-dir', server.dataDir], { env });
  expect(r.stderr).toBe('');
  const config = parse(r.stdout);
  expect(Buffer.from(config.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(operator.cert);
  expect(config.contexts[0].context.namespace).toBe('default');
  expect(existsSync(join(server.dataDir, 'admin-tls.pem'))).toBe(false);
  const user = new KubectlUser(work, r.stdout);
  const ns = await user.run(['get', 'namespaces', '-o', 'name']);
  expect(ns.stderr).toBe('');
  expect(ns.stdout).toBe('namespace/default\n');
});
