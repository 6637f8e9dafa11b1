// Blob collection on a shared filesystem. Several nodes over one PostgreSQL database release
// blobs without unlinking them (another node may still be reading one); this worker, on whichever
// node holds the region's lease, unlinks what has been unreferenced for longer than the grace
// period: blobs released by committed transactions (dead_blobs) and files that no metadata ever
// came to reference (a node died between writing a blob and committing it).
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { PgDatabase } from './meta/postgres.ts';
import type { RegionStore } from './region-store.ts';

/** This process, as a lease holder: host, pid and a random tag (pids repeat across hosts and restarts). */
export const nodeId = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;

export class BlobCollector {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** collections this node has run (tests and metrics) */
  runs = 0;

  constructor(
    private readonly stores: RegionStore[],
    private readonly database: PgDatabase,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.collect().finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** One round: every region whose lease this node holds (or takes) is collected. */
  async collect(): Promise<void> {
    for (const store of this.stores) {
      // A lease of three intervals: renewed every round while this node lives.
      if (!(await this.database.tryLease(`blob-collector/${store.name}`, nodeId, this.intervalMs * 3).catch(() => false))) continue;
      await store.recover().catch(() => undefined);
      this.runs++;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    for (const store of this.stores) await this.database.releaseLease(`blob-collector/${store.name}`, nodeId).catch(() => undefined);
  }
}
