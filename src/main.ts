// Start a Strata server: open the identity store and every region's store, recover from any
// crash, bootstrap the first organisation and key, listen, and shut down gracefully.
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { startAdminServer, type RunningAdminServer } from './admin/server.ts';
import { adminTls } from './kube/certificate.ts';
import { createAccelService } from './accel/index.ts';
import { startEvents } from './events/index.ts';
import { buildApp } from './app.ts';
import type { StrataConfig } from './config.ts';
import type { Services } from './ops/operation.ts';
import { generateCredentials, loadOrCreateMasterKey, openIdentityStore } from './identity/identity-store.ts';
import { repairDataRoots } from './store/file-modes.ts';
import { openRegionStores, type RegionStores } from './store/open.ts';
import { startLifecycleWorkers } from './lifecycle/worker.ts';

export const bootstrapOrg = 'default';
export const bootstrapUser = 'admin';

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  /** e.g. http://127.0.0.1:9000 */
  endpoint: string;
  port: number;
  /** the HTTPS listener, when a certificate is configured, e.g. https://127.0.0.1:9443 */
  tlsEndpoint?: string;
  tlsPort?: number;
  /** the admin API listener (JSON, bearer tokens), e.g. http://127.0.0.1:9001 */
  admin: { endpoint: string; port: number };
  close(): Promise<void>;
}

export async function openServices(config: StrataConfig): Promise<Services & { stores: RegionStores }> {
  const stores = await openRegionStores(config, { recover: true });
  try {
    // With PostgreSQL, identity shares the regions' database (one pool per process).
    const identity = await openIdentityStore({ dataDir: config.dataDir, masterKey: loadOrCreateMasterKey(config.dataDir), database: stores.database });
    return { config, identity, regions: stores.regions, stores };
  } catch (error) {
    await stores.close();
    throw error;
  }
}

export interface BootstrapResult {
  accessKey: string;
  /** present only when the key was created now (shown once) */
  secretKey?: string;
}

const bootstrapKey = { org: bootstrapOrg, user: bootstrapUser, namespace: bootstrapOrg, level: 'full' as const, secretName: `${bootstrapOrg}-${bootstrapUser}-obj-store-creds` };

/**
 * The first start creates the bootstrap organisation and its `full` key. With
 * STRATA_ADMIN_ACCESS_KEY/SECRET_KEY set, that key is ensured to exist with those values.
 * One transaction: nodes starting together on one database bootstrap once between them.
 */
export function bootstrap(services: Services): Promise<BootstrapResult | undefined> {
  const { identity, config } = services;
  return identity.transaction(async (tx) => {
    if (config.adminAccessKey && config.adminSecretKey) {
      if (await tx.keyByAccessKey(config.adminAccessKey)) {
        if ((await tx.secretOf(config.adminAccessKey)) !== config.adminSecretKey) {
          throw new Error('STRATA_ADMIN_ACCESS_KEY exists with a different secret; refusing to start');
        }
        return { accessKey: config.adminAccessKey };
      }
      await tx.addKey({ ...bootstrapKey, accessKey: config.adminAccessKey, secretKey: config.adminSecretKey });
      return { accessKey: config.adminAccessKey };
    }
    if ((await tx.listKeys()).length > 0) return undefined;
    const creds = generateCredentials();
    await tx.addKey({ ...bootstrapKey, accessKey: creds.accessKey, secretKey: creds.secretKey });
    return creds;
  });
}

/**
 * The first start also creates an organisation-admin API token (all namespaces) for the admin
 * API, returned here once; only its hash is stored. Nothing is created once any token exists
 * (revoked ones included): further tokens come from `strata token create`.
 */
export async function bootstrapAdminToken(services: Services): Promise<string | undefined> {
  return (await services.identity.tokens.createFirst({ name: 'bootstrap', namespaces: ['*'], createdBy: 'bootstrap' }))?.token;
}

/** adminPort -1 = the S3 port + 1 (ephemeral when the S3 port is ephemeral). */
function adminPortFor(config: StrataConfig, s3Port: number): number {
  if (config.adminPort >= 0) return config.adminPort;
  if (config.port === 0) return 0;
  if (s3Port + 1 > 65535) throw new Error('the admin API port would be 65536; set STRATA_ADMIN_PORT');
  return s3Port + 1;
}

