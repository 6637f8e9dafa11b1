// Writing a replica into the destination region's store with the source's version id: the
// version takes its place in the key's history by its sequence number (the front of the id), so
// it is current only if it is the newest there; a version already present (a redelivery) is left
// as it is. The destination's usage counts it, and its change hook is told (notifications on the
// destination bucket), as a ReplicateObject, which is never replicated again.
import type { ChangeOrigin } from '../store/change-hook.ts';
import type { MetaTx } from '../store/meta/metadata.ts';
import { addMarker, keepNoncurrent, lockVersioning } from '../store/object-history.ts';
import { rowParams } from '../store/object-rows.ts';
import type { RegionStore, UsageProbe } from '../store/region-store.ts';
import type { ObjectRecord } from '../store/types.ts';
import { usageProbe } from '../store/usage-probe.ts';
import { parseVersionId } from '../store/versions.ts';

export const replicaOrigin: ChangeOrigin = { operation: 'ReplicateObject', requestId: '', sourceIp: '', principalId: 'replication.s3.amazonaws.com' };

function seqOf(versionId: string): number {
  const selector = parseVersionId(versionId);
  if (selector.kind !== 'id') throw new Error('only versions with ids are replicated');
  return selector.seq;
}

/** Is the version already there; and is `seq` newer than everything the key has? */
async function placeOf(tx: MetaTx, bucket: string, key: string, seq: number): Promise<'present' | 'newest' | 'older'> {
  const current = await tx.lockKey(bucket, key);
  if (current?.seq === seq || (await tx.versionBySeq(bucket, key, seq))) return 'present';
  const newest = Math.max(current?.seq ?? 0, (await tx.newestVersion(bucket, key))?.seq ?? 0);
  return seq > newest ? 'newest' : 'older';
}

export async function installReplica(store: RegionStore, record: ObjectRecord, check: (usage: UsageProbe) => Promise<void>): Promise<'written' | 'present'> {
  const seq = seqOf(record.versionId!);
  const outcome = await store.meta.transaction(async (tx) => {
    if ((await lockVersioning(tx, record.bucket)) !== 'Enabled') throw new Error(`versioning is not enabled on ${record.bucket}`);
    const place = await placeOf(tx, record.bucket, record.key, seq);
    if (place === 'present') return 'present' as const;
    await check(usageProbe(tx, record.ownerOrg));
    await store.blobs.persistInline(tx, record.blob);
    const row = rowParams(record, seq);
    if (place === 'older') await tx.insertVersion({ ...row, delete_marker: 0 });
    else {
      const current = await tx.object(record.bucket, record.key);
      if (current) await keepNoncurrent(tx, current);
      await tx.putObject(row);
    }
    await tx.addUsage(record.ownerOrg, record.size, 1);
    await store.changeHook?.(tx, { type: 'created', record }, replicaOrigin);
    return 'written' as const;
  });
  store.blobs.committedInline(record.blob);
  return outcome;
}

export async function installMarker(store: RegionStore, bucket: string, key: string, versionId: string, ownerOrg: string): Promise<void> {
  const seq = seqOf(versionId);
  await store.meta.transaction(async (tx) => {
    if ((await lockVersioning(tx, bucket)) !== 'Enabled') throw new Error(`versioning is not enabled on ${bucket}`);
    const place = await placeOf(tx, bucket, key, seq);
    if (place === 'present') return;
    if (place === 'newest') {
      const current = await tx.object(bucket, key);
      if (current) {
        await tx.deleteObject(bucket, key);
        await keepNoncurrent(tx, current);
      }
    }
    await addMarker(tx, bucket, key, seq, versionId, ownerOrg);
  });
}
