// POST Object: browser-based uploads with an HTML form and a signed policy document.
// Not implemented yet: answers NotImplemented.
import { S3Error } from '../errors.ts';
import type { Operation } from '../http/operation.ts';

export const PostObject: Operation = {
  name: 'PostObject',
  action: 's3:PutObject',
  level: 'write',
  needsBucket: true,
  streamsBody: true,
  authorizesItself: true,
  async handle() {
    throw new S3Error('NotImplemented', 'POST Object (browser-based uploads with a form) is not implemented.');
  },
};
