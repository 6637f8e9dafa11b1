// GetObjectAttributes (s3:GetObjectAttributes). Not implemented yet: answers NotImplemented.
import { S3Error } from '../errors.ts';
import type { Operation } from '../http/operation.ts';

export const GetObjectAttributes: Operation = {
  name: 'GetObjectAttributes',
  action: 's3:GetObjectAttributes',
  level: 'read',
  needsBucket: true,
  async handle() {
    throw new S3Error('NotImplemented', 'GetObjectAttributes is not implemented.');
  },
};
