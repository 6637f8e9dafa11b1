// A bucket's logging configuration (PutBucketLogging's BucketLoggingStatus): AWS's
// LoggingEnabled (TargetBucket, TargetPrefix, TargetGrants, TargetObjectKeyFormat) and the Ceph
// RGW extensions s3-tests exercises that cost little here: LoggingType (Standard: AWS's record;
// Journal: one short record per object change), ObjectRollTime (seconds a log object collects
// records) and RecordsBatchSize (echoed; records are batched by time only), and a key Filter.
// TargetGrants are accepted and not kept, as on Ceph RGW (log objects belong to the target's owner).
import { S3Error } from '../errors.ts';
import { parseXml, textOf, type XmlObject } from '../xml/xml.ts';

export interface LoggingConfig {
  targetBucket: string;
  targetPrefix: string;
  keyFormat: 'simple' | 'partitioned';
  /** partitioned keys: which time names the partition */
  partitionDateSource?: 'EventTime' | 'DeliveryTime';
  loggingType: 'Standard' | 'Journal';
  /** seconds; absent: the server's accessLogDelaySeconds */
  objectRollTime?: number;
  recordsBatchSize: number;
  filter?: { prefix?: string; suffix?: string };
  /** when the configuration last changed (ms): GetBucketLogging's Last-Modified */
  modifiedAt?: number;
}

const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : v === '' ? {} : undefined);

/** undefined: logging disabled (an empty BucketLoggingStatus). */
export function parseLoggingStatus(body: Buffer): LoggingConfig | undefined {
  const doc = parseXml(body, { errorCode: 'MalformedXML', arrays: ['FilterRule', 'Grant'] });
  const root = obj(doc.BucketLoggingStatus);
  if (!root) throw new S3Error('MalformedXML');
  if (root.LoggingEnabled === undefined) return undefined;
  const e = obj(root.LoggingEnabled);
  if (!e) throw new S3Error('MalformedXML');
  const targetBucket = textOf(e.TargetBucket);
  if (!targetBucket) throw new S3Error('MalformedXML');
  const targetPrefix = textOf(e.TargetPrefix) ?? '';
  if (Buffer.byteLength(targetPrefix) > 512) throw new S3Error('InvalidArgument', 'The target prefix is longer than 512 bytes.', { ArgumentName: 'TargetPrefix' });
  const config: LoggingConfig = { targetBucket, targetPrefix, keyFormat: 'simple', loggingType: 'Standard', recordsBatchSize: 0 };
  if (e.TargetObjectKeyFormat !== undefined) {
    const f = obj(e.TargetObjectKeyFormat);
    if (!f) throw new S3Error('MalformedXML');
    if (f.PartitionedPrefix !== undefined) {
      const p = obj(f.PartitionedPrefix);
      const source = p ? (textOf(p.PartitionDateSource) ?? 'EventTime') : undefined;
      if (source !== 'EventTime' && source !== 'DeliveryTime') throw new S3Error('MalformedXML');
      if (f.SimplePrefix !== undefined) throw new S3Error('MalformedXML');
      config.keyFormat = 'partitioned';
      config.partitionDateSource = source;
    } else if (f.SimplePrefix === undefined) throw new S3Error('MalformedXML');
  }
  if (e.LoggingType !== undefined) {
    const type = textOf(e.LoggingType);
    if (type !== 'Standard' && type !== 'Journal') throw new S3Error('MalformedXML');
    config.loggingType = type;
  }
  if (e.ObjectRollTime !== undefined) {
    const seconds = Number(textOf(e.ObjectRollTime));
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) throw new S3Error('MalformedXML');
    config.objectRollTime = seconds;
  }
  if (e.RecordsBatchSize !== undefined) {
    const n = Number(textOf(e.RecordsBatchSize));
    if (!Number.isInteger(n) || n < 0) throw new S3Error('MalformedXML');
    config.recordsBatchSize = n;
  }
  const key = obj(obj(e.Filter)?.S3Key);
  if (key) {
    const filter: { prefix?: string; suffix?: string } = {};
    for (const rule of (key.FilterRule as unknown[] | undefined) ?? []) {
      const r = obj(rule);
      const name = textOf(r?.Name)?.toLowerCase();
      if (name !== 'prefix' && name !== 'suffix') throw new S3Error('InvalidArgument', 'filter rule name must be either prefix or suffix', { ArgumentName: 'FilterRule' });
      filter[name] = textOf(r?.Value) ?? '';
    }
    config.filter = filter;
  }
  return config;
}

export function renderLoggingStatus(config: LoggingConfig | undefined, defaultRollTime: number): XmlObject {
  if (!config) return {};
  const filterRules = [
    ...(config.filter?.prefix !== undefined ? [{ Name: 'prefix', Value: config.filter.prefix }] : []),
    ...(config.filter?.suffix !== undefined ? [{ Name: 'suffix', Value: config.filter.suffix }] : []),
  ];
  return {
    LoggingEnabled: {
      TargetBucket: config.targetBucket,
      TargetPrefix: config.targetPrefix,
      TargetObjectKeyFormat: config.keyFormat === 'partitioned' ? { PartitionedPrefix: { PartitionDateSource: config.partitionDateSource ?? 'EventTime' } } : { SimplePrefix: {} },
      ObjectRollTime: config.objectRollTime ?? defaultRollTime,
      LoggingType: config.loggingType,
      RecordsBatchSize: config.recordsBatchSize,
      ...(filterRules.length > 0 ? { Filter: { S3Key: { FilterRule: filterRules } } } : {}),
    },
  };
}
