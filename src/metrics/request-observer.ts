// What the S3 listener records about each request, once its response has closed: the request
// counters and histograms (families.ts) and, when configured, one access-log line. The pipeline
// fills in a RequestRecord as it learns things (operation, region, bucket, principal); nothing
// here runs before the response is over, and nothing here can fail the request.
//
// Per request: two Map lookups by short string keys, a handful of additions, a bucket search in
// two histograms. Label sets are bounded: operations and error codes come from Strata's own
// tables, regions from the configuration, status codes from HTTP. Bucket names become a label
// only when the operator opts in (metricsBucketLabel), and only for buckets that exist.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { Principal } from '../identity/identity-store.ts';
import { errorCodeSent } from '../http/reply.ts';
import { CounterFamily, HistogramFamily, type Buckets, type Count } from './families.ts';
import type { AccessLog } from '../logging/access-log.ts';

/** Seconds; from a sub-millisecond cached GET to a multi-gigabyte upload. */
export const durationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Everything known about one request; the pipeline sets the fields as it learns them. */
export interface RequestRecord {
  readonly requestId: string;
  readonly method: string;
  /** performance.now() when the request reached the pipeline */
  readonly start: number;
  /** performance.now() when the response head was written; 0 until then */
  headersAt: number;
  /** the S3 operation (route table name); 'Unrouted' when the request failed before routing */
  operation: string;
  region: string;
  bucket?: string;
  /** the bucket exists (only then may it become a label) */
  bucketFound: boolean;
  key?: string;
  principal?: Principal;
  sourceIp?: string;
  readonly socket: Socket;
  /** socket.bytesWritten at the start, for responses cut short (see sentBytes) */
  readonly writtenBefore: number;
}

/** Per operation and region: the families' series, looked up once per request. */
interface OperationSeries {
  received: Count;
  sent: Count;
  duration: Buckets;
  ttfb: Buckets;
}

const SEP = '\u0001';

export class RequestMetrics {
  inFlight = 0;
  private readonly requests: CounterFamily;
  private readonly received: CounterFamily;
  private readonly sent: CounterFamily;
  private readonly errors: CounterFamily;
  private readonly duration: HistogramFamily;
  private readonly ttfb: HistogramFamily;
  private readonly byOperation = new Map<string, OperationSeries>();

  constructor(registry: Registry) {
    this.requests = new CounterFamily('strata_s3_requests_total', 'S3 requests by operation, region and HTTP status (bucket too when metricsBucketLabel is on).', registry);
    this.received = new CounterFamily('strata_s3_received_bytes_total', 'Request body bytes received (Content-Length of requests), by operation and region.', registry);
    this.sent = new CounterFamily('strata_s3_sent_bytes_total', 'Response body bytes sent, by operation and region.', registry);
    this.errors = new CounterFamily('strata_s3_errors_total', 'S3 error responses by error code and operation.', registry);
    this.duration = new HistogramFamily('strata_s3_request_duration_seconds', 'Time from the request reaching the pipeline to its response being done, by operation.', registry, durationBuckets);
    this.ttfb = new HistogramFamily('strata_s3_time_to_first_byte_seconds', 'Time from the request reaching the pipeline to its response head being written, by operation.', registry, durationBuckets);
  }

  private seriesOf(operation: string, region: string): OperationSeries {
    const key = operation + SEP + region;
    let s = this.byOperation.get(key);
    if (!s) {
      const labels = () => ({ operation, region });
      const byOp = () => ({ operation });
      s = {
        received: this.received.at(key, labels),
        sent: this.sent.at(key, labels),
        duration: this.duration.at(operation, byOp),
        ttfb: this.ttfb.at(operation, byOp),
      };
      this.byOperation.set(key, s);
    }
    return s;
  }

  record(rec: RequestRecord, status: string, receivedBytes: number, sentBytes: number, errorCode: string | undefined, end: number, bucketLabel: string | undefined): void {
    const { operation, region } = rec;
    const series = this.seriesOf(operation, region);
    const requestKey = bucketLabel === undefined ? operation + SEP + region + SEP + status : operation + SEP + region + SEP + status + SEP + bucketLabel;
    this.requests.at(requestKey, (): Record<string, string> => (bucketLabel === undefined ? { operation, region, status } : { operation, region, status, bucket: bucketLabel })).value++;
    series.received.value += receivedBytes;
    series.sent.value += sentBytes;
    series.duration.observe((end - rec.start) / 1000);
    if (rec.headersAt > 0) series.ttfb.observe((rec.headersAt - rec.start) / 1000);
    if (errorCode !== undefined) this.errors.at(errorCode + SEP + operation, () => ({ code: errorCode, operation })).value++;
  }
}

function declaredLength(value: string | string[] | number | undefined): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** Status of a response; 499 (nginx's "client closed request") when the head was never sent. */
function statusOf(res: ServerResponse): string {
  return res.headersSent ? String(res.statusCode) : '499';
}

/**
 * Body bytes sent: the response's Content-Length when it completed (HEAD, 204 and 304 send
 * none). A response cut short counts what reached the socket since the request began (its head
 * included: an approximation, where exactness would cost a listener on every write).
 */
function sentBytes(rec: RequestRecord, res: ServerResponse): number {
  if (res.writableFinished) {
    if (rec.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304) return 0;
    return declaredLength(res.getHeader('content-length'));
  }
  return Math.max(0, (rec.socket.bytesWritten ?? 0) - rec.writtenBefore);
}

export class RequestObserver {
  constructor(
    readonly metrics: RequestMetrics,
    private readonly accessLog: AccessLog | undefined,
    private readonly bucketLabels: boolean,
    private readonly sourceIp: (raw: IncomingMessage) => string,
  ) {}

  begin(raw: IncomingMessage, res: ServerResponse, requestId: string, defaultRegion: string): RequestRecord {
    const rec: RequestRecord = {
      requestId,
      method: raw.method ?? 'GET',
      start: performance.now(),
      headersAt: 0,
      operation: 'Unrouted',
      region: defaultRegion,
      bucketFound: false,
      socket: raw.socket,
      writtenBefore: raw.socket.bytesWritten ?? 0,
    };
    this.metrics.inFlight++;
    res.once('close', () => this.finish(raw, res, rec));
    return rec;
  }

  private finish(raw: IncomingMessage, res: ServerResponse, rec: RequestRecord): void {
    this.metrics.inFlight--;
    const end = performance.now();
    const status = statusOf(res);
    const received = declaredLength(raw.headers['content-length']);
    const sent = sentBytes(rec, res);
    const errorCode = res.statusCode >= 300 && res.statusCode !== 304 ? errorCodeSent(res) : undefined;
    const bucketLabel = this.bucketLabels && rec.bucketFound ? rec.bucket : undefined;
    this.metrics.record(rec, status, received, sent, errorCode, end, bucketLabel);
    if (this.accessLog) {
      this.accessLog.write({
        requestId: rec.requestId,
        operation: rec.operation,
        method: rec.method,
        region: rec.region,
        bucket: rec.bucket,
        key: rec.key,
        status: Number(status),
        errorCode,
        bytesReceived: received,
        bytesSent: sent,
        durationMs: Math.round((end - rec.start) * 1000) / 1000,
        ttfbMs: rec.headersAt > 0 ? Math.round((rec.headersAt - rec.start) * 1000) / 1000 : undefined,
        org: rec.principal?.org,
        user: rec.principal?.user,
        accessKey: rec.principal?.accessKey,
        sourceIp: rec.sourceIp ?? this.sourceIp(raw),
        userAgent: raw.headers['user-agent'],
      });
    }
  }
}
