// The lifecycle worker of each region: every lifecycleIntervalSeconds it runs a pass (pass.ts)
// over each bucket with enabled rules, in the background of the server. A pass yields to
// requests between pages and acts in small transactions, so requests are never blocked behind
// it; a pass cut short resumes from its saved position on the next round, in this process or
// another. With PostgreSQL, several nodes serve a region: a lease (as the blob collector's) lets
// one node at a time run its worker, and renewing it after each page keeps a long pass its own.
import type { StrataConfig } from '../config.ts';
import { nodeId } from '../store/collector.ts';
import type { PgDatabase } from '../store/meta/postgres.ts';
import type { RegionStore } from '../store/region-store.ts';
import { runBucketPass, type PassStats } from './pass.ts';
import { hasEnabledRules } from './rules.ts';

export interface RoundStats {
  buckets: number;
  examined: number;
  expired: number;
  versionsRemoved: number;
  uploadsAborted: number;
}

export interface RoundOptions {
  dayMs: number;
  /** the clock rules are judged by (tests look days ahead) */
  now?: () => number;
  pageSize?: number;
  /** only this bucket */
  bucket?: string;
  /** before a bucket's pass starts, with its size (current and noncurrent versions) */
  onBucket?: (bucket: string, versions: number) => void;
  /** after each page; false stops the round (the bucket's position is kept) */
  afterPage?: (examined: number) => boolean | Promise<boolean>;
}

/** One round over a region: a pass over each bucket with enabled rules, one bucket after another. */
export async function runRegionRound(store: RegionStore, options: RoundOptions): Promise<RoundStats & { stopped: boolean }> {
  const total = { buckets: 0, examined: 0, expired: 0, versionsRemoved: 0, uploadsAborted: 0, stopped: false };
  const buckets = options.bucket ? [await store.getBucket(options.bucket)] : await store.listBuckets();
  for (const bucket of buckets) {
    if (!bucket || !hasEnabledRules(bucket.config?.lifecycle)) continue;
    options.onBucket?.(bucket.name, (await store.meta.bucketStats(bucket.name)).objects);
    const stats: PassStats = await runBucketPass(store, bucket.name, { dayMs: options.dayMs, now: options.now, pageSize: options.pageSize, afterPage: options.afterPage });
    total.buckets++;
    total.examined += stats.examined;
    total.expired += stats.expired;
    total.versionsRemoved += stats.versionsRemoved;
    total.uploadsAborted += stats.uploadsAborted;
    if (!stats.finished) return { ...total, stopped: true };
  }
  return total;
}

const leaseMs = 5 * 60_000;

export class RegionLifecycleWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  /** rounds completed (tests and operators) */
  rounds = 0;
  lastError: unknown;

  constructor(
    private readonly store: RegionStore,
    private readonly options: { dayMs: number; intervalMs: number; database?: PgDatabase; onError?: (error: unknown) => void },
  ) {}

  private get leaseName(): string {
    return `lifecycle/${this.store.name}`;
  }

  /** Hold (or take) the region's lease; always true without a shared database. */
  private async holdLease(): Promise<boolean> {
    if (!this.options.database) return true;
    // Renewed after every page, so it outlives a pass; short, so another node takes over soon after
    // this one dies (from the position the pass saved). Two nodes acting at once would only repeat
    // idempotent deletes: each is checked against the version it examined.
    return this.options.database.tryLease(this.leaseName, nodeId, leaseMs).catch(() => false);
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.running = this.round().finally(() => {
        this.running = undefined;
        this.schedule(this.options.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    try {
      if (!(await this.holdLease())) return;
      await runRegionRound(this.store, {
        dayMs: this.options.dayMs,
        afterPage: async () => !this.stopping && (await this.holdLease()),
      });
      this.rounds++;
    } catch (error) {
      this.lastError = error;
      this.options.onError?.(error);
    }
  }

  /** Stop after the page in progress; the pass's position is saved, so the next start resumes it. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running;
    if (this.options.database) await this.options.database.releaseLease(this.leaseName, nodeId).catch(() => undefined);
  }
}

/** A worker per region, unless lifecycleIntervalSeconds is 0. */
export function startLifecycleWorkers(
  config: Pick<StrataConfig, 'lifecycleDaySeconds' | 'lifecycleIntervalSeconds'>,
  stores: Iterable<RegionStore>,
  database?: PgDatabase,
  onError?: (error: unknown) => void,
): { workers: RegionLifecycleWorker[]; stop(): Promise<void> } {
  const workers: RegionLifecycleWorker[] = [];
  if (config.lifecycleIntervalSeconds > 0) {
    for (const store of stores) {
      const worker = new RegionLifecycleWorker(store, { dayMs: config.lifecycleDaySeconds * 1000, intervalMs: config.lifecycleIntervalSeconds * 1000, database, onError });
      worker.start();
      workers.push(worker);
    }
  }
  return { workers, stop: async () => void (await Promise.all(workers.map((w) => w.stop()))) };
}
