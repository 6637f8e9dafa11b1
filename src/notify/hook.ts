// Which notification messages a committed change causes: for each of the bucket's topic
// configurations whose events and key filter match, one message to its topic, recorded in the
// change's transaction as an outbox row keyed by the topic (so that a topic's messages go out in
// the order their changes committed).
import type { OutboxEntry } from '../outbox/outbox.ts';
import type { ChangeOrigin, ObjectChange } from '../store/change-hook.ts';
import type { BucketRecord } from '../store/types.ts';
import { eventMatches, eventOf, eventRecord, testEvent } from './events.ts';
import { notifyKind, type NotifyPayload } from './deliver.ts';

function entry(topic: string, message: unknown): OutboxEntry {
  const payload: NotifyPayload = { topic, body: JSON.stringify(message) };
  return { kind: notifyKind, key: topic, payload: JSON.stringify(payload) };
}

export function notificationEntries(region: string, bucket: BucketRecord | undefined, change: ObjectChange, origin: ChangeOrigin | undefined): OutboxEntry[] {
  const rules = bucket?.config?.notification?.topics;
  if (!rules || rules.length === 0) return [];
  const event = eventOf(change, origin);
  if (!event) return [];
  const key = change.type === 'removed' ? change.key : change.record.key;
  const entries: OutboxEntry[] = [];
  for (const rule of rules) {
    if (!rule.events.some((e) => eventMatches(e, event))) continue;
    if (rule.prefix !== undefined && !key.startsWith(rule.prefix)) continue;
    if (rule.suffix !== undefined && !key.endsWith(rule.suffix)) continue;
    const record = eventRecord({ region, bucket: bucket!.name, bucketOwner: bucket!.ownerOrg, configurationId: rule.id, event, change, origin });
    entries.push(entry(rule.topicArn, { Records: [record] }));
  }
  return entries;
}

export function testEventEntries(topics: string[], bucket: string, requestId: string): OutboxEntry[] {
  return topics.map((t) => entry(t, testEvent(bucket, requestId)));
}
