// A bucket's notification configuration (PutBucketNotificationConfiguration): parsed, checked
// as AWS checks it, stored in BucketConfig.notification, rendered back for the Get. Only topic
// destinations exist here (Strata has no queues or functions); a QueueConfiguration or
// CloudFunctionConfiguration names a destination that cannot be validated, as AWS answers for
// an ARN it cannot reach.
import { randomBytes } from 'node:crypto';
import { S3Error } from '../errors.ts';
import { parseXml, textOf, type XmlObject } from '../xml/xml.ts';
import { eventNames } from './events.ts';

export interface TopicRule {
  id: string;
  topicArn: string;
  /** as configured: s3:ObjectCreated:*, s3:ObjectRemoved:Delete, ... */
  events: string[];
  prefix?: string;
  suffix?: string;
}

export interface NotificationConfig {
  topics: TopicRule[];
  /** EventBridgeConfiguration was present (stored and echoed; Strata sends nothing there) */
  eventBridge?: boolean;
}

/** AWS allows at most this many configurations per bucket (it documents 100). */
const maxRules = 100;

function invalid(message: string, name: string, value: string): S3Error {
  return new S3Error('InvalidArgument', message, { ArgumentName: name, ArgumentValue: value });
}

function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function filterOf(rule: Record<string, unknown>): { prefix?: string; suffix?: string } {
  const filter = rule.Filter;
  if (filter === undefined) return {};
  if (typeof filter !== 'object' || filter === null) throw new S3Error('MalformedXML');
  const key = (filter as Record<string, unknown>).S3Key;
  if (key === undefined) return {};
  if (typeof key !== 'object' || key === null) throw new S3Error('MalformedXML');
  const out: { prefix?: string; suffix?: string } = {};
  for (const fr of asList((key as Record<string, unknown>).FilterRule)) {
    if (typeof fr !== 'object' || fr === null) throw new S3Error('MalformedXML');
    const name = textOf((fr as Record<string, unknown>).Name);
    const value = textOf((fr as Record<string, unknown>).Value) ?? '';
    const lower = name?.toLowerCase();
    if (lower !== 'prefix' && lower !== 'suffix') throw invalid('filter rule name must be either prefix or suffix', 'FilterRule', name ?? '');
    if (out[lower] !== undefined) throw invalid(`Cannot specify more than one ${lower} rule in a filter.`, 'FilterRule', lower);
    if (Buffer.byteLength(value) > 1024) throw invalid('The filter value is longer than 1024 bytes.', 'FilterRule', lower);
    out[lower] = value;
  }
  return out;
}

/** Whether event name `a` (maybe a wildcard) and `b` could both match one event. */
function eventsIntersect(a: string, b: string): boolean {
  const family = (e: string) => (e.endsWith(':*') ? e.slice(0, -1) : e);
  const fa = family(a);
  const fb = family(b);
  return a === b || (a.endsWith(':*') && b.startsWith(fa)) || (b.endsWith(':*') && a.startsWith(fb));
}

/** AWS's overlap rule: two rules clash when an event and a key could match both. */
function checkOverlap(rules: TopicRule[]): void {
  for (let i = 0; i < rules.length; i++) {
    for (let j = i + 1; j < rules.length; j++) {
      const a = rules[i];
      const b = rules[j];
      const shared = a.events.flatMap((ea) => b.events.filter((eb) => eventsIntersect(ea, eb)).map((eb) => `${ea}, ${eb}`));
      if (shared.length === 0) continue;
      const pa = a.prefix ?? '';
      const pb = b.prefix ?? '';
      const sa = a.suffix ?? '';
      const sb = b.suffix ?? '';
      const prefixesOverlap = pa.startsWith(pb) || pb.startsWith(pa);
      const suffixesOverlap = sa.endsWith(sb) || sb.endsWith(sa);
      if (!prefixesOverlap || !suffixesOverlap) continue;
      if (pa === '' && pb === '' && sa === '' && sb === '') {
        throw invalid('Configurations overlap. Configurations on the same bucket cannot share a common event type.', 'Event', shared[0]);
      }
      throw invalid('Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules if the prefixes are overlapping for the same event type.', 'Event', shared[0]);
    }
  }
}

