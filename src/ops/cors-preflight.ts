// CORS preflight (OPTIONS on a bucket or an object path). Browsers send it unsigned before a
// cross-origin request, so it is never authenticated nor authorized (signature parameters on
// it are ignored); the bucket's CORS rules alone decide (src/cors/match.ts): 200 with the
// Access-Control-* headers of the first matching rule, 403 AccessForbidden when CORS is not
// configured or no rule matches, 400 BadRequest without an Origin or a usable
// Access-Control-Request-Method (s3-tests test_object_raw_get_x_amz_expires_not_expired sends
// one). A missing bucket is NoSuchBucket, as on Ceph RGW.
// The accelerated hosts answer preflights with the same function (src/cors/accel.ts).
import { preflightHeaders } from '../cors/match.ts';
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
    const request = { origin: header(ctx, 'origin'), method: header(ctx, 'access-control-request-method'), headers: header(ctx, 'access-control-request-headers') };
    return { headers: preflightHeaders(ctx.bucket?.config?.cors, request, ctx.key !== undefined ? 'OBJECT' : 'BUCKET') };
  },
};
