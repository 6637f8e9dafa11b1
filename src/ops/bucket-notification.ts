// PutBucketNotificationConfiguration / GetBucketNotificationConfiguration (s3:PutBucketNotification
// at the full level, like the other bucket configuration writes; s3:GetBucketNotification at
// read). Destinations are topics (src/notify/topics.ts) of the bucket owner's organisation in
// the bucket's region; each topic the new configuration adds gets an s3:TestEvent, as on AWS.
// Not supported: queue and function destinations (InvalidArgument, unable to validate).
import { parseNotificationConfig, renderNotificationConfig } from '../notify/config.ts';
import { testEventEntries } from '../notify/hook.ts';
import { parseTopicArn } from '../notify/topics.ts';
import { readControlBody } from './control-body.ts';
import type { Operation } from './operation.ts';
import { renderXml } from '../xml/xml.ts';

export const GetBucketNotificationConfiguration: Operation = {
  name: 'GetBucketNotificationConfiguration',
  action: 's3:GetBucketNotification',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    return { xml: renderXml('NotificationConfiguration', renderNotificationConfig(ctx.bucket?.config?.notification)) };
  },
};

export const PutBucketNotificationConfiguration: Operation = {
  name: 'PutBucketNotificationConfiguration',
  action: 's3:PutBucketNotification',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const bucket = ctx.bucket!;
    const store = ctx.store;
    const config = await parseNotificationConfig(await readControlBody(ctx, 256 * 1024), async (arn) => {
      const topic = parseTopicArn(arn);
      return topic !== undefined && topic.region === store.name && topic.org === bucket.ownerOrg && (await store.meta.topics.get(topic.org, topic.name)) !== undefined;
    });
    const before = new Set(bucket.config?.notification?.topics.map((t) => t.topicArn));
    await store.setBucketConfig(bucket.name, (current) => {
      const next = { ...current };
      if (config.topics.length === 0 && !config.eventBridge) delete next.notification;
      else next.notification = config;
      return next;
    });
    const added = [...new Set(config.topics.map((t) => t.topicArn))].filter((arn) => !before.has(arn));
    if (added.length > 0) {
      await store.meta.transaction((tx) => tx.enqueueOutbox(testEventEntries(added, bucket.name, ctx.requestId)));
      ctx.services.events?.wake(store.name);
    }
    await store.durable();
    return {};
  },
};
