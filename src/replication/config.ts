// A bucket's replication configuration (PutBucketReplication): rules with ID, Priority, Filter
// (Prefix, or a Tag, or And of a Prefix and Tags), Status, DeleteMarkerReplication and a
// destination bucket arn:aws:s3:::<bucket> in another region of this deployment (optional
// StorageClass). Checked as AWS checks it; stored in BucketConfig.replication.
import { S3Error } from '../errors.ts';
import { parseXml, textOf, type XmlObject } from '../xml/xml.ts';

export interface ReplicationRule {
  id: string;
  priority: number;
  prefix: string;
  tags: [string, string][];
  enabled: boolean;
  deleteMarkers: boolean;
  destinationBucket: string;
  /** the region holding the destination bucket, found when the configuration was set */
  destinationRegion: string;
  storageClass?: string;
}

export interface ReplicationConfig {
  role: string;
  rules: ReplicationRule[];
}

const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : v === '' ? {} : undefined);
const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const malformed = () => new S3Error('MalformedXML');

function tagOf(v: unknown): [string, string] {
  const t = obj(v);
  const key = textOf(t?.Key);
  if (!t || key === undefined) throw malformed();
  return [key, textOf(t.Value) ?? ''];
}

export function parseReplicationConfig(body: Buffer): ReplicationConfig {
  const doc = parseXml(body, { errorCode: 'MalformedXML', arrays: ['Rule', 'Tag'] });
  const root = obj(doc.ReplicationConfiguration);
  if (!root) throw malformed();
  const rules: ReplicationRule[] = [];
  const ids = new Set<string>();
  const priorities = new Set<number>();
  const raw = list(root.Rule);
  if (raw.length === 0 || raw.length > 1000) throw malformed();
  for (const r of raw) {
    const rule = obj(r);
    if (!rule) throw malformed();
    const status = textOf(rule.Status);
    if (status !== 'Enabled' && status !== 'Disabled') throw malformed();
    const destination = obj(rule.Destination);
    const arn = textOf(destination?.Bucket);
    if (!arn) throw malformed();
    const m = /^arn:aws:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/.exec(arn);
    if (!m) throw new S3Error('InvalidArgument', 'Invalid bucket ARN.', { ArgumentName: 'Destination', ArgumentValue: arn });
    const id = textOf(rule.ID) ?? `rule-${rules.length + 1}`;
    if (id.length > 255) throw new S3Error('InvalidArgument', 'Rule ID must not exceed 255 characters.', { ArgumentName: 'ID' });
    if (ids.has(id)) throw new S3Error('InvalidRequest', 'Rule Id must be unique.');
    ids.add(id);
    let prefix = textOf(rule.Prefix) ?? '';
    let tags: [string, string][] = [];
    const filter = obj(rule.Filter);
    if (rule.Filter !== undefined) {
      if (!filter) throw malformed();
      if (rule.Prefix !== undefined) throw malformed(); // V1 Prefix and V2 Filter together
      const and = obj(filter.And);
      if (and) {
        prefix = textOf(and.Prefix) ?? '';
        tags = list(and.Tag).map(tagOf);
      } else {
        prefix = textOf(filter.Prefix) ?? '';
        if (filter.Tag !== undefined) tags = list(filter.Tag).map(tagOf);
        if (tags.length > 1 || (tags.length === 1 && filter.Prefix !== undefined)) throw malformed();
      }
    }
    const priority = rule.Priority === undefined ? 0 : Number(textOf(rule.Priority));
    if (!Number.isInteger(priority) || priority < 0) throw malformed();
    if (rule.Filter !== undefined && priorities.has(priority) && raw.length > 1) throw new S3Error('InvalidRequest', 'Found duplicate priority ' + priority + ' when priorities are required.');
    priorities.add(priority);
    const dm = textOf(obj(rule.DeleteMarkerReplication)?.Status);
    if (dm !== undefined && dm !== 'Enabled' && dm !== 'Disabled') throw malformed();
    // AWS: a rule with a Filter (V2) must say whether delete markers are replicated.
    if (rule.Filter !== undefined && dm === undefined) throw new S3Error('InvalidRequest', 'DeleteMarkerReplication must be specified for this version of Cross Region Replication configuration schema.');
    const storageClass = textOf(destination?.StorageClass);
    rules.push({ id, priority, prefix, tags, enabled: status === 'Enabled', deleteMarkers: dm === 'Enabled', destinationBucket: m[1], destinationRegion: '', ...(storageClass ? { storageClass } : {}) });
  }
  return { role: textOf(root.Role) ?? '', rules };
}

export function renderReplicationConfig(config: ReplicationConfig): XmlObject {
  return {
    ...(config.role ? { Role: config.role } : {}),
    Rule: config.rules.map((r) => {
      const tagXml = r.tags.map(([Key, Value]) => ({ Key, Value }));
      const filter = tagXml.length === 0 ? { Prefix: r.prefix } : { And: { Prefix: r.prefix, Tag: tagXml } };
      return {
        ID: r.id,
        Priority: r.priority,
        Filter: filter,
        Status: r.enabled ? 'Enabled' : 'Disabled',
        DeleteMarkerReplication: { Status: r.deleteMarkers ? 'Enabled' : 'Disabled' },
        Destination: { Bucket: `arn:aws:s3:::${r.destinationBucket}`, ...(r.storageClass ? { StorageClass: r.storageClass } : {}) },
      };
    }),
  };
}

/** The rule that applies to a new version of `key` with `tags` (the highest priority), if any. */
export function ruleFor(config: ReplicationConfig, key: string, tags: [string, string][]): ReplicationRule | undefined {
  let chosen: ReplicationRule | undefined;
  for (const r of config.rules) {
    if (!r.enabled || !key.startsWith(r.prefix)) continue;
    if (!r.tags.every(([k, v]) => tags.some(([tk, tv]) => tk === k && tv === v))) continue;
    if (!chosen || r.priority > chosen.priority) chosen = r;
  }
  return chosen;
}
