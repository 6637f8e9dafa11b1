// PutBucketRequestPayment / GetBucketRequestPayment (?requestPayment). Payer BucketOwner (the
// default, also for a bucket never configured) or Requester; what Requester enforces is in
// src/access/request-payment.ts. Writing it needs the full level, like the other bucket
// configuration writes.
import { enumeratedValue, readSettingDocument, settingAnswer, storeBucketSetting } from './bucket-setting.ts';
import type { Operation } from './operation.ts';

export const GetBucketRequestPayment: Operation = {
  name: 'GetBucketRequestPayment',
  action: 's3:GetBucketRequestPayment',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    return settingAnswer('RequestPaymentConfiguration', 'Payer', ctx.bucket?.config?.requestPayment ?? 'BucketOwner');
  },
};

export const PutBucketRequestPayment: Operation = {
  name: 'PutBucketRequestPayment',
  action: 's3:PutBucketRequestPayment',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const requestPayment = enumeratedValue(await readSettingDocument(ctx, 'RequestPaymentConfiguration'), 'Payer', ['BucketOwner', 'Requester'] as const);
    await storeBucketSetting(ctx, { requestPayment });
    return {};
  },
};
