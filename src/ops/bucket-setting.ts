// What the bucket-setting operations share (versioning, transfer acceleration, request payment,
// and the configurations that follow them): a small XML document with one root element is read
// and checked, stored in the bucket's configuration, and rendered back by its Get operation.
import { S3Error } from '../errors.ts';
import { readControlBody } from './control-body.ts';
import type { RequestContext } from './operation.ts';
import type { BucketConfig } from '../store/types.ts';
import { parseXml, renderXml, textOf } from '../xml/xml.ts';

/** Bucket configuration documents are small; AWS caps most of them at 64 KB. */
export const maxSettingDocumentBytes = 64 * 1024;

/** The request body's `root` element (MalformedXML when the body is not that document). */
export async function readSettingDocument(ctx: RequestContext, root: string): Promise<Record<string, unknown>> {
  const doc = parseXml(await readControlBody(ctx, maxSettingDocumentBytes), { errorCode: 'MalformedXML' });
  const element = doc[root];
  if (!element || typeof element !== 'object') throw new S3Error('MalformedXML');
  return element as Record<string, unknown>;
}

/** The text of `element`, which must be one of `allowed` (MalformedXML otherwise). */
export function enumeratedValue<T extends string>(document: Record<string, unknown>, element: string, allowed: readonly T[]): T {
  const value = textOf(document[element]);
  if (!allowed.includes(value as T)) throw new S3Error('MalformedXML');
  return value as T;
}

/**
 * Merges `change` into the bucket's configuration and makes it durable before the answer; a field
 * set to undefined is removed (the stored JSON leaves it out), as the Delete operations do.
 */
export async function storeBucketSetting(ctx: RequestContext, change: Partial<BucketConfig>): Promise<void> {
  await ctx.store.setBucketConfig(ctx.bucketName!, (current) => ({ ...current, ...change }));
  await ctx.store.durable();
}

/** A Get answer with one optional element: absent when never configured, as AWS answers. */
export function settingAnswer(root: string, element: string, value: string | undefined): { xml: string } {
  return { xml: renderXml(root, value !== undefined ? { [element]: value } : {}) };
}
