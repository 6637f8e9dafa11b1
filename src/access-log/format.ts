// AWS's server access log record, one line per request, fields separated by spaces, "-" for an
// empty field, quotes around the request line, referrer and user agent, brackets around the
// time; and Ceph RGW's short Journal record (owner, bucket, time, operation, key, size, version,
// ETag) for object changes.

export interface AccessRecord {
  bucketOwner: string;
  bucket: string;
  time: Date;
  remoteIp: string;
  requester: string;
  requestId: string;
  operation: string;
  key: string | undefined;
  requestUri: string;
  status: number;
  errorCode: string | undefined;
  bytesSent: number;
  objectSize: number | undefined;
  totalMs: number;
  turnAroundMs: number | undefined;
  referrer: string | undefined;
  userAgent: string | undefined;
  versionId: string | undefined;
  hostId: string;
  sigVersion: string | undefined;
  cipherSuite: string | undefined;
  authType: string | undefined;
  hostHeader: string | undefined;
  tlsVersion: string | undefined;
  etag: string | undefined;
  aclRequired: boolean;
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** [06/Feb/2019:00:00:38 +0000] */
export function logTime(t: Date): string {
  return `[${two(t.getUTCDate())}/${months[t.getUTCMonth()]}/${t.getUTCFullYear()}:${two(t.getUTCHours())}:${two(t.getUTCMinutes())}:${two(t.getUTCSeconds())} +0000]`;
}

/** A field as it appears: "-" when empty; no space, quote or line break can split a record. */
function field(value: string | number | undefined): string {
  if (value === undefined || value === '') return '-';
  return String(value).replace(/[\s"]/g, (c) => encodeURIComponent(c));
}

function quoted(value: string | undefined): string {
  if (value === undefined || value === '') return '"-"';
  return `"${value.replace(/["\\\r\n]/g, (c) => encodeURIComponent(c))}"`;
}

/** Keys are URL-encoded in records, as AWS writes them. */
function keyField(key: string | undefined): string {
  return key === undefined ? '-' : encodeURIComponent(key).replace(/%2F/g, '/');
}

export function standardLine(r: AccessRecord): string {
  return [
    field(r.bucketOwner),
    field(r.bucket),
    logTime(r.time),
    field(r.remoteIp),
    field(r.requester),
    field(r.requestId),
    field(r.operation),
    keyField(r.key),
    quoted(r.requestUri),
    field(r.status),
    field(r.errorCode),
    r.bytesSent > 0 ? String(r.bytesSent) : '-',
    field(r.objectSize),
    field(Math.round(r.totalMs)),
    field(r.turnAroundMs === undefined ? undefined : Math.round(r.turnAroundMs)),
    quoted(r.referrer),
    quoted(r.userAgent),
    field(r.versionId),
    field(r.hostId),
    field(r.sigVersion),
    field(r.cipherSuite),
    field(r.authType),
    field(r.hostHeader),
    field(r.tlsVersion),
    '-', // access point ARN: Strata has no access points
    r.aclRequired ? 'Yes' : '-',
  ].join(' ');
}

export function journalLine(r: AccessRecord): string {
  return [field(r.bucketOwner), field(r.bucket), logTime(r.time), field(r.operation), keyField(r.key), field(r.objectSize), field(r.versionId), field(r.etag?.replace(/"/g, ''))].join(' ');
}

/** AWS's operation names: REST.<method>.<resource>, the resource named by the sub-resource. */
const resourceBySub: [string, string][] = [
  ['uploadId', 'UPLOAD'], ['uploads', 'UPLOADS'], ['acl', 'ACL'], ['tagging', 'TAGGING'], ['versioning', 'VERSIONING'],
  ['policy', 'BUCKETPOLICY'], ['logging', 'LOGGING_STATUS'], ['notification', 'NOTIFICATION'], ['location', 'LOCATION'],
  ['versions', 'BUCKETVERSIONS'], ['accelerate', 'ACCELERATE'], ['requestPayment', 'REQUEST_PAYMENT'], ['delete', 'DELETE_MULTI_OBJECT'],
  ['cors', 'CORS'], ['lifecycle', 'LIFECYCLE'], ['website', 'WEBSITE'], ['replication', 'REPLICATION'], ['attributes', 'OBJECT_ATTRIBUTES'],
  ['restore', 'OBJECT_RESTORE'], ['publicAccessBlock', 'PUBLIC_ACCESS_BLOCK'], ['policyStatus', 'BUCKET_POLICY_STATUS'],
];

/** A copy is logged as the write it is (REST.PUT.OBJECT, REST.PUT.PART), as Ceph RGW logs it. */
export function operationName(method: string, query: Map<string, string>, hasKey: boolean): string {
  if (method === 'PUT' && query.has('uploadId')) return 'REST.PUT.PART';
  for (const [sub, name] of resourceBySub) if (query.has(sub)) return `REST.${method}.${name}`;
  return `REST.${method}.${hasKey ? 'OBJECT' : 'BUCKET'}`;
}
