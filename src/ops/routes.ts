// The route table: (method, scope, sub-resource, header) → operation. The first matching row
// wins, so specific rows come before general ones. A request that names a sub-resource Strata
// does not implement answers NotImplemented instead of falling through to a wrong operation.
import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from '../errors.ts';
import * as bucketOps from './bucket.ts';
import * as bucketPolicyOps from './bucket-policy.ts';
import * as aclOps from './acl.ts';
import { ListObjects, ListObjectsV2, ListObjectVersions } from './list-objects.ts';
import * as multipart from './multipart.ts';
import { CopyObject } from './object-copy.ts';
import { DeleteObject, DeleteObjects } from './object-delete.ts';
import { GetObject, HeadObject } from './object-get.ts';
import { PutObject } from './object-put.ts';
import * as tagging from './tagging.ts';
import { ListBuckets } from './service.ts';
import * as publicAccess from './public-access-block.ts';
import { GetObjectAttributes } from './object-attributes.ts';
import { PostObject } from './post-object.ts';
import { CorsPreflight } from './cors-preflight.ts';
import { DeleteBucketCors, GetBucketCors, PutBucketCors } from './cors.ts';
import { GetBucketVersioning, PutBucketVersioning } from './versioning.ts';
import { RestoreObject } from './restore.ts';
import { GetObjectTorrent } from './torrent.ts';
import { GetBucketAccelerateConfiguration, PutBucketAccelerateConfiguration } from './accelerate.ts';
import { GetBucketRequestPayment, PutBucketRequestPayment } from './request-payment.ts';
import { GetBucketNotificationConfiguration, PutBucketNotificationConfiguration } from './bucket-notification.ts';
import { GetBucketLogging, PostBucketLogging, PutBucketLogging } from './bucket-logging.ts';
import { DeleteBucketReplication, GetBucketReplication, PutBucketReplication } from './bucket-replication.ts';
import { DeleteBucketWebsite, GetBucketWebsite, PutBucketWebsite } from './website.ts';
import { DeleteBucketLifecycle, GetBucketLifecycleConfiguration, PutBucketLifecycleConfiguration } from './lifecycle.ts';
import type { Operation } from './operation.ts';
import type { ResolvedRequest } from '../addressing.ts';

type Scope = 'service' | 'bucket' | 'object';

interface Route {
  method: string;
  scope: Scope;
  /** query parameter that must be present */
  sub?: string;
  /** header that must be present */
  header?: string;
  /** query parameter value test, e.g. list-type=2 */
  when?: (query: Map<string, string>) => boolean;
  op: Operation;
}

