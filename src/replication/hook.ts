// Which versions a committed change replicates: a new version whose key and tags a rule of the
// bucket's replication configuration matches (the highest priority wins), and a delete marker
// when that rule replicates markers. Replicas themselves are never replicated again. The row is
// keyed by source key, so a key's versions arrive in the order they were written.
import type { OutboxEntry } from '../outbox/outbox.ts';
import type { ChangeOrigin, ObjectChange } from '../store/change-hook.ts';
import type { BucketRecord } from '../store/types.ts';
import { ruleFor } from './config.ts';
import { replicateKind, type ReplicatePayload } from './deliver.ts';

export function replicationEntry(bucket: BucketRecord | undefined, change: ObjectChange, origin: ChangeOrigin | undefined): OutboxEntry | undefined {
  const config = bucket?.config?.replication;
  if (!config || origin?.operation === 'ReplicateObject' || change.type === 'meta') return undefined;
  const key = change.type === 'removed' ? change.key : change.record.key;
  const tags = change.type === 'created' ? (change.record.meta.tags ?? []) : [];
  const rule = ruleFor(config, key, tags);
  if (!rule) return undefined;
  let payload: ReplicatePayload;
  if (change.type === 'created') {
    if (!change.record.versionId) return undefined;
    payload = { bucket: bucket!.name, key, versionId: change.record.versionId, marker: false, destinationRegion: rule.destinationRegion, destinationBucket: rule.destinationBucket, storageClass: rule.storageClass };
  } else {
    if (!change.markerCreated || !rule.deleteMarkers || !change.versionId || change.versionId === 'null') return undefined;
    payload = { bucket: bucket!.name, key, versionId: change.versionId, marker: true, destinationRegion: rule.destinationRegion, destinationBucket: rule.destinationBucket };
  }
  return { kind: replicateKind, key: `replicate:${bucket!.name}/${key}`, payload: JSON.stringify(payload) };
}
