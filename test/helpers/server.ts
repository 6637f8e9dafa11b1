// Start a real Strata server for a test: ephemeral port, temporary data root, known bootstrap
// credentials. Clients talk to it over real HTTP.
import { S3Client, type S3ClientConfig, type S3ServiceException } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type StrataConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/main.ts';
import { freshDatabase } from './postgres.ts';

export const testAccessKey = 'STRATATESTADMINKEY01';
export const testSecretKey = 'strata-test-secret-key-0123456789abcdefgh';

export interface TestServer extends RunningServer {
  dataDir: string;
  accessKey: string;
  secretKey: string;
  client(overrides?: Partial<S3ClientConfig>): S3Client;
  stop(): Promise<void>;
}

/**
 * The metadata engine of test servers: SQLite, or with STRATA_TEST_METADATA=postgres (the
 * vitest project "postgres") a fresh database on the run's PostgreSQL server for each server.
 */
async function metadataOverrides(): Promise<Partial<StrataConfig>> {
  if (process.env.STRATA_TEST_METADATA !== 'postgres') return {};
  return { metadataUrl: await freshDatabase() };
}

export async function startTestServer(overrides: Partial<StrataConfig> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-test-'));
  const config = {
    ...(await metadataOverrides()),
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

/** Write an s3cmd configuration for `server` (path-style on 127.0.0.1) to `path`. */
export function writeS3cmdConfig(path: string, server: Pick<TestServer, 'port' | 'accessKey' | 'secretKey'>): void {
  const hostPort = `127.0.0.1:${server.port}`;
  writeFileSync(
    path,
    [
      '[default]',
      `access_key = ${server.accessKey}`,
      `secret_key = ${server.secretKey}`,
      `host_base = ${hostPort}`,
      `host_bucket = ${hostPort}`,
      'use_https = False',
      'signature_v2 = False',
      'bucket_location = default',
      '',
    ].join('\n'),
  );
}

/** The error an SDK call fails with; a call that succeeds fails the test. */
export async function sdkError(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (err) {
    return err as S3ServiceException;
  }
  throw new Error('expected an error, but the request succeeded');
}
