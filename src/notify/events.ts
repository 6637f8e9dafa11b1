// S3 event names and messages. Messages are AWS's event structure, version 2.1: one record per
// message, as S3 sends them, so that code written against S3 notifications reads them unchanged.
import type { ChangeOrigin, ObjectChange } from '../store/change-hook.ts';

/** Event types a configuration may name (AWS's list, as far as Strata has the operations). */
export const eventNames = new Set([
  's3:ObjectCreated:*', 's3:ObjectCreated:Put', 's3:ObjectCreated:Post', 's3:ObjectCreated:Copy', 's3:ObjectCreated:CompleteMultipartUpload',
  's3:ObjectRemoved:*', 's3:ObjectRemoved:Delete', 's3:ObjectRemoved:DeleteMarkerCreated',
  's3:ObjectTagging:*', 's3:ObjectTagging:Put', 's3:ObjectTagging:Delete',
  's3:ObjectAcl:Put',
  's3:LifecycleExpiration:*', 's3:LifecycleExpiration:Delete', 's3:LifecycleExpiration:DeleteMarkerCreated',
  's3:Replication:*', 's3:Replication:OperationFailedReplication', 's3:Replication:OperationMissedThreshold',
  's3:Replication:OperationReplicatedAfterThreshold', 's3:Replication:OperationNotTracked',
  's3:ObjectRestore:*', 's3:ObjectRestore:Post', 's3:ObjectRestore:Completed', 's3:ObjectRestore:Delete',
  's3:ReducedRedundancyLostObject', 's3:IntelligentTiering', 's3:LifecycleTransition',
]);

const createdBy: Record<string, string> = {
  PutObject: 'ObjectCreated:Put',
  PostObject: 'ObjectCreated:Post',
  CopyObject: 'ObjectCreated:Copy',
  CompleteMultipartUpload: 'ObjectCreated:CompleteMultipartUpload',
  ReplicateObject: 'ObjectCreated:Put',
};
const metaBy: Record<string, string> = {
  PutObjectTagging: 'ObjectTagging:Put',
  DeleteObjectTagging: 'ObjectTagging:Delete',
  PutObjectAcl: 'ObjectAcl:Put',
  // src/replication marks a version FAILED with this origin
  ReplicationFailed: 'Replication:OperationFailedReplication',
};

/** The event a change is (without the "s3:" prefix, as records name it), or undefined for none. */
export function eventOf(change: ObjectChange, origin: ChangeOrigin | undefined): string | undefined {
  const operation = origin?.operation ?? '';
  if (change.type === 'created') return createdBy[operation] ?? 'ObjectCreated:Put';
  if (change.type === 'meta') return metaBy[operation];
  const family = operation === 'LifecycleExpiration' ? 'LifecycleExpiration' : 'ObjectRemoved';
  // A delete that creates a marker is DeleteMarkerCreated; removing a version (or a marker) is Delete.
  return `${family}:${change.markerCreated ? 'DeleteMarkerCreated' : 'Delete'}`;
}

/** Does a configured event type (s3:ObjectCreated:*, s3:ObjectCreated:Put) cover `event`? */
export function eventMatches(configured: string, event: string): boolean {
  const name = configured.slice(3); // without "s3:"
  return name === event || (name.endsWith(':*') && event.startsWith(name.slice(0, -1)));
}

/** Keys in event records are URL-encoded as S3 does (form encoding: a space is "+"; "/" stays). */
function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

let lastSequencer = 0n;
/** Increasing within the process; S3's sequencer orders events of one key (hex, compared as strings of equal length). */
function sequencer(): string {
  let next = BigInt(Date.now()) * 1000n;
  if (next <= lastSequencer) next = lastSequencer + 1n;
  lastSequencer = next;
  return next.toString(16).toUpperCase().padStart(16, '0');
}

export interface EventRecordInput {
  region: string;
  bucket: string;
  bucketOwner: string;
  configurationId: string;
  event: string;
  change: ObjectChange;
  origin: ChangeOrigin | undefined;
  opaqueData?: string | null;
}

export function eventRecord(i: EventRecordInput): Record<string, unknown> {
  const c = i.change;
  const key = c.type === 'removed' ? c.key : c.record.key;
  const object: Record<string, unknown> = { key: encodeKey(key) };
  if (c.type !== 'removed') {
    object.size = c.record.size;
    object.eTag = c.record.etag.replace(/"/g, '');
    if (c.record.versionId) object.versionId = c.record.versionId;
  } else if (c.versionId !== undefined) {
    object.versionId = c.versionId;
  }
  object.sequencer = sequencer();
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: i.region,
    eventTime: new Date().toISOString(),
    eventName: i.event,
    userIdentity: { principalId: i.origin?.principalId ?? 'Strata' },
    requestParameters: { sourceIPAddress: i.origin?.sourceIp ?? '' },
    responseElements: { 'x-amz-request-id': i.origin?.requestId ?? '', 'x-amz-id-2': i.origin?.requestId ?? '' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: i.configurationId,
      bucket: { name: i.bucket, ownerIdentity: { principalId: i.bucketOwner }, arn: `arn:aws:s3:::${i.bucket}` },
      object,
    },
    ...(i.opaqueData ? { opaqueData: i.opaqueData } : {}),
  };
}

/** The message S3 sends to each new destination when a configuration is set. */
export function testEvent(bucket: string, requestId: string): Record<string, unknown> {
  return { Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: bucket, RequestId: requestId, HostId: requestId };
}
