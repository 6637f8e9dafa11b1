// The seed's kubectl walkthrough with the pinned clients, oldest to newest (kubectl.1.27,
// kubectl.1.28 as the issue names, kubectl.1.33), each with a fresh KUBECONFIG and
// KUBECACHEDIR: what one client version asks of the server (discovery, OpenAPI, Tables, merge
// patches, delete-and-wait) must work for all. Fails, never skips, when a client is missing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collapse, kubeconfigFor, KubectlUser, pinnedKubectl, seedManifest } from '../helpers/kubectl.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let work: string;
let kubeconfig: string;

beforeAll(async () => {
  server = await startTestServer();
  work = mkdtempSync(join(tmpdir(), 'strata-kubectl-versions-'));
  kubeconfig = await kubeconfigFor(server, (server as TestServer & { adminToken?: string }).adminToken!, 'my-namespace');
  writeFileSync(join(work, 'object-storage-crd.yaml'), seedManifest);
  writeFileSync(join(work, 'read.yaml'), seedManifest.replace('access: full', 'access: read'));
});
afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

for (const version of ['1.27', '1.28', '1.33']) {
  describe(`kubectl.${version}`, () => {
    it('runs the seed walkthrough with the exact outputs', async () => {
      const user = new KubectlUser(work, kubeconfig, pinnedKubectl(version));
      expect((await user.run(['version', '--client'])).stdout).toContain(`v${version}.`);
      const apply = await user.sh('kubectl apply -f object-storage-crd.yaml');
      expect(apply.stderr).toBe('');
      expect(apply.stdout).toBe('user.objectstorage.coreweave.com/my-example created\n');
      expect(collapse((await user.sh('kubectl get users.objectstorage.coreweave.com')).stdout)).toBe(
        'NAME OWNER ACCESS OBJECT STORAGE ACCESS OBJECT STORAGE ID\nmy-example my-namespace full ACTIVE my-namespace:my-example',
      );
      expect(collapse((await user.sh('kubectl get secrets')).stdout)).toMatch(/^NAME TYPE DATA AGE\nmy-example-secret Opaque 2 \d+s$/);
      const accessKeyId = (await user.sh(`kubectl get secrets my-example-secret \\\n-o jsonpath='{.data.accessKey}' | base64 --decode`)).stdout;
      const secretAccessKey = (await user.sh(`kubectl get secrets my-example-secret \\\n-o jsonpath='{.data.secretKey}' | base64 --decode`)).stdout;
      const client = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
      expect((await client.send(new ListBucketsCommand({}))).$metadata.httpStatusCode).toBe(200);
      client.destroy();

      expect((await user.run(['apply', '-f', 'object-storage-crd.yaml'])).stdout).toBe('user.objectstorage.coreweave.com/my-example unchanged\n');
      expect((await user.run(['apply', '-f', 'read.yaml'])).stdout).toBe('user.objectstorage.coreweave.com/my-example configured\n');
      expect((await user.run(['get', 'users', 'my-example', '-o', 'jsonpath={.spec.access}'])).stdout).toBe('read');

      const del = await user.sh('kubectl delete users.objectstorage.coreweave.com my-example');
      expect(del.stdout).toBe('user.objectstorage.coreweave.com "my-example" deleted\n');
      const after = await user.sh('kubectl get secrets');
      expect(after.stderr).toBe('No resources found in my-namespace namespace.\n');
    });
  });
}
