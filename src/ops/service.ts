// ListBuckets (s3:ListAllMyBuckets): the buckets of the caller's organisation in this region.
import { S3Error } from '../errors.ts';
import type { Operation } from '../http/operation.ts';
import { renderXml } from '../xml/xml.ts';
import { isoDate, ownerXml } from './common.ts';

export const ListBuckets: Operation = {
  name: 'ListBuckets',
  action: 's3:ListAllMyBuckets',
  level: 'any',
  needsBucket: false,
  async handle({ store, principal }) {
    if (!principal) throw new S3Error('AccessDenied');
    const buckets = store.listBuckets(principal.org);
    return {
      xml: renderXml('ListAllMyBucketsResult', {
        Owner: ownerXml(principal.org),
        Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: isoDate(b.createdAt) })) },
      }),
    };
  },
};
