// PutPublicAccessBlock, GetPublicAccessBlock, DeletePublicAccessBlock and GetBucketPolicyStatus.
// Not implemented yet: each answers NotImplemented.
import { S3Error } from '../errors.ts';
import type { Operation } from '../http/operation.ts';

function notYet(name: string, action: string): Operation {
  return {
    name,
    action,
    level: 'full',
    needsBucket: true,
    async handle() {
      throw new S3Error('NotImplemented', `${name} is not implemented.`);
    },
  };
}

export const PutPublicAccessBlock = notYet('PutPublicAccessBlock', 's3:PutBucketPublicAccessBlock');
export const GetPublicAccessBlock = notYet('GetPublicAccessBlock', 's3:GetBucketPublicAccessBlock');
export const DeletePublicAccessBlock = notYet('DeletePublicAccessBlock', 's3:PutBucketPublicAccessBlock');
export const GetBucketPolicyStatus = notYet('GetBucketPolicyStatus', 's3:GetBucketPolicyStatus');
