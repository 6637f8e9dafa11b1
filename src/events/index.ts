// The event machinery of a server process: for every region, an outbox worker with its
// deliverers (notifications, access logs), and the store's change hook that records
// notification rows inside each change's transaction. With PostgreSQL, only the node holding a
// region's outbox lease delivers its rows; every node records them.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StrataConfig } from '../config.ts';
import type { PgDatabase } from '../store/meta/postgres.ts';
import type { RegionStore } from '../store/region-store.ts';
import { OutboxWorker, type Deliverer } from '../outbox/worker.ts';
import { notifyDeliverer, notifyKind } from '../notify/deliver.ts';
import { notificationEntries } from '../notify/hook.ts';
import { AccessLogRecorder } from '../access-log/recorder.ts';
import { accessLogDeliverer, accessLogKind, flushAccessLog, type AccessLogDeliverer } from '../access-log/deliver.ts';
import { replicationDeliverer, replicateKind } from '../replication/deliver.ts';
import { handleReplicationInternal, RemoteRegions } from '../replication/remote.ts';
import { deriveNodeKey } from '../accel/node-auth.ts';
import { loadOrCreateMasterKey } from '../identity/identity-store.ts';
import { regionEndpointMap } from '../config.ts';
import { replicationEntry } from '../replication/hook.ts';
import type { EventService } from './service.ts';

export type { EventService } from './service.ts';

export function startEvents(config: StrataConfig, regions: Map<string, RegionStore>, database: PgDatabase | undefined): EventService {
  const holder = randomBytes(8).toString('hex');
  const workers = new Map<string, OutboxWorker>();
  const topicsOf = (region: string) => regions.get(region)?.meta.topics;
  const retryForMs = config.eventRetrySeconds * 1000;
  const notify = notifyDeliverer(topicsOf, { timeoutMs: config.eventTimeoutSeconds * 1000, retryForMs });
  const logDeliverers = new Map<string, AccessLogDeliverer>();
  const nodeKey = deriveNodeKey(loadOrCreateMasterKey(config.dataDir));
  const remote = new RemoteRegions(new Map([...regionEndpointMap(config)].filter(([region]) => !regions.has(region))), nodeKey);
  const recorder = new AccessLogRecorder(regions, config, (region) => workers.get(region)?.wake());
  for (const [name, store] of regions) {
    const leaseName = `outbox:${name}`;
    let leaseUntil = 0;
    const logs = accessLogDeliverer(store, { retryForMs, defaultQuotaBytes: config.defaultQuotaBytes });
    logDeliverers.set(name, logs);
    const deliverers = new Map<string, Deliverer>([
      [notifyKind, notify],
      [accessLogKind, logs],
      [replicateKind, replicationDeliverer(store, regions, remote, { retryForMs, defaultQuotaBytes: config.defaultQuotaBytes })],
    ]);
    const worker = new OutboxWorker(store.meta.outbox, deliverers, {
      pollMs: 1000,
      backoffMaxMs: config.eventBackoffMaxSeconds * 1000,
      concurrency: 8,
      // Renewed well before it runs out (every poll), so that deliveries never overlap two holders.
      lease: database
        ? async () => {
            if (Date.now() < leaseUntil) return true;
            const held = await database.tryLease(leaseName, holder, 15_000);
            leaseUntil = held ? Date.now() + 5_000 : 0;
            return held;
          }
        : undefined,
      onError: (error) => process.stderr.write(`strata outbox ${name}: ${(error as Error).message}\n`),
    });
    workers.set(name, worker);
    store.changeHook = async (tx, change, origin) => {
      const bucketName = change.type === 'removed' ? change.bucket : change.record.bucket;
      const bucket = await store.getBucket(bucketName);
      if (change.type === 'removed' && origin?.operation === 'DeleteObjects' && bucket?.config?.logging) recorder.noteDeleted(origin.requestId, change.key, change.versionId);
      const entries = notificationEntries(name, bucket, change, origin);
      const replicate = replicationEntry(bucket, change, origin);
      if (replicate) {
        entries.push(replicate);
        // The new version says it is on its way (x-amz-replication-status: PENDING).
        if (change.type === 'created') {
          change.record.meta = { ...change.record.meta, replicationStatus: 'PENDING' };
          await tx.setObjectMeta(change.record.bucket, change.record.key, JSON.stringify(change.record.meta));
        }
      }
      if (entries.length === 0) return;
      await tx.enqueueOutbox(entries);
      worker.wake();
    };
    worker.start();
  }
  return {
    wake: (region) => workers.get(region)?.wake(),
    handleInternal: (raw, res, requestId) => handleReplicationInternal(regions, nodeKey, config.defaultQuotaBytes, raw, res, requestId),
    async findRemoteBucket(bucket) {
      for (const region of remote.regions()) {
        const state = await remote.bucket(region, bucket);
        if (state?.exists) return { region, versioning: state.versioning };
      }
      return undefined;
    },
    trace: (raw: IncomingMessage, res: ServerResponse, requestId: string) => recorder.trace(raw, res, requestId),
    flushAccessLog: async (region, target, prefix) => {
      await recorder.flush();
      const store = regions.get(region);
      const logs = logDeliverers.get(region);
      return store && logs ? flushAccessLog(store, target, prefix, logs) : [];
    },
    async close() {
      await recorder.close();
      for (const [name, store] of regions) {
        store.changeHook = undefined;
        await workers.get(name)?.stop();
        if (database) await database.releaseLease(`outbox:${name}`, holder).catch(() => undefined);
      }
    },
  };
}
