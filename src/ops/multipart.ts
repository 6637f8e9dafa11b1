// Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload
// (all s3:PutObject), AbortMultipartUpload (s3:AbortMultipartUpload), ListParts
// (s3:ListMultipartUploadParts) and ListMultipartUploads (s3:ListBucketMultipartUploads).
// Completing writes a manifest of the part blobs: no byte is copied. Checksums per part, with
// COMPOSITE or FULL_OBJECT whole-object values.
import { createHash, randomBytes } from 'node:crypto';
import {
  checksumHeaderName,
  compositeChecksum,
  decodeChecksumValue,
  fullObjectCrc,
  parseChecksumAlgorithm,
  xmlElementName,
  type ChecksumAlgorithm,
} from '../checksum/algorithms.ts';
import { S3Error } from '../errors.ts';
import { readControlBody } from './control-body.ts';
import type { Operation, OperationResult, RequestContext } from './operation.ts';
import type { BucketRecord, ChecksumType, ObjectRecord, PartRef, UploadRecord } from '../store/types.ts';
import { parseXml, renderXml, textOf, type XmlObject } from '../xml/xml.ts';
import { newObjectAcl } from './acl-util.ts';
import { header, isoDate, maxPartBytes, maxPartNumber, metaFromHeaders, minPartBytes, ownerXml, parseIntParam, parseTaggingHeader, quoteEtag } from './common.ts';
import { writePreconditions } from './conditions.ts';
import { loadCopySource } from './copy-source.ts';
import { writtenVersionHeader } from './versioning.ts';
import { expirationHeader } from '../lifecycle/header.ts';
import { urlEncodeKey } from './list-objects.ts';
import { openObjectRange } from './read-object.ts';
import { checkReadKey, copySourceKey, keyCheckRecord, keyMatchesRecord, openerFor, requestKey, sseErrors, sseResponseHeaders, writeEncryption, type WriteEncryption } from './sse.ts';
import { receiveBody, storeBytes } from './receive-body.ts';
import { quotaGuard } from '../quota/quota.ts';
import { changeOrigin } from './change-origin.ts';

