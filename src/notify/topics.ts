// Notification topics: destinations the operator manages (admin API, `strata topic`), each an
// HTTP(S) webhook. A bucket's notification configuration names one by its ARN,
// arn:aws:sns:<region>:<organisation>:<topic>, as AWS names SNS topics; the topic must be in the
// bucket's region and belong to the bucket owner's organisation. Attribute names follow Ceph
// RGW's topic API where it has one (push-endpoint, OpaqueData).
import { labelProblem } from '../identity/names.ts';

export interface Topic {
  org: string;
  name: string;
  /** http:// or https:// URL the events are POSTed to */
  endpoint: string;
  /** HMAC-SHA256 key: each message carries X-Strata-Signature: sha256=<hex of the body's HMAC> */
  secret: string | null;
  /** sent with every event as the record's opaqueData (Ceph RGW) */
  opaqueData: string | null;
  createdAt: number;
}

export interface TopicTable {
  /** create or replace */
  put(topic: Topic): Promise<'created' | 'updated'>;
  get(org: string, name: string): Promise<Topic | undefined>;
  list(org?: string): Promise<Topic[]>;
  delete(org: string, name: string): Promise<boolean>;
}

export class TopicError extends Error {}

const topicName = /^[A-Za-z0-9_-]{1,256}$/;

/** Check a topic as the operator gives it; throws TopicError with the reason. */
export function validateTopic(t: { org: string; name: string; endpoint: string; secret?: string | null; opaqueData?: string | null }): void {
  const orgProblem = labelProblem(t.org);
  if (orgProblem) throw new TopicError(`organisation "${t.org}": ${orgProblem}`);
  if (!topicName.test(t.name)) throw new TopicError('a topic name is 1-256 letters, digits, "-" or "_" (as SNS topic names)');
  let url: URL;
  try {
    url = new URL(t.endpoint);
  } catch {
    throw new TopicError(`push-endpoint "${t.endpoint}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TopicError('push-endpoint must be an http:// or https:// URL');
  if (url.username || url.password) throw new TopicError('push-endpoint must not carry credentials; use a secret for signatures');
  if (t.endpoint.length > 2048) throw new TopicError('push-endpoint is longer than 2048 characters');
  if (t.secret != null && (t.secret.length < 16 || t.secret.length > 256)) throw new TopicError('a topic secret is 16-256 characters');
  if (t.opaqueData != null && t.opaqueData.length > 1024) throw new TopicError('OpaqueData is at most 1024 characters');
}

export function topicArn(region: string, org: string, name: string): string {
  return `arn:aws:sns:${region}:${org}:${name}`;
}

/** arn:aws:sns:<region>:<org>:<name>, or undefined for anything else. */
export function parseTopicArn(arn: string): { region: string; org: string; name: string } | undefined {
  const m = /^arn:aws:sns:([a-z0-9-]+):([a-z0-9-]+):([A-Za-z0-9_-]{1,256})$/.exec(arn);
  return m ? { region: m[1], org: m[2], name: m[3] } : undefined;
}

/** What the operator sees of a topic: never its secret. */
export function topicView(region: string, t: Topic): Record<string, unknown> {
  return {
    arn: topicArn(region, t.org, t.name),
    region,
    organisation: t.org,
    name: t.name,
    'push-endpoint': t.endpoint,
    signed: t.secret !== null,
    ...(t.opaqueData !== null ? { OpaqueData: t.opaqueData } : {}),
    created: new Date(t.createdAt).toISOString(),
  };
}
