// DeleteObject and DeleteObjects (s3:DeleteObject). Deleting a missing key succeeds (204), as
// in S3. DeleteObjects needs a digest of its body (Content-MD5, an x-amz-checksum-* header or trailer), takes at
// most 1000 keys, and answers per key, quietly or verbosely.
import { declaredDigests } from '../checksum/declared.ts';
import { S3Error } from '../errors.ts';
import { isChunkedPayload, readControlBody } from './control-body.ts';
import type { Operation } from './operation.ts';
import { parseXml, renderXml, textOf, type XmlObject } from '../xml/xml.ts';
import { authorizeObjectAction } from './object-access.ts';
import type { DeleteOutcome } from '../store/region-store.ts';
import { changeOrigin } from './change-origin.ts';

export const DeleteObject: Operation = {
  name: 'DeleteObject',
  action: 's3:DeleteObject',
  level: 'write',
  needsBucket: true,
  versionAction: 's3:DeleteObjectVersion',
  async handle(ctx) {
    const versionId = ctx.query.get('versionId');
    const outcome = await ctx.store.deleteObject(ctx.bucketName!, ctx.key!, { versionId, ownerOrg: ctx.bucket!.ownerOrg, origin: changeOrigin(ctx, 'DeleteObject') });
    await ctx.store.durable();
    return { status: 204, headers: deleteHeaders(outcome) };
  },
};

/**
 * DeleteObjects must declare a digest of its body (Content-MD5, or an x-amz-checksum-* header or
 * trailer): AWS refuses it otherwise. readControlBody verifies whichever was declared, the
 * trailer included, before the document is parsed.
 */
function requireIntegrityDeclaration(ctx: Parameters<Operation['handle']>[0]): void {
  const { md5, checksum } = declaredDigests(ctx.headers, isChunkedPayload(ctx));
  if (!md5 && !checksum) throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5');
}

/** What a delete answers: the marker it made or the version it removed. */
function deleteHeaders(outcome: DeleteOutcome): Record<string, string> {
  const headers: Record<string, string> = {};
  if (outcome.deleteMarker) headers['x-amz-delete-marker'] = 'true';
  if (outcome.versionId !== undefined) headers['x-amz-version-id'] = outcome.versionId;
  return headers;
}

export const DeleteObjects: Operation = {
  name: 'DeleteObjects',
  action: 's3:DeleteObject',
  level: 'write',
  needsBucket: true,
  // s3:DeleteObject is decided per key below: a policy on bucket/* must be able to grant it.
  authorizesItself: true,
  async handle(ctx) {
    requireIntegrityDeclaration(ctx);
    const body = await readControlBody(ctx);
    const doc = parseXml(body, { arrays: ['Object'] });
    const del = doc.Delete as Record<string, unknown> | undefined;
    if (!del || typeof del !== 'object') throw new S3Error('MalformedXML');
    const objects = (del.Object as Record<string, unknown>[] | undefined) ?? [];
    if (objects.length === 0 || objects.length > 1000) throw new S3Error('MalformedXML');
    const quiet = textOf(del.Quiet)?.toLowerCase() === 'true';
    const deleted: XmlObject[] = [];
    const errors: XmlObject[] = [];
    for (const entry of objects) {
      const key = textOf(entry?.Key);
      if (key === undefined) throw new S3Error('MalformedXML');
      const versionId = textOf(entry.VersionId);
      try {
        if (key === '' ) throw new S3Error('InvalidArgument', 'Invalid key');
        if (Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError');
        // Each key is authorized on its own: a policy may deny some keys and allow others.
        await authorizeObjectAction(ctx, versionId !== undefined ? 's3:DeleteObjectVersion' : 's3:DeleteObject', 'write', key, ctx.bucket!, {}, versionId);
        const outcome = await ctx.store.deleteObject(ctx.bucketName!, key, { versionId, ownerOrg: ctx.bucket!.ownerOrg, origin: changeOrigin(ctx, 'DeleteObjects') });
        if (!quiet) {
          const entry: XmlObject = { Key: key, VersionId: versionId };
          if (outcome.deleteMarker) {
            entry.DeleteMarker = 'true';
            entry.DeleteMarkerVersionId = versionId === undefined ? outcome.versionId : versionId;
          }
          deleted.push(entry);
        }
      } catch (err) {
        if (!(err instanceof S3Error)) throw err;
        errors.push({ Key: key, VersionId: versionId, Code: err.code, Message: err.message });
      }
    }
    await ctx.store.durable();
    return { xml: renderXml('DeleteResult', { Deleted: deleted, Error: errors }) };
  },
};
