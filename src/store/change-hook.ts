// What a committed change to a key was, told to whoever records work for it (notifications,
// replication: src/events) inside the change's own transaction, so that the work is recorded
// exactly when the change commits. The store knows nothing of that work; it only calls the hook.
import type { MetaTx } from './meta/metadata.ts';
import type { ObjectRecord } from './types.ts';

/** Who caused a change (from the request, or from the server itself, e.g. lifecycle). */
export interface ChangeOrigin {
  /** the AWS operation name: PutObject, CopyObject, DeleteObjects, PutObjectTagging, ... */
  operation: string;
  requestId: string;
  sourceIp: string;
  /** the requester's principal id (organisation:user), or 'Anonymous' */
  principalId: string;
}

export type ObjectChange =
  /** a new current version (PUT, POST, copy, multipart completion) */
  | { type: 'created'; record: ObjectRecord }
  /** a version or marker removed, or a delete marker created */
  | { type: 'removed'; bucket: string; key: string; versionId: string | undefined; markerCreated: boolean; removed: ObjectRecord | undefined }
  /** a version's metadata changed (tags, ACL) */
  | { type: 'meta'; record: ObjectRecord };

export type ChangeHook = (tx: MetaTx, change: ObjectChange, origin: ChangeOrigin | undefined) => Promise<void>;
