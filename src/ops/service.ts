// ListBuckets (s3:ListAllMyBuckets): the buckets of the caller's organisation in this region,
// with the optional prefix, max-buckets and continuation-token pagination.
import { S3Error } from '../errors.ts';
import type { Operation } from './operation.ts';
import { renderXml } from '../xml/xml.ts';
import { isoDate, ownerXml, parseIntParam } from './common.ts';

export const ListBuckets: Operation = {
  name: 'ListBuckets',
  action: 's3:ListAllMyBuckets',
  level: 'any',
  needsBucket: false,
  async handle({ store, principal, query, target }) {
    // Anonymous: 403 AccessDenied, as AWS (Ceph RGW lists no buckets with 200; s3-tests'
    // test_list_buckets_anonymous is fails_on_aws): an anonymous caller owns no buckets to list.
    if (!principal) throw new S3Error('AccessDenied');
    const prefix = query.get('prefix') ?? '';
    const maxBuckets = query.has('max-buckets') ? parseIntParam(query.get('max-buckets'), 'max-buckets', 1, 10_000, 10_000) : undefined;
    const token = query.get('continuation-token');
    const after = token ? Buffer.from(token, 'base64url').toString('utf8') : '';
    const all = (await store.listBuckets(principal.org)).filter((b) => b.name.startsWith(prefix) && b.name > after);
    const page = maxBuckets === undefined ? all : all.slice(0, maxBuckets);
    const truncated = page.length < all.length;
    return {
      xml: renderXml('ListAllMyBucketsResult', {
        Owner: ownerXml(principal.org),
        Buckets: { Bucket: page.map((b) => ({ Name: b.name, CreationDate: isoDate(b.createdAt), BucketRegion: target.region })) },
        ContinuationToken: truncated ? Buffer.from(page[page.length - 1].name, 'utf8').toString('base64url') : undefined,
        Prefix: query.has('prefix') ? prefix : undefined,
      }),
    };
  },
};
