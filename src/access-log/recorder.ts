// Turns finished requests to logged buckets into access-log rows in the region's outbox. Rows
// are gathered for a moment (100 ms) and recorded in one transaction, so that logging adds no
// transaction to each request; the worker then writes them into the target bucket once the
// oldest has waited the bucket's roll time (deliver.ts). A kill -9 loses at most the records of
// that moment, which AWS's best-effort logs allow; everything recorded survives.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StrataConfig } from '../config.ts';
import type { OutboxEntry } from '../outbox/outbox.ts';
import type { RegionStore } from '../store/region-store.ts';
import { journalLine, operationName, standardLine, type AccessRecord } from './format.ts';
import { RequestTrace } from './trace.ts';
import { accessLogKey, accessLogKind, type AccessLogPayload } from './deliver.ts';

const journalOperations = new Set(['REST.PUT.OBJECT', 'REST.POST.UPLOAD', 'REST.DELETE.OBJECT', 'REST.POST.BUCKET']);

export class AccessLogRecorder {
  private pending = new Map<string, OutboxEntry[]>();
  /** keys a DeleteObjects request removed, by request id, until its record is written */
  private readonly deletedBy = new Map<string, { key: string; versionId: string | undefined }[]>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly regions: Map<string, RegionStore>,
    private readonly config: StrataConfig,
    private readonly wake: (region: string) => void,
  ) {}

  /** Called by the change hook for each key a DeleteObjects request to a logged bucket removes. */
  noteDeleted(requestId: string, key: string, versionId: string | undefined): void {
    const list = this.deletedBy.get(requestId) ?? [];
    if (list.length < 1000) list.push({ key, versionId });
    this.deletedBy.set(requestId, list);
  }

  trace(raw: IncomingMessage, res: ServerResponse, requestId: string): RequestTrace {
    return new RequestTrace(raw, res, requestId, (t) => {
      // Most requests go to buckets that are not logged, and the pipeline has loaded the bucket
      // already: then there is nothing to do, without a second lookup. A PutBucketLogging request
      // is looked at after its answer, so that the request that enabled logging is logged too.
      if (t.bucket !== undefined && !t.bucket?.config?.logging && !t.target?.query.has('logging')) return;
      void this.finished(t).catch(() => undefined);
    });
  }

  private async finished(t: RequestTrace): Promise<void> {
    const target = t.target;
    if (!target?.bucket || target.endpoint === 'accel') return;
    const store = this.regions.get(target.region);
    const bucket = store && (await store.getBucket(target.bucket));
    const logging = bucket?.config?.logging;
    if (!bucket || !logging) return;
    if (logging.filter && (target.key === undefined || !target.key.startsWith(logging.filter.prefix ?? '') || !target.key.endsWith(logging.filter.suffix ?? ''))) return;
    const raw = t.raw;
    const res = t.res;
    const header = (name: string) => {
      const v = res.getHeader(name);
      return v === undefined ? undefined : String(v);
    };
    const operation = operationName(raw.method ?? 'GET', target.query, target.key !== undefined);
    const status = res.statusCode;
    const now = performance.now();
    const range = header('content-range');
    const objectSize = raw.method === 'PUT' && target.key !== undefined
      ? Number(raw.headers['x-amz-decoded-content-length'] ?? raw.headers['content-length'] ?? NaN)
      : range ? Number(range.split('/')[1]) : status < 300 && target.key !== undefined ? Number(header('content-length') ?? NaN) : NaN;
    const tls = t.tls;
    const record: AccessRecord = {
      bucketOwner: bucket.ownerOrg,
      bucket: bucket.name,
      time: t.time,
      remoteIp: t.sourceIp ?? raw.socket?.remoteAddress ?? '',
      requester: t.principal ? `${t.principal.org}:${t.principal.user}` : '',
      requestId: t.requestId,
      operation,
      key: target.key,
      requestUri: `${raw.method} ${raw.url} HTTP/${raw.httpVersion}`,
      status,
      errorCode: t.errorCode,
      bytesSent: t.bytesSent,
      objectSize: Number.isFinite(objectSize) ? objectSize : undefined,
      totalMs: now - t.started,
      turnAroundMs: t.firstByteAt === undefined ? undefined : t.firstByteAt - t.started,
      referrer: raw.headers.referer,
      userAgent: raw.headers['user-agent'],
      versionId: header('x-amz-version-id') ?? target.query.get('versionId'),
      hostId: t.requestId,
      ...t.auth,
      cipherSuite: tls.cipher,
      hostHeader: raw.headers.host,
      tlsVersion: tls.version,
      etag: header('etag'),
      aclRequired: t.aclRequired,
    };
    // DeleteObjects: one record per key it removed (Ceph RGW), as the change hook noted them.
    const deleted = this.deletedBy.get(t.requestId);
    this.deletedBy.delete(t.requestId);
    const records = deleted && operation === 'REST.POST.DELETE_MULTI_OBJECT' ? deleted.map((d) => ({ ...record, key: d.key, versionId: d.versionId })) : [record];
    const lines: string[] = [];
    for (const r of records) {
      if (logging.loggingType === 'Standard') lines.push(standardLine(r));
      else if (status < 300 && (journalOperations.has(operation) || operation === 'REST.POST.DELETE_MULTI_OBJECT')) lines.push(journalLine(r));
    }
    const rollMs = (logging.objectRollTime ?? this.config.accessLogDelaySeconds) * 1000;
    const list = this.pending.get(target.region) ?? [];
    for (const line of lines) {
      const payload: AccessLogPayload = {
        target: logging.targetBucket,
        prefix: logging.targetPrefix,
        format: logging.keyFormat,
        dateSource: logging.partitionDateSource,
        owner: bucket.ownerOrg,
        bucket: bucket.name,
        at: t.time.getTime(),
        line,
      };
      list.push({ kind: accessLogKind, key: accessLogKey(logging.targetBucket, logging.targetPrefix), payload: JSON.stringify(payload), dueAt: Date.now() + rollMs });
    }
    if (list.length === 0) return;
    this.pending.set(target.region, list);
    this.timer ??= setTimeout(() => void this.flush(), 100);
  }

  /** Record what is gathered now (also before a flush request delivers, and at shutdown). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batches = this.pending;
    this.pending = new Map();
    this.writing = this.writing.then(async () => {
      for (const [region, entries] of batches) {
        const store = this.regions.get(region);
        if (!store) continue;
        await store.meta.transaction((tx) => tx.enqueueOutbox(entries)).catch((error) => process.stderr.write(`strata access log ${region}: ${(error as Error).message}\n`));
        this.wake(region);
      }
    });
    return this.writing;
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
