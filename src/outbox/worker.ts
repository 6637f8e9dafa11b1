// Delivers one region's outbox. Each round takes the first row of every key whose time has come
// and hands it (or, for batching deliverers, the key's first rows) to the deliverer of its kind;
// keys run side by side, the rows of one key strictly one after another. A delivered row is
// removed after the deliverer returns, so a crash in between delivers it again: at least once.
// A failure leaves the row first in its key with a later due time (exponential backoff with
// jitter) until the deliverer's retry period since the row was recorded has passed; then the
// row is dropped and counted. With several nodes on one database only the holder of the
// region's lease delivers, so the order per key holds across nodes.
import { randomInt } from 'node:crypto';
import { errorText, type OutboxRow, type OutboxTable } from './outbox.ts';

export interface Deliverer {
  /** rows handed over at once: 1, or up to this many of one key (access logs) */
  batchSize: number;
  /** the name a row is counted under (a topic ARN, a bucket) */
  nameOf(row: OutboxRow): string;
  /**
   * Deliver the rows; throw to try again later. 'dropped': nothing can ever deliver them (the
   * topic was deleted), so they go at once, counted as dropped.
   */
  deliver(rows: OutboxRow[]): Promise<'delivered' | 'dropped'>;
  /** how long after a row was recorded it is still retried */
  retryForMs: number;
}

export interface WorkerOptions {
  /** how often the table is looked at when nobody wakes the worker (other nodes' rows, retries) */
  pollMs: number;
  /** longest wait between two attempts of a row */
  backoffMaxMs: number;
  /** keys delivered side by side */
  concurrency: number;
  /** may this node deliver now? (PostgreSQL: the region's lease); absent: always */
  lease?: () => Promise<boolean>;
  /** where failures of the worker itself are reported (the database unreachable, ...) */
  onError?: (error: unknown) => void;
}

export class OutboxWorker {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private sleeping: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private woken = false;

  constructor(
    private readonly table: OutboxTable,
    private readonly deliverers: Map<string, Deliverer>,
    private readonly options: WorkerOptions,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Look again soon: a change's transaction just recorded rows. Called from inside that
   * transaction, so the look waits a moment for the commit instead of running at once.
   */
  wake(): void {
    this.woken = true;
    if (this.wakeTimer || !this.sleeping) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.sleeping?.resolve();
    }, 5);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.wakeTimer);
    this.sleeping?.resolve();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleeping = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.sleeping = { timer, resolve: done };
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.woken = false;
      let worked = 0;
      try {
        if (!this.options.lease || (await this.options.lease())) worked = await this.round();
      } catch (error) {
        this.options.onError?.(error);
      }
      // Rows recorded while this round ran may have been missed by its query: go again.
      if (this.stopped) break;
      if (worked === 0 && !this.woken) await this.sleep(this.options.pollMs);
    }
  }

  /** One pass over the due heads; returns how many rows were settled. */
  async round(): Promise<number> {
    const heads = (await this.table.due(Date.now(), 256)).filter((row) => this.deliverers.has(row.kind));
    let settled = 0;
    let next = 0;
    const lane = async () => {
      while (next < heads.length && !this.stopped) settled += await this.deliverKey(heads[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, heads.length) }, lane));
    return settled;
  }

  private async deliverKey(head: OutboxRow): Promise<number> {
    const deliverer = this.deliverers.get(head.kind)!;
    const rows = deliverer.batchSize > 1 ? await this.table.batch(head.key, deliverer.batchSize) : [head];
    const name = deliverer.nameOf(head);
    try {
      const outcome = await deliverer.deliver(rows);
      await this.table.settle({ remove: rows.map((r) => r.id), kind: head.kind, name, [outcome]: rows.length });
      return rows.length;
    } catch (error) {
      const now = Date.now();
      if (now - head.created_at >= deliverer.retryForMs) {
        await this.table.settle({ remove: [head.id], kind: head.kind, name, dropped: 1 });
        return 1;
      }
      await this.table.retryLater(head, now + this.backoff(head.attempts), errorText(error), name);
      return 0;
    }
  }

  /** 0.5 s, 1 s, 2 s, ... up to the maximum, each with up to half of it taken off at random. */
  private backoff(attempts: number): number {
    const full = Math.min(this.options.backoffMaxMs, 500 * 2 ** Math.min(attempts, 20));
    return full - randomInt(Math.floor(full / 2) + 1);
  }
}