/**
 * How far V8 lets the old generation grow past what the last full collection kept, in percent.
 * V8's own factor follows its estimate of the allocation rate on its heap.
 *
 * Why: every request body arrives as 64 KiB ArrayBuffers from Node's HTTP parser, which V8
 * counts as external memory, and external memory allocated since the last full collection
 * counts against the old generation's limit. Strata allocates little on its own JavaScript
 * heap, so V8 may judge the allocation rate low and set a limit only about 20 MB above a heap
 * of about 18 MB. During large uploads, buffers in flight then use that headroom up within tens
 * of milliseconds, whatever their lifetime: a full collection followed about every 75 ms
 * (32 during 40 uploads of 64 MiB), each with about 80 ms of concurrent marking on helper
 * threads. Whether a server process fell into that state varied from run to run.
 * Measured (16 concurrent 64 MiB uploads, about 50 per run): full collections 14 at 150%,
 * 3 at 200%, 1 at 300%, 0-1 at 400%; at 400% against V8's own factor in that state, a quarter
 * less CPU per upload (interleaved A/B). 4 KiB PUTs cost the same within the noise at 200-300%.
 * V8 reads the factor each time it recomputes its limits, so setting it at start-up is enough.
 */
const HEAP_GROWING_PERCENT = 300;

export async function startServer(
  config: StrataConfig,
  options: { logger?: boolean } = {},
): Promise<RunningServer & { bootstrap?: BootstrapResult; /** the bootstrap admin API token, present only when created now (shown once) */ adminToken?: string }> {
  // An operator's own `node --heap-growing-percent=…` wins.
  if (!process.execArgv.some((arg) => arg.startsWith('--heap-growing-percent') || arg.startsWith('--heap_growing_percent'))) {
    setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  }
  // Data roots written before file-modes.ts were 0755/0644: owner-only before anything is opened.
  repairDataRoots(config.dataDir, [config.accelCacheDir]);
  const services = await openServices(config);
  let boot: BootstrapResult | undefined;
  let adminToken: string | undefined;
  try {
    boot = await bootstrap(services);
    adminToken = await bootstrapAdminToken(services);
  } catch (error) {
    await services.identity.close();
    await services.stores.close();
    throw error;
  }
  services.accel = createAccelService(services);
  services.events = startEvents(config, services.regions, services.stores.database);
  const app = buildApp({ services, logger: options.logger ?? true });
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  // HTTPS beside plain HTTP, on its own port, from the configured certificate.
  let tlsApp: FastifyInstance | undefined;
  let tlsPort: number | undefined;
  if (config.tlsCert && config.tlsKey) {
    tlsApp = buildApp({ services, logger: options.logger ?? true, https: { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } });
    await tlsApp.listen({ host: config.host, port: config.tlsPort });
    const tlsAddress = tlsApp.server.address();
    tlsPort = typeof tlsAddress === 'object' && tlsAddress ? tlsAddress.port : config.tlsPort;
  }
  let admin: RunningAdminServer;
  try {
    admin = await startAdminServer({ services, host: config.adminHost, port: adminPortFor(config, port), s3Port: () => port, tls: adminTls(config) });
  } catch (err) {
    await tlsApp?.close();
    await app.close();
    await services.accel?.close();
    await services.events?.close();
    await services.identity.close();
    await services.stores.close();
    throw err;
  }
  const lifecycle = startLifecycleWorkers(config, services.regions.values(), services.stores.database, (err) => app.log.warn({ err }, 'lifecycle pass failed'));
  let closing: Promise<void> | undefined;
  return {
    app,
    services,
    port,
    endpoint: `http://${host}:${port}`,
    tlsEndpoint: tlsPort !== undefined ? `https://${host}:${tlsPort}` : undefined,
    tlsPort,
    admin: { endpoint: admin.endpoint, port: admin.port },
    bootstrap: boot,
    adminToken,
    close() {
      // Stop accepting, let in-flight requests finish, then close the databases.
      closing ??= (async () => {
        await admin.close();
        await tlsApp?.close();
        await app.close();
        await lifecycle.stop();
        await services.accel?.close();
        // After the listeners: the last requests' access-log records are recorded on the way out.
        await services.events?.close();
        // Identity first: with PostgreSQL it shares the pool that closing the stores ends.
        await services.identity.close();
        await services.stores.close();
      })();
      return closing;
    },
  };
}
