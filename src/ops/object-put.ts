// PutObject (s3:PutObject): a single-request upload, up to 5 GiB, with Content-MD5 and flexible
// checksums (header or trailer), user metadata, tagging, canned ACLs, and the conditional
// writes If-None-Match: * and If-Match, SSE-C. Not supported: SSE-S3/KMS, object lock, versioning.
import { checksumHeaderName } from '../checksum/algorithms.ts';
import { S3Error } from '../errors.ts';
import { bytesReplaced, writtenVersionHeader } from './versioning.ts';
import type { Operation } from './operation.ts';
import type { ObjectRecord } from '../store/types.ts';
import { newObjectAcl } from './acl-util.ts';
import { header, maxSinglePutBytes, metaFromHeaders, parseTaggingHeader, quoteEtag } from './common.ts';
import { receiveBody } from './receive-body.ts';
import { writePreconditions } from './conditions.ts';
import { requestKey, writeEncryption } from './sse.ts';
import { quotaGuard } from '../quota/quota.ts';
import { expirationHeader } from '../lifecycle/header.ts';
import { changeOrigin } from './change-origin.ts';

export const PutObject: Operation = {
  name: 'PutObject',
  action: 's3:PutObject',
  level: 'write',
  needsBucket: true,
  streamsBody: true,
  async handle(ctx) {
    const meta = metaFromHeaders(ctx);
    const tagging = header(ctx, 'x-amz-tagging');
    if (tagging !== undefined) meta.tags = parseTaggingHeader(tagging);
    const acl = await newObjectAcl(ctx);
    if (acl) meta.acl = acl;
    const sseKey = requestKey(ctx, 'write');
    if (header(ctx, 'x-amz-server-side-encryption') !== undefined) {
      throw new S3Error('NotImplemented', 'Server-side encryption with service-managed keys is not implemented; use SSE-C.');
    }
    const precondition = writePreconditions(ctx);
    // Fail fast on a precondition before reading the body; it is checked again atomically at commit.
    const current = await ctx.store.getObject(ctx.bucketName!, ctx.key!);
    if (precondition.mustNotExist && current) throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-None-Match' });
    if (precondition.ifMatch !== undefined && !current) throw new S3Error('NoSuchKey', undefined, { Key: ctx.key! });

    const encryption = sseKey ? writeEncryption(sseKey) : undefined;
    const quota = await quotaGuard(ctx.store, ctx.bucket!.ownerOrg, ctx.services.config.defaultQuotaBytes, bytesReplaced(ctx.bucket, current));
    const received = await receiveBody(ctx, {
      maxBytes: maxSinglePutBytes,
      encryptWith: encryption?.dataKey,
      beforeRead: quota.beforeRead,
      onProgress: quota.onProgress,
    });
    if (received.checksum) meta.checksum = { algorithm: received.checksum.algorithm, value: received.checksum.value, type: 'FULL_OBJECT' };
    const record: ObjectRecord = {
      bucket: ctx.bucketName!,
      key: ctx.key!,
      size: received.size,
      etag: encryption ? encryption.etag(received.md5) : received.md5.toString('hex'),
      lastModified: Date.now(),
      ownerOrg: ctx.bucket!.ownerOrg,
      meta,
      blob: received.blob,
      manifest: null,
      sse: encryption?.sse ?? null,
    };
    try {
      await ctx.store.commitObjectSoon(record, precondition, (_previous, freed, usage) => quota.atCommit(freed, record.size, usage), changeOrigin(ctx, 'PutObject'));
    } catch (err) {
      await ctx.store.blobs.remove(received.blob);
      throw err;
    }
    await ctx.store.durable();
    const headers: Record<string, string> = {
      ETag: quoteEtag(record.etag),
      ...writtenVersionHeader(ctx.bucket, record.versionId),
      ...encryption?.headers,
      ...expirationHeader(ctx.bucket, record),
    };
    if (received.checksum) headers[checksumHeaderName(received.checksum.algorithm)] = received.checksum.value;
    return { headers };
  },
};
