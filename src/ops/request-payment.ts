// PutBucketRequestPayment / GetBucketRequestPayment (?requestPayment). Payer BucketOwner (the
// default, also for a bucket never configured) or Requester; what Requester enforces is in
// src/access/request-payment.ts. Writing it needs the full level, like the other bucket
// configuration writes.
import { S3Error } from '../errors.ts';
import type { RequestPayer } from '../access/request-payment.ts';
import { readControlBody } from './control-body.ts';
import type { Operation } from './operation.ts';
import { parseXml, renderXml, textOf } from '../xml/xml.ts';

export const GetBucketRequestPayment: Operation = {
  name: 'GetBucketRequestPayment',
  action: 's3:GetBucketRequestPayment',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    return { xml: renderXml('RequestPaymentConfiguration', { Payer: ctx.bucket?.config?.requestPayment ?? 'BucketOwner' }) };
  },
};

export const PutBucketRequestPayment: Operation = {
  name: 'PutBucketRequestPayment',
  action: 's3:PutBucketRequestPayment',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const doc = parseXml(await readControlBody(ctx, 64 * 1024), { errorCode: 'MalformedXML' });
    const config = doc.RequestPaymentConfiguration as Record<string, unknown> | undefined;
    if (!config || typeof config !== 'object') throw new S3Error('MalformedXML');
    const payer = textOf(config.Payer);
    if (payer !== 'BucketOwner' && payer !== 'Requester') throw new S3Error('MalformedXML');
    const requestPayment: RequestPayer = payer;
    await ctx.store.setBucketConfig(ctx.bucketName!, (current) => ({ ...current, requestPayment }));
    await ctx.store.durable();
    return {};
  },
};
