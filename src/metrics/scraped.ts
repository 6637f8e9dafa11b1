// Metrics read at scrape time from where their numbers already live: usage and quotas from each
// region's metadata, the accelerated read cache's counters, the background workers' queues.
// Nothing on the request path touches them.
import { Gauge, type Registry } from 'prom-client';
import type { Services } from '../ops/operation.ts';
import type { RegionStores } from '../store/open.ts';
import { CounterFamily } from './families.ts';
import type { RegionStore } from '../store/region-store.ts';
import { accessLogKind } from '../access-log/deliver.ts';
import { notifyKind } from '../notify/deliver.ts';
import { replicateKind } from '../replication/deliver.ts';

/** The outbox's kinds of delivery, each a worker label of the queue gauges (always present, 0 when idle). */
const outboxKinds = [notifyKind, accessLogKind, replicateKind];

/** Counters the accelerated cache keeps (src/accel/cache.ts CacheStats), exported under these names. */
const accelCounters = {
  hits: ['strata_accel_cache_hits_total', 'Accelerated reads answered from the cache alone.'],
  misses: ['strata_accel_cache_misses_total', 'Accelerated reads that asked the origin or joined a running fill.'],
  revalidated: ['strata_accel_cache_revalidations_total', 'Cached entries confirmed by the origin (304).'],
  fills: ['strata_accel_cache_fills_total', 'Completed cache fills.'],
  fillFailures: ['strata_accel_cache_fill_failures_total', 'Cache fills that failed.'],
  evictions: ['strata_accel_cache_evictions_total', 'Entries evicted to make room.'],
  originRequests: ['strata_accel_origin_requests_total', 'Requests sent to an origin (fills, metadata, revalidations, bypass ranges).'],
  bypass: ['strata_accel_cache_bypass_total', 'Reads served by ranged origin requests because the object would not fit.'],
} as const;

interface AccelStatsReader {
  stats(): Record<string, unknown> & { bytes: number; capacity: number; entries: number };
}

function accelOf(services: Services): AccelStatsReader | undefined {
  const accel = services.accel as unknown as Partial<AccelStatsReader> | undefined;
  return typeof accel?.stats === 'function' ? (accel as AccelStatsReader) : undefined;
}

/** A counter whose value is copied from elsewhere at scrape time (it is never incremented here). */
class CopiedCounter extends CounterFamily {
  constructor(name: string, help: string, registry: Registry, private readonly read: () => number | undefined) {
    super(name, help, registry);
  }
  override async get() {
    const value = this.read();
    if (value !== undefined) this.at('', () => ({})).value = value;
    return super.get();
  }
}

export function registerScrapedMetrics(registry: Registry, services: Services): void {
  const regions = () => [...services.regions.entries()];
  const usage = async () => {
    const rows: { org: string; region: string; bytes: number; objects: number; quota: number }[] = [];
    for (const [region, store] of regions()) {
      for (const u of await store.allUsage()) rows.push({ org: u.org, region, bytes: u.bytes, objects: u.objects, quota: u.quota ?? services.config.defaultQuotaBytes });
    }
    return rows;
  };
  // One read of the usage tables per scrape serves the three gauges.
  let pending: Promise<Awaited<ReturnType<typeof usage>>> | undefined;
  const usageOnce = () => {
    pending ??= usage().finally(() => setImmediate(() => (pending = undefined)));
    return pending;
  };
  const usageGauge = (name: string, help: string, pick: (r: Awaited<ReturnType<typeof usage>>[number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['organisation', 'region'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of await usageOnce()) this.set({ organisation: r.org, region: r.region }, pick(r));
      },
    });
  usageGauge('strata_usage_stored_bytes', 'Bytes stored per organisation and region (every version and unfinished part counts).', (r) => r.bytes);
  usageGauge('strata_usage_objects', 'Objects stored per organisation and region.', (r) => r.objects);
  usageGauge('strata_quota_bytes', 'Storage quota per organisation and region.', (r) => r.quota);

  for (const [field, [name, help]] of Object.entries(accelCounters)) {
    new CopiedCounter(name, help, registry, () => accelOf(services)?.stats()[field] as number | undefined);
  }
  const accelGauge = (name: string, help: string, pick: (s: ReturnType<AccelStatsReader['stats']>) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const accel = accelOf(services);
        if (accel) this.set(pick(accel.stats()));
      },
    });
  accelGauge('strata_accel_cache_bytes', 'Bytes of cached object data (complete and being filled).', (s) => s.bytes);
  accelGauge('strata_accel_cache_capacity_bytes', 'Configured bound of the accelerated cache.', (s) => s.capacity);
  accelGauge('strata_accel_cache_entries', 'Objects whose bytes are cached.', (s) => s.entries);

  // Background workers with queues: blob collection (blobs released by committed transactions
  // wait in dead_blobs until unlinked: at once on a single node, by the collector past the grace
  // period on a shared filesystem), and the outbox's deliveries by kind (notification, access-log,
  // replication; src/outbox), summed per region so that labels stay bounded (no topic or bucket
  // names). One read of the queues per scrape serves both gauges.
  let queues: Promise<{ worker: string; region: string; depth: number; oldestMs?: number }[]> | undefined;
  const readQueues = async (region: string, store: RegionStore) => {
    const found: { worker: string; region: string; depth: number; oldestMs?: number }[] = [{ worker: 'blob-gc', region, ...(await store.meta.deadBlobQueue()) }];
    const byKind = new Map<string, { depth: number; oldestMs?: number }>();
    for (const q of await store.meta.outbox.queued()) {
      const sum = byKind.get(q.kind) ?? { depth: 0 };
      sum.depth += q.queued;
      sum.oldestMs = sum.oldestMs === undefined ? q.oldest : Math.min(sum.oldestMs, q.oldest);
      byKind.set(q.kind, sum);
    }
    for (const kind of outboxKinds) found.push({ worker: kind, region, depth: byKind.get(kind)?.depth ?? 0, oldestMs: byKind.get(kind)?.oldestMs });
    return found;
  };
  const queuesOnce = () => {
    queues ??= Promise.all(regions().map(([region, store]) => readQueues(region, store)))
      .then((all) => all.flat())
      .finally(() => setImmediate(() => (queues = undefined)));
    return queues;
  };
  new Gauge({
    name: 'strata_worker_queue_depth',
    help: 'Items waiting for a background worker, per worker and region.',
    labelNames: ['worker', 'region'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of await queuesOnce()) this.set({ worker: q.worker, region: q.region }, q.depth);
    },
  });
  new Gauge({
    name: 'strata_worker_queue_oldest_age_seconds',
    help: 'Age of the oldest item waiting for a background worker (0 when none waits; absent where the engine keeps no time: blob-gc on SQLite).',
    labelNames: ['worker', 'region'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of await queuesOnce()) {
        if (q.oldestMs !== undefined) this.set({ worker: q.worker, region: q.region }, Math.max(0, (Date.now() - q.oldestMs) / 1000));
        else if (q.depth === 0) this.set({ worker: q.worker, region: q.region }, 0);
      }
    },
  });
  new CopiedCounter('strata_worker_runs_total', 'Rounds run by the shared-filesystem blob collector on this node.', registry, () => (services as Services & { stores?: RegionStores }).stores?.collector?.runs);
}
