// Bucket lifecycle: CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation, and
// (GetBucketVersioning and PutBucketVersioning live in versioning.ts.)
import { S3Error } from '../errors.ts';
import { readControlBody } from './control-body.ts';
import type { Operation } from './operation.ts';
import { escapeXml, parseXml, s3Namespace, textOf } from '../xml/xml.ts';
import { aclFromRequestHeaders, checkGrantees, privateAcl } from './acl-util.ts';
import type { Acl } from '../store/types.ts';

/** Do two ACLs grant the same, whatever the order of their grants? */
function sameAcl(a: Acl, b: Acl): boolean {
  const key = (acl: Acl) => acl.grants.map((g) => JSON.stringify([g.grantee, g.permission])).sort().join('|');
  return a.owner === b.owner && key(a) === key(b);
}

/** AWS general-purpose bucket naming rules. */
export function validBucketName(name: string): boolean {
  if (name.length < 3 || name.length > 63) return false;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return false;
  if (name.includes('..') || name.includes('.-') || name.includes('-.')) return false;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return false;
  if (name.startsWith('xn--') || name.startsWith('sthree-') || name.endsWith('-s3alias') || name.endsWith('--ol-s3')) return false;
  return true;
}

export const CreateBucket: Operation = {
  name: 'CreateBucket',
  action: 's3:CreateBucket',
  level: 'full',
  needsBucket: false,
  async handle(ctx) {
    const name = ctx.bucketName!;
    if (!validBucketName(name)) throw new S3Error('InvalidBucketName', undefined, { BucketName: name });
    const body = await readControlBody(ctx, 64 * 1024);
    if (body.length > 0) {
      const doc = parseXml(body);
      const config = doc.CreateBucketConfiguration as Record<string, unknown> | undefined;
      if (!config || typeof config !== 'object') throw new S3Error('MalformedXML');
      const location = textOf(config.LocationConstraint);
      // s3cmd sends the seed's region name 'default'; unconfigured SDKs send us-east-1 or nothing.
      const accepted = ['', 'default', 'us-east-1', ctx.target.region];
      if (location !== undefined && !accepted.includes(location)) {
        throw new S3Error('InvalidLocationConstraint', `The specified location-constraint is not valid for this endpoint: ${location}`, { LocationConstraint: location });
      }
    }
    const requestedAcl = aclFromRequestHeaders(ctx, ctx.principal!.org, 'bucket');
    const acl = requestedAcl && (await checkGrantees(ctx, requestedAcl));
    const outcome = await ctx.store.createBucket(name, ctx.principal!.org, acl);
    // Re-creating a bucket one owns succeeds and changes nothing, as on Ceph RGW (and AWS in
    // us-east-1; its other regions answer 409 BucketAlreadyOwnedByYou): scripts that "ensure" a
    // bucket with a create, and ceph/s3-tests, expect 200 with the contents untouched. A create
    // that asks for another ACL than the bucket has would change it: 409 BucketAlreadyExists (RGW).
    if (outcome === 'owned') {
      const existing = await ctx.store.getBucket(name);
      const owner = ctx.principal!.org;
      if (!sameAcl(acl ?? privateAcl(owner), existing?.acl ?? privateAcl(owner))) throw new S3Error('BucketAlreadyExists', undefined, { BucketName: name });
      return { headers: { Location: `/${name}` } };
    }
    if (outcome === 'taken') throw new S3Error('BucketAlreadyExists', undefined, { BucketName: name });
    await ctx.store.durable();
    return { headers: { Location: `/${name}` } };
  },
};

export const DeleteBucket: Operation = {
  name: 'DeleteBucket',
  action: 's3:DeleteBucket',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    await ctx.store.deleteBucket(ctx.bucketName!);
    await ctx.store.durable();
    return { status: 204 };
  },
};

export const HeadBucket: Operation = {
  name: 'HeadBucket',
  action: 's3:ListBucket',
  level: 'any',
  needsBucket: true,
  async handle(ctx) {
    const headers: Record<string, string | number> = { 'x-amz-bucket-region': ctx.target.region };
    // Ceph RGW's extension, which tools written for CoreWeave read: the bucket's object count and
    // bytes with ?read-stats=true. Counted on demand (an index range per table), so only when asked.
    if (ctx.query.get('read-stats') === 'true') {
      const stats = await ctx.store.meta.bucketStats(ctx.bucketName!);
      headers['x-rgw-object-count'] = stats.objects;
      headers['x-rgw-bytes-used'] = stats.bytes;
    }
    return { headers };
  },
};

export const GetBucketLocation: Operation = {
  name: 'GetBucketLocation',
  action: 's3:GetBucketLocation',
  level: 'any',
  needsBucket: true,
  async handle(ctx) {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${s3Namespace}">${escapeXml(ctx.target.region)}</LocationConstraint>`;
    return { xml };
  },
};
