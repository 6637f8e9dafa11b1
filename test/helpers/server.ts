// Start a real Strata server for a test: ephemeral port, temporary data root, known bootstrap
// credentials. Clients talk to it over real HTTP.
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type StrataConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/main.ts';

export const testAccessKey = 'STRATATESTADMINKEY01';
export const testSecretKey = 'strata-test-secret-key-0123456789abcdefgh';

export interface TestServer extends RunningServer {
  dataDir: string;
  accessKey: string;
  secretKey: string;
  client(overrides?: Partial<S3ClientConfig>): S3Client;
  stop(): Promise<void>;
}

export async function startTestServer(overrides: Partial<StrataConfig> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-test-'));
  const config = {
    ...loadConfig({ env: {}, flags: {} }),
    host: '127.0.0.1',
    port: 0,
    dataDir,
    adminAccessKey: testAccessKey,
    adminSecretKey: testSecretKey,
    logLevel: 'error' as const,
    ...overrides,
  };
  const server = await startServer(config, { logger: true });
  const clients: S3Client[] = [];
  return {
    ...server,
    dataDir,
    accessKey: testAccessKey,
    secretKey: testSecretKey,
    client(clientOverrides = {}) {
      const client = new S3Client({
        endpoint: server.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: testAccessKey, secretAccessKey: testSecretKey },
        ...clientOverrides,
      });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
