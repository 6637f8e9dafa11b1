// PutBucketWebsite / GetBucketWebsite / DeleteBucketWebsite (?website): the bucket's static
// website configuration, validated as AWS validates it (src/website/configuration.ts) and kept in
// the bucket's config. Writing and deleting it need the full level, like the other bucket
// configuration writes; reading it, read. What the configuration does is served on the website
// hosts (src/website/endpoint.ts).
import { S3Error } from '../errors.ts';
import { parseWebsiteConfiguration, renderWebsiteConfiguration } from '../website/configuration.ts';
import { storeBucketSetting } from './bucket-setting.ts';
import { readControlBody } from './control-body.ts';
import type { Operation } from './operation.ts';

/** 50 rules of 1 KB keys and long host names do not fit in the 64 KB of the other settings. */
const maxWebsiteDocumentBytes = 256 * 1024;

export const GetBucketWebsite: Operation = {
  name: 'GetBucketWebsite',
  action: 's3:GetBucketWebsite',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    const website = ctx.bucket?.config?.website;
    if (!website) throw new S3Error('NoSuchWebsiteConfiguration', undefined, { BucketName: ctx.bucketName! });
    return { xml: renderWebsiteConfiguration(website) };
  },
};

export const PutBucketWebsite: Operation = {
  name: 'PutBucketWebsite',
  action: 's3:PutBucketWebsite',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const website = parseWebsiteConfiguration(await readControlBody(ctx, maxWebsiteDocumentBytes));
    await storeBucketSetting(ctx, { website });
    return {};
  },
};

export const DeleteBucketWebsite: Operation = {
  name: 'DeleteBucketWebsite',
  action: 's3:DeleteBucketWebsite',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    // (undefined fields are left out of the stored JSON: the configuration is gone.)
    await storeBucketSetting(ctx, { website: undefined });
    // AWS answers 204 whether or not there was a configuration.
    return { status: 204 };
  },
};