function checksumTypeFor(ctx: RequestContext, algorithm: ChecksumAlgorithm | undefined): ChecksumType | undefined {
  const requested = header(ctx, 'x-amz-checksum-type')?.toUpperCase();
  if (requested !== undefined && requested !== 'COMPOSITE' && requested !== 'FULL_OBJECT') throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.');
  if (!algorithm) {
    if (requested) throw new S3Error('InvalidRequest', 'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
    return undefined;
  }
  const type = (requested as ChecksumType | undefined) ?? (algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE');
  if (type === 'COMPOSITE' && algorithm === 'CRC64NVME') throw new S3Error('InvalidRequest', 'The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.');
  if (type === 'FULL_OBJECT' && (algorithm === 'SHA1' || algorithm === 'SHA256')) throw new S3Error('InvalidRequest', `The FULL_OBJECT checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`);
  return type;
}

/** The upload named by ?uploadId, which must belong to the request's bucket and key. */
async function loadUpload(ctx: RequestContext): Promise<UploadRecord> {
  const uploadId = ctx.query.get('uploadId') ?? '';
  const upload = await ctx.store.getUpload(uploadId);
  if (!upload || upload.bucket !== ctx.bucketName || upload.key !== ctx.key) throw new S3Error('NoSuchUpload', undefined, { UploadId: uploadId });
  return upload;
}

/** A part of an SSE-C upload must bring the upload's key; a part of a plain upload must not bring one. */
function partEncryption(ctx: RequestContext, upload: UploadRecord): WriteEncryption | undefined {
  const key = requestKey(ctx, 'write');
  if (!upload.sse) {
    if (key) throw sseErrors.uploadKeyRequired();
    return undefined;
  }
  if (!key) throw sseErrors.uploadKeyRequired();
  if (!keyMatchesRecord(key, upload.sse)) throw sseErrors.uploadKeyMismatch();
  return writeEncryption(key);
}

function partNumberOf(ctx: RequestContext): number {
  const raw = ctx.query.get('partNumber');
  const n = Number(raw);
  if (raw === undefined || !/^\d+$/.test(raw) || n < 1 || n > maxPartNumber) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${maxPartNumber}, inclusive`, { ArgumentName: 'partNumber', ArgumentValue: raw ?? '' });
  }
  return n;
}

export const CreateMultipartUpload: Operation = {
  name: 'CreateMultipartUpload',
  action: 's3:PutObject',
  level: 'write',
  needsBucket: true,
  async handle(ctx) {
    const meta: UploadRecord['meta'] = metaFromHeaders(ctx);
    const tagging = header(ctx, 'x-amz-tagging');
    if (tagging !== undefined) meta.tags = parseTaggingHeader(tagging);
    const acl = await newObjectAcl(ctx);
    if (acl) meta.acl = acl;
    const requested = header(ctx, 'x-amz-checksum-algorithm');
    const algorithm = requested !== undefined ? parseChecksumAlgorithm(requested) : undefined;
    if (requested !== undefined && !algorithm) throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-algorithm header is invalid.');
    const type = checksumTypeFor(ctx, algorithm);
    if (algorithm) {
      meta.checksumAlgorithm = algorithm;
      meta.checksumType = type;
    }
    const sseKey = requestKey(ctx, 'write');
    if (header(ctx, 'x-amz-server-side-encryption') !== undefined) {
      throw new S3Error('NotImplemented', 'Server-side encryption with service-managed keys is not implemented; use SSE-C.');
    }
    const upload: UploadRecord = {
      uploadId: randomBytes(24).toString('base64url'),
      bucket: ctx.bucketName!,
      key: ctx.key!,
      initiated: Date.now(),
      ownerOrg: ctx.bucket!.ownerOrg,
      initiator: ctx.principal ? `${ctx.principal.org}:${ctx.principal.user}` : 'anonymous',
      meta,
      sse: sseKey ? keyCheckRecord(sseKey) : null,
    };
    await ctx.store.createUpload(upload);
    await ctx.store.durable();
    return {
      headers: { 'x-amz-checksum-algorithm': algorithm, 'x-amz-checksum-type': type, ...(sseKey ? sseResponseHeaders(sseKey) : {}) },
      xml: renderXml('InitiateMultipartUploadResult', { Bucket: upload.bucket, Key: upload.key, UploadId: upload.uploadId }),
    };
  },
};

export const UploadPart: Operation = {
  name: 'UploadPart',
  action: 's3:PutObject',
  level: 'write',
  needsBucket: true,
  streamsBody: true,
  async handle(ctx) {
    const partNumber = partNumberOf(ctx);
    const upload = await loadUpload(ctx);
    const encryption = partEncryption(ctx, upload);
    const quota = await quotaGuard(ctx.store, upload.ownerOrg, ctx.services.config.defaultQuotaBytes, (await ctx.store.getPart(upload.uploadId, partNumber))?.size ?? 0);
    const received = await receiveBody(ctx, {
      maxBytes: maxPartBytes,
      requiredAlgorithm: upload.meta.checksumAlgorithm,
      encryptWith: encryption?.dataKey,
      beforeRead: quota.beforeRead,
      onProgress: quota.onProgress,
    });
    const etag = encryption ? encryption.etag(received.md5) : received.md5.toString('hex');
    try {
      await ctx.store.commitPart(
        {
          uploadId: upload.uploadId,
          partNumber,
          size: received.size,
          storedSize: received.storedSize,
          etag,
          lastModified: Date.now(),
          blob: received.blob,
          checksum: received.checksum?.value ?? null,
          sse: encryption?.sse ?? null,
        },
        upload.ownerOrg,
        (previous, usage) => quota.atCommit(previous?.size ?? 0, received.size, usage),
      );
    } catch (err) {
      await ctx.store.blobs.remove(received.blob);
      throw err;
    }
    await ctx.store.durable();
    const headers: Record<string, string> = { ETag: quoteEtag(etag), ...encryption?.headers };
    if (received.checksum) headers[checksumHeaderName(received.checksum.algorithm)] = received.checksum.value;
    return { headers };
  },
};

export function parseCopyRange(value: string | undefined, size: number): { start: number; end: number } {
  if (value === undefined) return { start: 0, end: size - 1 };
  const m = /^bytes=(\d+)-(\d+)$/.exec(value.trim());
  if (!m) throw new S3Error('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: value });
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (start > end || end >= size) throw new S3Error('InvalidRange', `Range specified is not valid for source object of size: ${size}`, { RangeRequested: value, ActualObjectSize: String(size) });
  return { start, end };
}

export const UploadPartCopy: Operation = {
  name: 'UploadPartCopy',
  action: 's3:PutObject',
  level: 'write',
  needsBucket: true,
  async handle(ctx) {
    const partNumber = partNumberOf(ctx);
    const upload = await loadUpload(ctx);
    const source = await loadCopySource(ctx);
    const sourceKey = copySourceKey(ctx);
    checkReadKey(source.record, sourceKey);
    const encryption = partEncryption(ctx, upload);
    const { start, end } = parseCopyRange(header(ctx, 'x-amz-copy-source-range'), source.record.size);
    if (end - start + 1 > maxPartBytes) throw new S3Error('EntityTooLarge');
    const quota = await quotaGuard(ctx.store, upload.ownerOrg, ctx.services.config.defaultQuotaBytes, (await ctx.store.getPart(upload.uploadId, partNumber))?.size ?? 0);
    quota.beforeRead(end - start + 1);
    const algorithm = upload.meta.checksumAlgorithm;
    const written = await storeBytes(ctx, openObjectRange(source.record, start, end, openerFor(ctx.store, source.record, sourceKey)), { algorithm, encryption });
    const etag = encryption ? encryption.etag(written.md5!) : written.md5!.toString('hex');
    const checksum = written.checksum?.toString('base64') ?? null;
    const lastModified = Date.now();
    try {
      await ctx.store.commitPart(
        { uploadId: upload.uploadId, partNumber, size: written.received, storedSize: written.size, etag, lastModified, blob: written.id, checksum, sse: encryption?.sse ?? null },
        upload.ownerOrg,
        (previous, usage) => quota.atCommit(previous?.size ?? 0, written.received, usage),
      );
    } catch (err) {
      await ctx.store.blobs.remove(written.id);
      throw err;
    }
    await ctx.store.durable();
    const result: Record<string, string> = { LastModified: isoDate(lastModified), ETag: quoteEtag(etag) };
    if (algorithm && checksum) result[xmlElementName(algorithm)] = checksum;
    return { headers: encryption?.headers, xml: renderXml('CopyPartResult', result) };
  },
};

interface RequestedPart {
  partNumber: number;
  etag: string;
  checksum?: string;
}

function parseCompleteDocument(body: Buffer): RequestedPart[] {
  const doc = parseXml(body, { arrays: ['Part'] });
  const root = doc.CompleteMultipartUpload as Record<string, unknown> | undefined;
  if (!root || typeof root !== 'object') throw new S3Error('MalformedXML');
  const parts = (root.Part as Record<string, unknown>[] | undefined) ?? [];
  if (parts.length === 0) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  return parts.map((p) => {
    const number = textOf(p?.PartNumber);
    const etag = textOf(p?.ETag);
    if (number === undefined || !/^\d+$/.test(number.trim()) || etag === undefined) throw new S3Error('MalformedXML');
    const checksumKey = Object.keys(p).find((k) => k.startsWith('Checksum') && k !== 'ChecksumType');
    return { partNumber: Number(number.trim()), etag: etag.trim().replace(/^"|"$/g, ''), checksum: checksumKey ? textOf(p[checksumKey]) : undefined };
  });
}

export const CompleteMultipartUpload: Operation = {
  name: 'CompleteMultipartUpload',
  action: 's3:PutObject',
  level: 'write',
  needsBucket: true,
  async handle(ctx) {
    const uploadId = ctx.query.get('uploadId') ?? '';
    // Its x-amz-checksum-* header is the whole object's checksum, checked against the parts below.
    const requested = parseCompleteDocument(await readControlBody(ctx, undefined, { objectChecksumHeaders: true }));
    if (!await ctx.store.getUpload(uploadId)) {
      // A Complete repeated after a lost response: the object it created is still the current one.
      const current = await ctx.store.getObject(ctx.bucketName!, ctx.key!);
      if (current?.meta.uploadId === uploadId && uploadId !== '') return completeResult(current, ctx.bucket);
    }
    // An SSE-C upload completes without its key, as on AWS (whose docs ask for it only with a
    // checksum or a policy requiring it): s3transfer (aws-cli, boto3; 0.6 at least) sends no SSE-C
    // header on Complete. Ceph RGW refuses that with 400 (s3-tests' test_copy_part_enc[*-sse-c-*]).
    // Each part was checked against the upload's key as it came.
    await loadUpload(ctx);
    const precondition = writePreconditions(ctx);
    const record = await ctx.store.completeUpload(
      ctx.query.get('uploadId')!,
      (upload, stored): ObjectRecord => {
        const manifest: PartRef[] = [];
        const md5s: Buffer[] = [];
        requested.forEach((want, i) => {
          if (i > 0 && want.partNumber < requested[i - 1].partNumber) throw new S3Error('InvalidPartOrder');
        });
        // A part number listed twice (a part uploaded again while its first upload was still in
        // flight, the client recording both): the last entry counts, as on Ceph RGW, and must
        // name the upload of that part that finished last, which is the one stored.
        const chosen = requested.filter((want, i) => requested[i + 1]?.partNumber !== want.partNumber);
        chosen.forEach((want, i) => {
          const part = stored.get(want.partNumber);
          if (!part || part.etag !== want.etag) throw new S3Error('InvalidPart', undefined, { UploadId: upload.uploadId, PartNumber: String(want.partNumber), ETag: want.etag });
          if (i < chosen.length - 1 && part.size < minPartBytes) {
            throw new S3Error('EntityTooSmall', undefined, { UploadId: upload.uploadId, PartNumber: String(want.partNumber), ProposedSize: String(part.size), MinSizeAllowed: String(minPartBytes) });
          }
          if (want.checksum !== undefined && part.checksum !== null && want.checksum !== part.checksum) {
            throw new S3Error('InvalidPart', `The checksum of part ${want.partNumber} did not match the one uploaded.`, { UploadId: upload.uploadId, PartNumber: String(want.partNumber) });
          }
          manifest.push({ partNumber: part.partNumber, blob: part.blob, size: part.size, storedSize: part.storedSize, etag: part.etag, checksum: part.checksum ?? undefined, sse: part.sse ?? undefined });
          md5s.push(Buffer.from(part.etag, 'hex'));
        });
        const size = manifest.reduce((n, p) => n + p.size, 0);
        const meta = { ...upload.meta, partsCount: manifest.length, uploadId: upload.uploadId };
        const algorithm = upload.meta.checksumAlgorithm;
        delete meta.checksumAlgorithm;
        delete meta.checksumType;
        if (algorithm && manifest.every((p) => p.checksum !== undefined)) {
          const digests = manifest.map((p) => decodeChecksumValue(algorithm, p.checksum!)!);
          meta.checksum =
            upload.meta.checksumType === 'FULL_OBJECT'
              ? { algorithm, value: fullObjectCrc(algorithm as 'CRC32' | 'CRC32C' | 'CRC64NVME', manifest.map((p, i) => ({ digest: digests[i], size: p.size }))).toString('base64'), type: 'FULL_OBJECT' }
              : { algorithm, value: compositeChecksum(algorithm, digests), type: 'COMPOSITE' };
        }
        // A whole-object checksum sent with Complete must be the one the parts make up.
        const sent = algorithm ? header(ctx, checksumHeaderName(algorithm)) : undefined;
        if (sent !== undefined && sent !== meta.checksum?.value) {
          throw new S3Error('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
        }
        return {
          bucket: upload.bucket,
          key: upload.key,
          size,
          etag: `${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${manifest.length}`,
          lastModified: Date.now(),
          ownerOrg: upload.ownerOrg,
          meta,
          blob: null,
          manifest,
          sse: upload.sse,
        };
      },
      precondition,
      changeOrigin(ctx, 'CompleteMultipartUpload'),
    );
    await ctx.store.durable();
    return completeResult(record, ctx.bucket);
  },
};

function completeResult(record: ObjectRecord, bucket: BucketRecord | undefined): OperationResult {
  const result: XmlObject = {
    Location: `/${record.bucket}/${urlEncodeKey(record.key)}`,
    Bucket: record.bucket,
    Key: record.key,
    ETag: quoteEtag(record.etag),
  };
  if (record.meta.checksum) {
    result[xmlElementName(record.meta.checksum.algorithm)] = record.meta.checksum.value;
    result.ChecksumType = record.meta.checksum.type;
  }
  return { headers: { ...writtenVersionHeader(bucket, record.versionId), ...expirationHeader(bucket, record) }, xml: renderXml('CompleteMultipartUploadResult', result) };
}

export const AbortMultipartUpload: Operation = {
  name: 'AbortMultipartUpload',
  action: 's3:AbortMultipartUpload',
  level: 'write',
  needsBucket: true,
  async handle(ctx) {
    const upload = await loadUpload(ctx);
    await ctx.store.abortUpload(upload.uploadId);
    await ctx.store.durable();
    return { status: 204 };
  },
};

export const ListParts: Operation = {
  name: 'ListParts',
  action: 's3:ListMultipartUploadParts',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    const upload = await loadUpload(ctx);
    const maxParts = Math.min(parseIntParam(ctx.query.get('max-parts'), 'max-parts', 0, 2 ** 31 - 1, 1000), 1000);
    const marker = parseIntParam(ctx.query.get('part-number-marker'), 'part-number-marker', 0, 2 ** 31 - 1, 0);
    const parts = await ctx.store.listParts(upload.uploadId, marker, maxParts + 1);
    const truncated = parts.length > maxParts;
    const page = parts.slice(0, maxParts);
    const algorithm = upload.meta.checksumAlgorithm;
    const [org] = upload.initiator.split(':');
    return {
      xml: renderXml('ListPartsResult', {
        Bucket: upload.bucket,
        Key: upload.key,
        UploadId: upload.uploadId,
        Initiator: { ID: org, DisplayName: org },
        // The upload's object will belong to its initiator's organisation.
        Owner: ownerXml(org),
        StorageClass: upload.meta.storageClass ?? 'STANDARD',
        PartNumberMarker: marker,
        NextPartNumberMarker: page.length > 0 ? page[page.length - 1].partNumber : marker,
        MaxParts: maxParts,
        IsTruncated: truncated,
        ChecksumAlgorithm: algorithm,
        ChecksumType: upload.meta.checksumType,
        Part: page.map((p) => ({
          PartNumber: p.partNumber,
          LastModified: isoDate(p.lastModified),
          ETag: quoteEtag(p.etag),
          Size: p.size,
          ...(algorithm && p.checksum ? { [xmlElementName(algorithm)]: p.checksum } : {}),
        })),
      }),
    };
  },
};

export const ListMultipartUploads: Operation = {
  name: 'ListMultipartUploads',
  action: 's3:ListBucketMultipartUploads',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    const prefix = ctx.query.get('prefix') ?? '';
    const delimiter = ctx.query.get('delimiter') ?? '';
    const keyMarker = ctx.query.get('key-marker') ?? '';
    // Without a key marker the upload-id marker is ignored (S3).
    const uploadIdMarker = keyMarker ? (ctx.query.get('upload-id-marker') ?? '') : '';
    const maxUploads = Math.min(parseIntParam(ctx.query.get('max-uploads'), 'max-uploads', 0, 2 ** 31 - 1, 1000), 1000);
    const encodingType = ctx.query.get('encoding-type');
    const encode = encodingType === 'url' ? urlEncodeKey : (s: string) => s;
    const uploads: XmlObject[] = [];
    const prefixes: string[] = [];
    let truncated = false;
    let nextKey = '';
    let nextUploadId = '';
    let afterKey = keyMarker;
    // With a key marker and no upload-id marker, uploads of the marker key itself are skipped.
    let afterUploadId = uploadIdMarker || (keyMarker ? '\u{10ffff}' : '');
    outer: while (true) {
      const batch = await ctx.store.listUploads(ctx.bucketName!, prefix, afterKey, afterUploadId, 1000);
      if (batch.length === 0) break;
      for (const u of batch) {
        afterKey = u.key;
        afterUploadId = u.uploadId;
        if (delimiter) {
          const at = u.key.indexOf(delimiter, prefix.length);
          if (at >= 0) {
            const cp = u.key.slice(0, at + delimiter.length);
            if (prefixes[prefixes.length - 1] === cp) continue;
            if (uploads.length + prefixes.length >= maxUploads) {
              truncated = true;
              break outer;
            }
            prefixes.push(cp);
            nextKey = cp;
            nextUploadId = '';
            continue;
          }
        }
        if (uploads.length + prefixes.length >= maxUploads) {
          truncated = true;
          break outer;
        }
        uploads.push({
          Key: encode(u.key),
          UploadId: u.uploadId,
          Initiator: { ID: u.initiator.split(':')[0], DisplayName: u.initiator.split(':')[0] },
          Owner: ownerXml(u.initiator.split(':')[0]),
          StorageClass: u.meta.storageClass ?? 'STANDARD',
          Initiated: isoDate(u.initiated),
          ChecksumAlgorithm: u.meta.checksumAlgorithm,
        });
        nextKey = u.key;
        nextUploadId = u.uploadId;
      }
      if (batch.length < 1000) break;
    }
    return {
      xml: renderXml('ListMultipartUploadsResult', {
        Bucket: ctx.bucketName,
        KeyMarker: encode(keyMarker),
        UploadIdMarker: uploadIdMarker,
        NextKeyMarker: truncated ? encode(nextKey) : undefined,
        NextUploadIdMarker: truncated ? nextUploadId : undefined,
        Delimiter: delimiter ? encode(delimiter) : undefined,
        Prefix: encode(prefix),
        MaxUploads: maxUploads,
        IsTruncated: truncated,
        EncodingType: encodingType === 'url' ? 'url' : undefined,
        Upload: uploads,
        CommonPrefixes: prefixes.map((p) => ({ Prefix: encode(p) })),
      }),
    };
  },
};
