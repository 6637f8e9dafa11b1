// CORS preflight (OPTIONS on a bucket or object). Browsers send it unsigned before a
// cross-origin request. Strata does not implement bucket CORS configurations (PUT/GET ?cors
// answer NotImplemented), so no cross-origin request is ever allowed: a well-formed preflight is
// refused as S3 refuses one for a bucket without CORS rules, and a malformed one (no Origin, no
// Access-Control-Request-Method) is a bad request, as on AWS and Ceph RGW (s3-tests
// test_object_raw_get_x_amz_expires_not_expired sends one).
import { S3Error } from '../errors.ts';
import type { Operation } from './operation.ts';
import { header } from './common.ts';

export const CorsPreflight: Operation = {
  name: 'CorsPreflight',
  action: 's3:GetObject',
  level: 'read',
  needsBucket: true,
  unauthenticated: true,
  authorizesItself: true,
  async handle(ctx) {
    if (header(ctx, 'origin') === undefined) throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
    if (header(ctx, 'access-control-request-method') === undefined) {
      throw new S3Error('BadRequest', 'Insufficient information. Access-Control-Request-Method request header needed.');
    }
    throw new S3Error('CORSResponse', 'CORS is not enabled for this bucket.');
  },
};
