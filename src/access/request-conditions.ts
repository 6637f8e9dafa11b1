// The condition values a bucket policy is evaluated against, taken from the request: the
// global aws:* keys and the s3:* keys of the action (s3-semantics §1.6). AWS formats, not Ceph's:
// aws:CurrentTime is ISO-8601, aws:EpochTime epoch seconds, aws:SecureTransport always present.
import type { AccessRequest } from './request.ts';
import { CK, existingObjectTagKey, requestObjectTagKey, type ConditionValues, type ParsedPolicy } from '../policy/index.ts';
import { grantHeaders } from './acl-vocabulary.ts';

const listActions = new Set(['s3:listbucket', 's3:listbucketversions']);

/** The client address: the socket's, or X-Forwarded-For's first entry when the peer is a trusted proxy. */
export function sourceIpOf(ctx: Pick<AccessRequest, 'raw' | 'services'>): string {
  const remote = (ctx.raw.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const forwarded = ctx.raw.headers['x-forwarded-for'];
  if (forwarded && ctx.services.config.trustedProxies.includes(remote)) {
    const first = String(forwarded).split(',')[0].trim();
    if (first) return first.replace(/^::ffff:/, '');
  }
  return remote;
}

export interface ConditionExtras {
  /** tags the request sets (x-amz-tagging, or a PutObjectTagging body) */
  requestTags?: [string, string][];
  /** tags of the object acted on, when the policy mentions s3:ExistingObjectTag */
  existingTags?: () => [string, string][] | undefined;
  /** s3:prefix of a ListBucket check made on behalf of an object request (the object's key) */
  listPrefix?: string;
}

export function requestConditions(ctx: AccessRequest, action: string, policy: ParsedPolicy, extras: ConditionExtras = {}): ConditionValues {
  const values = new Map<string, string[]>();
  const set = (key: string, value: string | undefined) => {
    if (value !== undefined) values.set(key, [value]);
  };
  const header = (name: string) => {
    const v = ctx.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  };
  const now = new Date();
  set(CK.CurrentTime, now.toISOString().replace(/\.\d{3}Z$/, 'Z'));
  set(CK.EpochTime, String(Math.floor(now.getTime() / 1000)));
  set(CK.PrincipalType, ctx.principal ? 'User' : 'Anonymous');
  set(CK.SecureTransport, ctx.secureTransport ? 'true' : 'false');
  set(CK.SourceIp, ctx.sourceIp);
  set(CK.Referer, header('referer'));
  set(CK.UserAgent, header('user-agent'));
  if (ctx.principal) {
    set(CK.Username, ctx.principal.user);
    set(CK.Userid, `${ctx.principal.org}:${ctx.principal.user}`);
  }
  const act = action.toLowerCase();
  if (listActions.has(act)) {
    const prefix = extras.listPrefix ?? ctx.query.get('prefix');
    const delimiter = ctx.query.get('delimiter');
    if (prefix) set(CK.Prefix, prefix);
    if (delimiter) set(CK.Delimiter, delimiter);
    const maxKeys = Number(ctx.query.get('max-keys') ?? 1000);
    set(CK.MaxKeys, String(Number.isFinite(maxKeys) ? Math.min(Math.max(0, maxKeys), 1000) : 1000));
  }
  set(CK.Acl, header('x-amz-acl'));
  for (const name of Object.keys(grantHeaders)) set(`s3:${name}`, header(name));
  const copySource = header('x-amz-copy-source');
  if (copySource !== undefined) {
    let decoded = copySource;
    try {
      decoded = decodeURIComponent(copySource.split('?')[0]);
    } catch {
      /* left as sent */
    }
    set(CK.CopySource, decoded.replace(/^\//, ''));
  }
  // Only when sent: a copy without the header has no s3:x-amz-metadata-directive (Ceph s3-tests).
  set(CK.MetadataDirective, header('x-amz-metadata-directive'));
  set(CK.ServerSideEncryption, header('x-amz-server-side-encryption'));
  set(CK.SseKmsKeyId, header('x-amz-server-side-encryption-aws-kms-key-id'));
  set(CK.SseCustomerAlgorithm, header('x-amz-server-side-encryption-customer-algorithm'));
  const versionId = ctx.query.get('versionId');
  if (versionId !== undefined) set(CK.VersionId, versionId);

  let requestTags = extras.requestTags;
  const taggingHeader = header('x-amz-tagging');
  if (!requestTags && taggingHeader !== undefined) requestTags = [...new URLSearchParams(taggingHeader)];
  if (requestTags) {
    for (const [k, v] of requestTags) set(requestObjectTagKey(k), v);
    values.set(CK.RequestObjectTagKeys, requestTags.map(([k]) => k));
  }
  if (policy.mentionsExistingObjectTags && extras.existingTags) {
    for (const [k, v] of extras.existingTags() ?? []) set(existingObjectTagKey(k), v);
  }
  return values;
}
