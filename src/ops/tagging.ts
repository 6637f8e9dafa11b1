// Object tagging (s3:GetObjectTagging, s3:PutObjectTagging, s3:DeleteObjectTagging; at most 10
// tags) and bucket tagging (s3:GetBucketTagging, s3:PutBucketTagging; at most 50 tags).
import { S3Error } from '../errors.ts';
import { readControlBody } from './control-body.ts';
import type { Operation, RequestContext } from './operation.ts';
import { parseXml, renderXml, textOf } from '../xml/xml.ts';
import { validateTags } from './common.ts';
import { loadObject } from './object-get.ts';
import { authorizeObjectAction } from './object-access.ts';
import { readVersionHeader } from './versioning.ts';
import { changeOrigin } from './change-origin.ts';

export async function readTagging(ctx: RequestContext, maxTags: number): Promise<[string, string][]> {
  return parseTaggingDocument(await readControlBody(ctx, 64 * 1024), maxTags);
}

/** A Tagging document (request body, or POST Object's tagging field) as validated tags. */
export function parseTaggingDocument(xml: Buffer | string, maxTags: number): [string, string][] {
  const doc = parseXml(xml, { arrays: ['Tag'], errorCode: 'MalformedXML' });
  const tagging = doc.Tagging as Record<string, unknown> | undefined;
  if (!tagging || typeof tagging !== 'object') throw new S3Error('MalformedXML');
  const tagSet = tagging.TagSet as Record<string, unknown> | string | undefined;
  const list = (typeof tagSet === 'object' && tagSet ? (tagSet.Tag as Record<string, unknown>[] | undefined) : undefined) ?? [];
  const tags: [string, string][] = list.map((t) => {
    const key = textOf(t?.Key);
    const value = textOf(t?.Value);
    if (key === undefined || value === undefined) throw new S3Error('MalformedXML');
    return [key, value];
  });
  validateTags(tags, maxTags);
  return tags;
}

export function renderTagging(tags: [string, string][]): string {
  // Sorted by key, as S3 returns tag sets.
  const sorted = [...tags].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return renderXml('Tagging', { TagSet: { Tag: sorted.map(([Key, Value]) => ({ Key, Value })) } });
}

export const GetObjectTagging: Operation = {
  name: 'GetObjectTagging',
  action: 's3:GetObjectTagging',
  versionAction: 's3:GetObjectVersionTagging',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    const record = await loadObject(ctx);
    return { xml: renderTagging(record.meta.tags ?? []), headers: readVersionHeader(ctx.bucket, record) };
  },
};

export const PutObjectTagging: Operation = {
  name: 'PutObjectTagging',
  action: 's3:PutObjectTagging',
  versionAction: 's3:PutObjectVersionTagging',
  level: 'write',
  needsBucket: true,
  // The tags being set are part of the decision (s3:RequestObjectTag), and they are in the body.
  authorizesItself: true,
  async handle(ctx) {
    const tags = await readTagging(ctx, 10);
    await authorizeObjectAction(ctx, 's3:PutObjectTagging', 'write', ctx.key!, ctx.bucket!, { requestTags: tags }, ctx.query.get('versionId') ?? undefined);
    await loadObject(ctx);
    const record = await ctx.store.updateObjectMeta(ctx.bucketName!, ctx.key!, (meta) => ({ ...meta, tags }), ctx.query.get('versionId'), changeOrigin(ctx, 'PutObjectTagging'));
    await ctx.store.durable();
    return { headers: readVersionHeader(ctx.bucket, record) };
  },
};

export const DeleteObjectTagging: Operation = {
  name: 'DeleteObjectTagging',
  action: 's3:DeleteObjectTagging',
  versionAction: 's3:DeleteObjectVersionTagging',
  level: 'write',
  needsBucket: true,
  async handle(ctx) {
    await loadObject(ctx);
    const record = await ctx.store.updateObjectMeta(ctx.bucketName!, ctx.key!, (meta) => ({ ...meta, tags: [] }), ctx.query.get('versionId'), changeOrigin(ctx, 'DeleteObjectTagging'));
    await ctx.store.durable();
    return { status: 204, headers: readVersionHeader(ctx.bucket, record) };
  },
};

export const GetBucketTagging: Operation = {
  name: 'GetBucketTagging',
  action: 's3:GetBucketTagging',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const tags = ctx.bucket!.tags;
    if (!tags || tags.length === 0) throw new S3Error('NoSuchTagSet');
    return { xml: renderTagging(tags) };
  },
};

export const PutBucketTagging: Operation = {
  name: 'PutBucketTagging',
  action: 's3:PutBucketTagging',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const tags = await readTagging(ctx, 50);
    await ctx.store.setBucketTags(ctx.bucketName!, tags);
    await ctx.store.durable();
    return { status: 204 };
  },
};

export const DeleteBucketTagging: Operation = {
  name: 'DeleteBucketTagging',
  action: 's3:PutBucketTagging',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    await ctx.store.setBucketTags(ctx.bucketName!, null);
    await ctx.store.durable();
    return { status: 204 };
  },
};
