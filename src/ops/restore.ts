// RestoreObject (POST ?restore, s3:RestoreObject). Strata has one storage class and archives
// nothing, so there is never anything to restore: after the request is authorized and its
// RestoreRequest document checked, an existing object (or the version named) answers as AWS does
// for an object that is not archived, 403 InvalidObjectState; a missing one 404, a delete marker
// as GET does.
import { S3Error } from '../errors.ts';
import { readControlBody } from './control-body.ts';
import { loadObject } from './object-get.ts';
import type { Operation } from './operation.ts';
import { parseXml, textOf } from '../xml/xml.ts';

const tiers = new Set(['Standard', 'Bulk', 'Expedited']);

/** The RestoreRequest body: Days a positive integer and a known retrieval tier, when given. */
export function checkRestoreRequest(xml: Buffer): void {
  // The document is optional in the API (the SDKs may send none): an empty body asks for the defaults.
  if (xml.length === 0) return;
  const doc = parseXml(xml, { errorCode: 'MalformedXML' });
  const request = doc.RestoreRequest as Record<string, unknown> | undefined;
  if (!request || typeof request !== 'object') throw new S3Error('MalformedXML');
  const days = textOf(request.Days);
  if (days !== undefined && !/^[1-9][0-9]{0,8}$/.test(days)) throw new S3Error('MalformedXML');
  const job = request.GlacierJobParameters as Record<string, unknown> | undefined;
  const tier = textOf(request.Tier) ?? (job && typeof job === 'object' ? textOf(job.Tier) : undefined);
  if (tier !== undefined && !tiers.has(tier)) throw new S3Error('MalformedXML');
}

export const RestoreObject: Operation = {
  name: 'RestoreObject',
  action: 's3:RestoreObject',
  level: 'write',
  needsBucket: true,
  async handle(ctx) {
    checkRestoreRequest(await readControlBody(ctx, 64 * 1024));
    await loadObject(ctx);
    throw new S3Error('InvalidObjectState', "Restore is not allowed for the object's current storage class.", { StorageClass: 'STANDARD' });
  },
};
