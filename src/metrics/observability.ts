// One per server (per Services): the Prometheus registry, the request observer both S3 listeners
// (HTTP and HTTPS) share, the access log, and the shutdown flag readiness reports. The S3 app and
// the admin listener find it from the Services they were built with.
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { sourceIpOf } from '../access/request-conditions.ts';
import type { Readiness } from '../health/readiness.ts';
import { openAccessLog, type AccessLog } from '../logging/access-log.ts';
import type { Services } from '../ops/operation.ts';
import { RequestMetrics, RequestObserver } from './request-observer.ts';
import { registerScrapedMetrics } from './scraped.ts';

export class Observability {
  readonly registry = new Registry();
  readonly requests: RequestObserver;
  readonly accessLog: AccessLog | undefined;
  /** set when the S3 listener begins to close: readiness turns false before requests are refused */
  shuttingDown = false;
  /** the readiness checks running now, shared by the probes that arrive meanwhile (endpoints.ts) */
  readinessProbe: Promise<Readiness> | undefined;
  private users = 0;

  constructor(readonly services: Services) {
    const { config } = services;
    collectDefaultMetrics({ register: this.registry });
    const metrics = new RequestMetrics(this.registry);
    new Gauge({
      name: 'strata_s3_requests_in_flight',
      help: 'S3 requests being served now.',
      registers: [this.registry],
      collect() {
        this.set(metrics.inFlight);
      },
    });
    new Gauge({ name: 'strata_build_info', help: 'Strata build information (always 1).', labelNames: ['version'], registers: [this.registry] }).set({ version: strataVersion }, 1);
    registerScrapedMetrics(this.registry, services);
    this.accessLog = openAccessLog(config.accessLog);
    this.requests = new RequestObserver(metrics, this.accessLog, config.metricsBucketLabel, (raw: IncomingMessage) => sourceIpOf({ raw, services }));
  }

  /** A listener that uses this object; close() releases it when the last one is done. */
  retain(): this {
    this.users++;
    return this;
  }

  /** The last listener is done: the access log is flushed and closed (readiness stays answerable, and false). */
  close(): void {
    if (--this.users > 0) return;
    this.accessLog?.close();
  }
}

/** The version in package.json, read once (a label of strata_build_info). */
const strataVersion: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

const byServices = new WeakMap<Services, Observability>();

export function observabilityOf(services: Services): Observability {
  let o = byServices.get(services);
  if (!o) {
    o = new Observability(services);
    byServices.set(services, o);
  }
  return o;
}

/** Hook an S3 app (HTTP or HTTPS) to the server's Observability: readiness drops when it begins to close. */
export function observeApp(app: { addHook(name: 'preClose' | 'onClose', hook: () => Promise<void>): unknown }, services: Services): Observability {
  const obs = observabilityOf(services).retain();
  app.addHook('preClose', async () => {
    obs.shuttingDown = true;
  });
  app.addHook('onClose', async () => obs.close());
  return obs;
}
