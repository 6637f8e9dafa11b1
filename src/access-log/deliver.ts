// Writing access-log records into target buckets. The worker hands over the first rows of one
// target and prefix once the oldest has waited its roll time; they become one log object
// (partitioned keys: one per source bucket), named as AWS names them:
//   simple:      <prefix>YYYY-mm-DD-HH-MM-SS-<unique>
//   partitioned: <prefix><owner>/<region>/<bucket>/YYYY/mm/DD/YYYY-mm-DD-HH-MM-SS-<unique>
// <unique> comes from the first row's id, so a redelivery after a crash within the same second
// overwrites the same object. Log objects belong to the target's owner and count against its
// quota; a target that is gone drops the records.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { OutboxRow } from '../outbox/outbox.ts';
import type { Deliverer } from '../outbox/worker.ts';
import type { RegionStore } from '../store/region-store.ts';
import type { ObjectRecord } from '../store/types.ts';
import { quotaGuard } from '../quota/quota.ts';

export const accessLogKind = 'access-log';
/**
 * Rows are batched per target bucket and prefix, as Ceph RGW does: the logs of several buckets
 * sent to one place share log objects (each record names its bucket).
 */
export const accessLogKey = (target: string, prefix: string) => `access-log:${target}/${prefix}`;

/** What an access-log row holds. */
export interface AccessLogPayload {
  target: string;
  prefix: string;
  format: 'simple' | 'partitioned';
  dateSource?: 'EventTime' | 'DeliveryTime';
  owner: string;
  bucket: string;
  /** when the request arrived (ms) */
  at: number;
  line: string;
}

/** Records per log object at most (and rows the worker hands over at once). */
const maxRecords = 10_000;

const two = (n: number) => String(n).padStart(2, '0');

function logObjectKey(region: string, p: AccessLogPayload, firstId: number, now: Date): string {
  const t = now;
  const stamp = `${t.getUTCFullYear()}-${two(t.getUTCMonth() + 1)}-${two(t.getUTCDate())}-${two(t.getUTCHours())}-${two(t.getUTCMinutes())}-${two(t.getUTCSeconds())}`;
  const unique = createHash('sha256').update(`${region}\0${p.bucket}\0${firstId}`).digest('hex').slice(0, 16).toUpperCase();
  if (p.format === 'simple') return `${p.prefix}${stamp}-${unique}`;
  const d = p.dateSource === 'EventTime' ? new Date(p.at) : t;
  return `${p.prefix}${p.owner}/${region}/${p.bucket}/${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${stamp}-${unique}`;
}

async function writeLogObject(store: RegionStore, targetName: string, key: string, body: Buffer, defaultQuotaBytes: number): Promise<boolean> {
  const target = await store.getBucket(targetName);
  if (!target) return false;
  const quota = await quotaGuard(store, target.ownerOrg, defaultQuotaBytes, 0);
  quota.beforeRead(body.length);
  const written = await store.blobs.write(Readable.from([body]), [], { declaredSize: body.length, md5: true });
  const record: ObjectRecord = {
    bucket: targetName,
    key,
    size: body.length,
    etag: written.md5!.toString('hex'),
    lastModified: Date.now(),
    ownerOrg: target.ownerOrg,
    meta: { user: {}, contentType: 'text/plain' },
    blob: written.id,
    manifest: null,
    sse: null,
  };
  try {
    await store.commitObject(record, {}, (_previous, freed, usage) => quota.atCommit(freed, record.size, usage), { operation: 'PutObject', requestId: '', sourceIp: '', principalId: 'logging.s3.amazonaws.com' });
  } catch (error) {
    await store.blobs.remove(written.id).catch(() => undefined);
    throw error;
  }
  await store.durable();
  return true;
}

export interface AccessLogDeliverer extends Deliverer {
  /** write the rows as log objects; the keys written */
  write(rows: OutboxRow[]): Promise<string[]>;
}

/** The deliverer of one region's access-log rows (targets are in the same region). */
export function accessLogDeliverer(store: RegionStore, options: { retryForMs: number; defaultQuotaBytes: number }): AccessLogDeliverer {
  const region = store.name;
  const write = async (rows: OutboxRow[]): Promise<string[]> => {
    if (rows.length === 0) return [];
    // One object per key format (and, partitioned, per source bucket, which names the key), records in order.
    const groups = new Map<string, { first: AccessLogPayload; firstId: number; lines: string[] }>();
    for (const row of rows) {
      const p = JSON.parse(row.payload) as AccessLogPayload;
      const group = p.format === 'partitioned' ? `p\0${p.bucket}\0${p.dateSource}` : 's';
      const g = groups.get(group) ?? { first: p, firstId: row.id, lines: [] };
      g.lines.push(p.line);
      groups.set(group, g);
    }
    const keys: string[] = [];
    const now = new Date();
    for (const g of groups.values()) {
      const key = logObjectKey(region, g.first, g.firstId, now);
      if (await writeLogObject(store, g.first.target, key, Buffer.from(g.lines.join('\n') + '\n'), options.defaultQuotaBytes)) keys.push(key);
    }
    return keys;
  };
  return {
    batchSize: maxRecords,
    retryForMs: options.retryForMs,
    nameOf: (row) => row.key.slice('access-log:'.length),
    write,
    async deliver(rows) {
      const keys = await write(rows);
      return keys.length > 0 ? 'delivered' : 'dropped';
    },
  };
}

/** POST ?logging: deliver what is pending for the bucket's target and prefix now. */
export async function flushAccessLog(store: RegionStore, target: string, prefix: string, deliverer: AccessLogDeliverer): Promise<string[]> {
  const key = accessLogKey(target, prefix);
  const rows = await store.meta.outbox.batch(key, maxRecords);
  if (rows.length === 0) return [];
  const keys = await deliverer.write(rows);
  await store.meta.outbox.settle({ remove: rows.map((r) => r.id), kind: accessLogKind, name: deliverer.nameOf(rows[0]), ...(keys.length > 0 ? { delivered: rows.length } : { dropped: rows.length }) });
  return keys;
}
