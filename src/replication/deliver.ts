// Replicating one version (or delete marker) to its destination: the bytes are copied blob by
// blob into the destination region's store, and the version is installed there with the same
// version id, metadata, tags and ACL, marked REPLICA; the source version is then marked
// COMPLETED. A region served by another process is reached through remote.ts; one that cannot
// be reached now is retried (its process may come back); a
// destination that cannot ever take it (gone, unversioned) and SSE-C sources (whose key Strata
// never keeps) mark the source FAILED.
import { Readable } from 'node:stream';
import type { OutboxRow } from '../outbox/outbox.ts';
import type { Deliverer } from '../outbox/worker.ts';
import { quotaGuard } from '../quota/quota.ts';
import type { RegionStore } from '../store/region-store.ts';
import type { ObjectRecord } from '../store/types.ts';
import type { ChangeOrigin } from '../store/change-hook.ts';
import { installMarker, installReplica } from './install.ts';
import type { RemoteRegions } from './remote.ts';

export const replicateKind = 'replicate';

export interface ReplicatePayload {
  bucket: string;
  key: string;
  versionId: string;
  marker: boolean;
  destinationRegion: string;
  destinationBucket: string;
  storageClass?: string;
}

function bytesOf(store: RegionStore, record: ObjectRecord): Readable {
  const blobs = record.blob ? [record.blob] : (record.manifest ?? []).map((p) => p.blob);
  return Readable.from((async function* () {
    for (const blob of blobs) yield* store.blobs.read(blob);
  })());
}

/** A failure is told as s3:Replication:OperationFailedReplication to the source bucket's topics. */
const failedOrigin: ChangeOrigin = { operation: 'ReplicationFailed', requestId: '', sourceIp: '', principalId: 'replication.s3.amazonaws.com' };

async function setStatus(store: RegionStore, p: ReplicatePayload, status: 'COMPLETED' | 'FAILED'): Promise<void> {
  if (p.marker) return; // markers carry no status
  const origin = status === 'FAILED' ? failedOrigin : undefined;
  await store.updateObjectMeta(p.bucket, p.key, (meta) => ({ ...meta, replicationStatus: status }), p.versionId, origin).catch(() => undefined);
}

export function replicationDeliverer(source: RegionStore, regions: Map<string, RegionStore>, remote: RemoteRegions, options: { retryForMs: number; defaultQuotaBytes: number }): Deliverer {
  async function deliverRemote(p: ReplicatePayload): Promise<'delivered' | 'dropped'> {
    const state = await remote.bucket(p.destinationRegion, p.destinationBucket);
    if (!state) throw new Error(`region ${p.destinationRegion} does not answer`);
    if (!state.exists || state.versioning !== 'Enabled') {
      await setStatus(source, p, 'FAILED');
      return 'dropped';
    }
    if (p.marker) {
      await remote.send(p.destinationRegion, p.destinationBucket, p.key, p.versionId, undefined, undefined);
      return 'delivered';
    }
    const entry = await source.getVersion(p.bucket, p.key, p.versionId);
    if (!entry || entry.isDeleteMarker) return 'dropped';
    const record = entry.record;
    if (record.sse) {
      await setStatus(source, p, 'FAILED');
      return 'dropped';
    }
    const meta = { ...record.meta, replicationStatus: 'REPLICA' as const, ...(p.storageClass ? { storageClass: p.storageClass } : {}) };
    await remote.send(p.destinationRegion, p.destinationBucket, p.key, p.versionId, { etag: record.etag, lastModified: record.lastModified, meta, size: record.size }, () => bytesOf(source, record));
    await setStatus(source, p, 'COMPLETED');
    return 'delivered';
  }

  return {
    batchSize: 1,
    retryForMs: options.retryForMs,
    nameOf: (row: OutboxRow) => (JSON.parse(row.payload) as ReplicatePayload).destinationBucket,
    async deliver([row]: OutboxRow[]) {
      const p = JSON.parse(row.payload) as ReplicatePayload;
      const destination = regions.get(p.destinationRegion);
      if (!destination && remote.has(p.destinationRegion)) return deliverRemote(p);
      if (!destination) throw new Error(`region ${p.destinationRegion} is not reachable from here`);
      const target = await destination.getBucket(p.destinationBucket);
      if (!target || target.config?.versioning !== 'Enabled') {
        await setStatus(source, p, 'FAILED');
        return 'dropped';
      }
      if (p.marker) {
        await installMarker(destination, p.destinationBucket, p.key, p.versionId, target.ownerOrg);
        return 'delivered';
      }
      const entry = await source.getVersion(p.bucket, p.key, p.versionId);
      if (!entry || entry.isDeleteMarker) return 'dropped'; // removed since: nothing to copy
      const record = entry.record;
      if (record.sse) {
        await setStatus(source, p, 'FAILED');
        return 'dropped';
      }
      const quota = await quotaGuard(destination, target.ownerOrg, options.defaultQuotaBytes, 0);
      quota.beforeRead(record.size);
      const written = await destination.blobs.write(bytesOf(source, record), [], { declaredSize: record.size });
      const replica: ObjectRecord = {
        ...record,
        bucket: p.destinationBucket,
        ownerOrg: target.ownerOrg,
        blob: written.id,
        manifest: null,
        meta: { ...record.meta, replicationStatus: 'REPLICA', ...(p.storageClass ? { storageClass: p.storageClass } : {}) },
      };
      try {
        const outcome = await installReplica(destination, replica, (usage) => quota.atCommit(0, record.size, usage));
        if (outcome === 'present') await destination.blobs.remove(written.id);
      } catch (error) {
        await destination.blobs.remove(written.id).catch(() => undefined);
        throw error;
      }
      await destination.durable();
      await setStatus(source, p, 'COMPLETED');
      return 'delivered';
    },
  };
}