export const routes: Route[] = [
  { method: 'GET', scope: 'service', op: ListBuckets },

  { method: 'GET', scope: 'bucket', sub: 'location', op: bucketOps.GetBucketLocation },
  { method: 'GET', scope: 'bucket', sub: 'versioning', op: GetBucketVersioning },
  { method: 'GET', scope: 'bucket', sub: 'accelerate', op: GetBucketAccelerateConfiguration },
  { method: 'GET', scope: 'bucket', sub: 'requestPayment', op: GetBucketRequestPayment },
  { method: 'GET', scope: 'bucket', sub: 'website', op: GetBucketWebsite },
  { method: 'GET', scope: 'bucket', sub: 'lifecycle', op: GetBucketLifecycleConfiguration },
  { method: 'GET', scope: 'bucket', sub: 'versions', op: ListObjectVersions },
  { method: 'GET', scope: 'bucket', sub: 'notification', op: GetBucketNotificationConfiguration },
  { method: 'GET', scope: 'bucket', sub: 'logging', op: GetBucketLogging },
  { method: 'GET', scope: 'bucket', sub: 'replication', op: GetBucketReplication },
  { method: 'GET', scope: 'bucket', sub: 'cors', op: GetBucketCors },
  { method: 'PUT', scope: 'bucket', sub: 'cors', op: PutBucketCors },
  { method: 'DELETE', scope: 'bucket', sub: 'cors', op: DeleteBucketCors },
  { method: 'GET', scope: 'bucket', sub: 'uploads', op: multipart.ListMultipartUploads },
  { method: 'GET', scope: 'bucket', sub: 'policy', op: bucketPolicyOps.GetBucketPolicy },
  { method: 'GET', scope: 'bucket', sub: 'acl', op: aclOps.GetBucketAcl },
  { method: 'GET', scope: 'bucket', sub: 'tagging', op: tagging.GetBucketTagging },
  { method: 'GET', scope: 'bucket', when: (q) => q.get('list-type') === '2', op: ListObjectsV2 },
  { method: 'GET', scope: 'bucket', op: ListObjects },
  { method: 'HEAD', scope: 'bucket', op: bucketOps.HeadBucket },
  { method: 'PUT', scope: 'bucket', sub: 'versioning', op: PutBucketVersioning },
  { method: 'PUT', scope: 'bucket', sub: 'lifecycle', op: PutBucketLifecycleConfiguration },
  { method: 'PUT', scope: 'bucket', sub: 'notification', op: PutBucketNotificationConfiguration },
  { method: 'PUT', scope: 'bucket', sub: 'logging', op: PutBucketLogging },
  { method: 'POST', scope: 'bucket', sub: 'logging', op: PostBucketLogging },
  { method: 'PUT', scope: 'bucket', sub: 'replication', op: PutBucketReplication },
  { method: 'DELETE', scope: 'bucket', sub: 'replication', op: DeleteBucketReplication },
  { method: 'PUT', scope: 'bucket', sub: 'accelerate', op: PutBucketAccelerateConfiguration },
  { method: 'PUT', scope: 'bucket', sub: 'requestPayment', op: PutBucketRequestPayment },
  { method: 'PUT', scope: 'bucket', sub: 'website', op: PutBucketWebsite },
  { method: 'PUT', scope: 'bucket', sub: 'policy', op: bucketPolicyOps.PutBucketPolicy },
  { method: 'PUT', scope: 'bucket', sub: 'acl', op: aclOps.PutBucketAcl },
  { method: 'PUT', scope: 'bucket', sub: 'tagging', op: tagging.PutBucketTagging },
  { method: 'PUT', scope: 'bucket', op: bucketOps.CreateBucket },
  { method: 'DELETE', scope: 'bucket', sub: 'policy', op: bucketPolicyOps.DeleteBucketPolicy },
  { method: 'DELETE', scope: 'bucket', sub: 'lifecycle', op: DeleteBucketLifecycle },
  { method: 'DELETE', scope: 'bucket', sub: 'tagging', op: tagging.DeleteBucketTagging },
  { method: 'DELETE', scope: 'bucket', sub: 'website', op: DeleteBucketWebsite },
  { method: 'DELETE', scope: 'bucket', op: bucketOps.DeleteBucket },
  { method: 'POST', scope: 'bucket', sub: 'delete', op: DeleteObjects },
  { method: 'GET', scope: 'bucket', sub: 'publicAccessBlock', op: publicAccess.GetPublicAccessBlock },
  { method: 'PUT', scope: 'bucket', sub: 'publicAccessBlock', op: publicAccess.PutPublicAccessBlock },
  { method: 'DELETE', scope: 'bucket', sub: 'publicAccessBlock', op: publicAccess.DeletePublicAccessBlock },
  { method: 'GET', scope: 'bucket', sub: 'policyStatus', op: publicAccess.GetBucketPolicyStatus },
  { method: 'POST', scope: 'bucket', when: (q) => q.size === 0 || [...q.keys()].every((k) => k === 'x-id'), op: PostObject },

  { method: 'PUT', scope: 'object', sub: 'uploadId', header: 'x-amz-copy-source', op: multipart.UploadPartCopy },
  { method: 'PUT', scope: 'object', sub: 'uploadId', op: multipart.UploadPart },
  { method: 'PUT', scope: 'object', sub: 'tagging', op: tagging.PutObjectTagging },
  { method: 'PUT', scope: 'object', sub: 'acl', op: aclOps.PutObjectAcl },
  { method: 'PUT', scope: 'object', header: 'x-amz-copy-source', op: CopyObject },
  { method: 'PUT', scope: 'object', op: PutObject },
  { method: 'GET', scope: 'object', sub: 'uploadId', op: multipart.ListParts },
  { method: 'GET', scope: 'object', sub: 'tagging', op: tagging.GetObjectTagging },
  { method: 'GET', scope: 'object', sub: 'acl', op: aclOps.GetObjectAcl },
  { method: 'GET', scope: 'object', sub: 'attributes', op: GetObjectAttributes },
  { method: 'GET', scope: 'object', sub: 'torrent', op: GetObjectTorrent },
  { method: 'GET', scope: 'object', op: GetObject },
  { method: 'HEAD', scope: 'object', op: HeadObject },
  { method: 'DELETE', scope: 'object', sub: 'uploadId', op: multipart.AbortMultipartUpload },
  { method: 'DELETE', scope: 'object', sub: 'tagging', op: tagging.DeleteObjectTagging },
  { method: 'DELETE', scope: 'object', op: DeleteObject },
  { method: 'POST', scope: 'object', sub: 'uploads', op: multipart.CreateMultipartUpload },
  { method: 'POST', scope: 'object', sub: 'uploadId', op: multipart.CompleteMultipartUpload },
  { method: 'POST', scope: 'object', sub: 'restore', op: RestoreObject },

  { method: 'OPTIONS', scope: 'bucket', op: CorsPreflight },
  { method: 'OPTIONS', scope: 'object', op: CorsPreflight },
];

/** Sub-resources S3 defines; any of them on a request no row matches is NotImplemented. */
const knownSubResources = new Set([
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'delete', 'encryption', 'intelligent-tiering', 'inventory',
  'legal-hold', 'lifecycle', 'location', 'logging', 'metadataTable', 'metrics', 'notification', 'object-lock',
  'ownershipControls', 'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'restore',
  'retention', 'select', 'tagging', 'torrent', 'uploadId', 'uploads', 'versioning', 'versions', 'website', 'renameObject',
]);

function matches(route: Route, method: string, scope: Scope, query: Map<string, string>, headers: IncomingHttpHeaders): boolean {
  if (route.method !== method || route.scope !== scope) return false;
  if (route.sub !== undefined && !query.has(route.sub)) return false;
  if (route.header !== undefined && headers[route.header] === undefined) return false;
  if (route.when && !route.when(query)) return false;
  // A row without a sub-resource must not swallow a request that names one (e.g. PUT ?cors).
  if (route.sub === undefined) {
    for (const name of query.keys()) if (knownSubResources.has(name)) return false;
  }
  return true;
}

export function routeRequest(method: string, target: ResolvedRequest, headers: IncomingHttpHeaders): Operation {
  const scope: Scope = target.bucket === undefined ? 'service' : target.key === undefined ? 'bucket' : 'object';
  for (const route of routes) {
    if (matches(route, method, scope, target.query, headers)) return route.op;
  }
  const named = [...target.query.keys()].find((n) => knownSubResources.has(n));
  if (named !== undefined) throw new S3Error('NotImplemented', `The ${named} sub-resource is not implemented for ${method} requests.`);
  throw new S3Error('MethodNotAllowed');
}