/**
 * Parse a NotificationConfiguration document. `validateTopic` answers whether the bucket may
 * publish to an ARN (the topic exists, in the bucket's region, of the bucket owner's
 * organisation); destinations are checked after the document itself, as AWS does.
 */
export async function parseNotificationConfig(body: Buffer, validateTopic: (arn: string) => Promise<boolean>): Promise<NotificationConfig> {
  const doc = parseXml(body, { errorCode: 'MalformedXML', arrays: ['TopicConfiguration', 'QueueConfiguration', 'CloudFunctionConfiguration', 'Event', 'FilterRule'] });
  const root = doc.NotificationConfiguration;
  if (root === undefined) throw new S3Error('MalformedXML');
  if (root === '') return { topics: [] };
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new S3Error('MalformedXML');
  const r = root as Record<string, unknown>;
  const rules: TopicRule[] = [];
  const ids = new Set<string>();
  for (const raw of asList(r.TopicConfiguration)) {
    if (typeof raw !== 'object' || raw === null) throw new S3Error('MalformedXML');
    const rule = raw as Record<string, unknown>;
    const topicArn = textOf(rule.Topic)?.trim();
    const events = asList(rule.Event).map((e) => textOf(e)?.trim() ?? '');
    if (!topicArn || events.length === 0) throw new S3Error('MalformedXML');
    for (const e of events) if (!eventNames.has(e)) throw invalid('The event is not supported for notifications', 'Event', e);
    let id = textOf(rule.Id) ?? '';
    if (id === '') id = randomBytes(24).toString('base64url'); // AWS names an unnamed configuration itself
    if (Buffer.byteLength(id) > 1024) throw invalid('The configuration ID is longer than 1024 bytes.', 'Id', id.slice(0, 64));
    if (ids.has(id)) throw invalid('Configurations have the same ID.', 'Id', id);
    ids.add(id);
    rules.push({ id, topicArn, events: [...new Set(events)], ...filterOf(rule) });
  }
  const others = [...asList(r.QueueConfiguration), ...asList(r.CloudFunctionConfiguration)];
  if (rules.length + others.length > maxRules) throw invalid(`A bucket can have at most ${maxRules} notification configurations.`, 'NotificationConfiguration', String(rules.length + others.length));
  checkOverlap(rules);
  const unreachable: string[] = [];
  for (const o of others) {
    const arn = typeof o === 'object' && o !== null ? (textOf((o as Record<string, unknown>).Queue) ?? textOf((o as Record<string, unknown>).CloudFunction)) : undefined;
    unreachable.push(arn ?? '');
  }
  for (const rule of rules) if (!(await validateTopic(rule.topicArn))) unreachable.push(rule.topicArn);
  if (unreachable.length > 0) {
    throw new S3Error('InvalidArgument', 'Unable to validate the following destination configurations', {
      ArgumentName: unreachable[0],
      ArgumentValue: 'Permissions on the destination topic do not allow S3 to publish notifications from this bucket, or the topic does not exist',
    });
  }
  return { topics: rules, ...(r.EventBridgeConfiguration !== undefined ? { eventBridge: true } : {}) };
}

export function renderNotificationConfig(config: NotificationConfig | undefined): XmlObject {
  const out: XmlObject = {};
  if (!config) return out;
  if (config.topics.length > 0) {
    out.TopicConfiguration = config.topics.map((t) => {
      const rules = [
        ...(t.prefix !== undefined ? [{ Name: 'Prefix', Value: t.prefix }] : []),
        ...(t.suffix !== undefined ? [{ Name: 'Suffix', Value: t.suffix }] : []),
      ];
      return {
        Id: t.id,
        Topic: t.topicArn,
        Event: t.events,
        ...(rules.length > 0 ? { Filter: { S3Key: { FilterRule: rules } } } : {}),
      };
    });
  }
  if (config.eventBridge) out.EventBridgeConfiguration = {};
  return out;
}
