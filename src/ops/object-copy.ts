// CopyObject (s3:PutObject on the destination, s3:GetObject on the source): metadata and
// tagging directives COPY/REPLACE, x-amz-copy-source-if-* preconditions, copy onto itself with
// REPLACE (a metadata-only rewrite that shares the blobs). Sources up to 5 GiB.
import { parseChecksumAlgorithm, xmlElementName, type ChecksumAlgorithm } from '../checksum/algorithms.ts';
import { S3Error } from '../errors.ts';
import { bytesReplaced, versioningOf, writtenVersionHeader } from './versioning.ts';
import { expirationHeader } from '../lifecycle/header.ts';
import type { Operation } from './operation.ts';
import type { ObjectMeta, ObjectRecord } from '../store/types.ts';
import { renderXml } from '../xml/xml.ts';
import { newObjectAcl } from './acl-util.ts';
import { websiteRedirectLocation } from '../website/object-redirect.ts';
import { header, isoDate, maxSinglePutBytes, metaFromHeaders, parseTaggingHeader, quoteEtag } from './common.ts';
import { loadCopySource } from './copy-source.ts';
import { writePreconditions } from './conditions.ts';
import { quotaGuard } from '../quota/quota.ts';
import type { UsageProbe } from '../store/region-store.ts';
import { openObjectRange } from './read-object.ts';
import { storeBytes } from './receive-body.ts';
import { checkReadKey, copySourceKey, openerFor, requestKey, writeEncryption } from './sse.ts';
import { changeOrigin } from './change-origin.ts';

function directive(ctx: Parameters<Operation['handle']>[0], name: string): 'COPY' | 'REPLACE' {
  const value = header(ctx, name);
  if (value === undefined) return 'COPY';
  if (value !== 'COPY' && value !== 'REPLACE') throw new S3Error('InvalidArgument', `Unknown ${name}`, { ArgumentName: name, ArgumentValue: value });
  return value;
}

export const CopyObject: Operation = {
  name: 'CopyObject',
  action: 's3:PutObject',
  level: 'write',
  needsBucket: true,
  async handle(ctx) {
    const metadataDirective = directive(ctx, 'x-amz-metadata-directive');
    const taggingDirective = directive(ctx, 'x-amz-tagging-directive');
    const source = await loadCopySource(ctx);
    const src = source.record;
    const sourceKey = copySourceKey(ctx);
    checkReadKey(src, sourceKey);
    const destKey = requestKey(ctx, 'write');
    const encryption = destKey ? writeEncryption(destKey) : undefined;
    const sameObject = source.bucket.name === ctx.bucketName && src.key === ctx.key;
    const storageClassChange = header(ctx, 'x-amz-storage-class') !== undefined;
    const redirectChange = websiteRedirectLocation(ctx.headers) !== undefined;
    if (sameObject && metadataDirective === 'COPY' && taggingDirective === 'COPY' && !storageClassChange && !redirectChange && !destKey && !src.sse) {
      throw new S3Error(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    if (src.size > maxSinglePutBytes) throw new S3Error('InvalidRequest', `The specified copy source is larger than the maximum allowable size for a copy source: ${maxSinglePutBytes}`);

    let meta: ObjectMeta;
    if (metadataDirective === 'REPLACE') {
      meta = metaFromHeaders(ctx);
    } else {
      meta = { ...src.meta, user: { ...src.meta.user }, acl: undefined };
      const storageClass = header(ctx, 'x-amz-storage-class');
      if (storageClass !== undefined) meta.storageClass = metaFromHeaders(ctx).storageClass;
      // AWS: the website redirect location is never copied, only set by this request's header.
      delete meta.websiteRedirectLocation;
      const redirect = websiteRedirectLocation(ctx.headers);
      if (redirect !== undefined) meta.websiteRedirectLocation = redirect;
    }
    meta.tags = taggingDirective === 'REPLACE' ? parseTaggingHeader(header(ctx, 'x-amz-tagging') ?? '') : src.meta.tags;
    meta.acl = await newObjectAcl(ctx);
    delete meta.partsCount;
    const precondition = writePreconditions(ctx);

    const requested = header(ctx, 'x-amz-checksum-algorithm');
    const algorithm: ChecksumAlgorithm | undefined = requested !== undefined ? parseChecksumAlgorithm(requested) : src.meta.checksum?.algorithm;
    if (requested !== undefined && !algorithm) throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-algorithm header is invalid.');

    const current = sameObject ? src : await ctx.store.getObject(ctx.bucketName!, ctx.key!);
    const quota = await quotaGuard(ctx.store, ctx.bucket!.ownerOrg, ctx.services.config.defaultQuotaBytes, bytesReplaced(ctx.bucket, current));
    quota.beforeRead(src.size);
    const quotaAtCommit = (_previous: ObjectRecord | undefined, freed: number, usage: UsageProbe) => quota.atCommit(freed, src.size, usage);
    let record: ObjectRecord;
    const now = Date.now();
    // Blobs are shared only where the old version goes away for good: never in a bucket that ever had
    // versioning, where it stays (as noncurrent) and each version must own its blobs.
    if (sameObject && versioningOf(ctx.bucket) === undefined && algorithm === src.meta.checksum?.algorithm && !src.sse && !destKey) {
      // Only metadata changes: share the existing blobs instead of rewriting the bytes.
      meta.checksum = src.meta.checksum;
      record = { ...src, meta, lastModified: now };
      await ctx.store.commitObject(record, precondition, quotaAtCommit, changeOrigin(ctx, 'CopyObject'));
    } else {
      const written = await storeBytes(ctx, openObjectRange(src, 0, src.size - 1, openerFor(ctx.store, src, sourceKey)), { algorithm, encryption });
      const digest = written.checksum;
      if (algorithm && digest) meta.checksum = { algorithm, value: digest.toString('base64'), type: 'FULL_OBJECT' };
      else delete meta.checksum;
      record = {
        bucket: ctx.bucketName!,
        key: ctx.key!,
        size: src.size,
        etag: encryption ? encryption.etag(written.md5!) : written.md5!.toString('hex'),
        lastModified: now,
        ownerOrg: ctx.bucket!.ownerOrg,
        meta,
        blob: written.id,
        manifest: null,
        sse: encryption?.sse ?? null,
      };
      try {
        await ctx.store.commitObject(record, precondition, quotaAtCommit, changeOrigin(ctx, 'CopyObject'));
      } catch (err) {
        await ctx.store.blobs.remove(written.id);
        throw err;
      }
    }
    await ctx.store.durable();
    const result: Record<string, string> = { LastModified: isoDate(record.lastModified), ETag: quoteEtag(record.etag) };
    if (record.meta.checksum) result[xmlElementName(record.meta.checksum.algorithm)] = record.meta.checksum.value;
    const headers = { ...encryption?.headers, ...writtenVersionHeader(ctx.bucket, record.versionId), ...source.versionHeader, ...expirationHeader(ctx.bucket, record) };
    return { headers, xml: renderXml('CopyObjectResult', result) };
  },
};
