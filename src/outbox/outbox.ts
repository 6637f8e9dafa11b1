// The durable outbox: work that must happen because a change committed (a notification to
// send, an access-log line to deliver, a version to replicate), recorded as a row of the
// region's metadata in the same transaction as the change. A change that rolls back leaves no
// row; a row that committed survives kill -9 (it is in the same WAL or PostgreSQL commit as the
// change), and a worker (worker.ts) delivers it at least once, in order per key, retrying with
// backoff. Both metadata engines implement OutboxTable (sqlite-outbox.ts, pg-outbox.ts).

/** A row to record inside a change's transaction. */
export interface OutboxEntry {
  /** which user of the outbox delivers it: 'notify', 'access-log', ... */
  kind: string;
  /** rows of one key are delivered one after another, in the order they were recorded */
  key: string;
  /** what the deliverer needs (JSON, text) */
  payload: string;
  /** not before this time (ms since the epoch; default: at once) */
  dueAt?: number;
}

export interface OutboxRow {
  id: number;
  kind: string;
  key: string;
  payload: string;
  attempts: number;
  due_at: number;
  created_at: number;
  last_error: string | null;
}

/** What became of deliveries, per name (a topic ARN, a target bucket), kept with the rows. */
export interface OutboxCounter {
  kind: string;
  name: string;
  delivered: number;
  retried: number;
  dropped: number;
}

export interface OutboxQueued {
  kind: string;
  key: string;
  queued: number;
  /** rows that have failed at least once */
  retrying: number;
  /** created_at of the oldest row */
  oldest: number;
  last_error: string | null;
}

/** How a finished delivery is recorded: rows removed, and the counters they count towards. */
export interface OutboxSettlement {
  /** rows delivered (or given up: see dropped) */
  remove: number[];
  kind: string;
  name: string;
  delivered?: number;
  dropped?: number;
}

/** The outbox rows of one region, outside any change's transaction (the workers' side). */
export interface OutboxTable {
  /** the first row of each key whose due time has come, oldest first */
  due(now: number, limit: number): Promise<OutboxRow[]>;
  /** the first `limit` rows of `key`, in order (deliverers that batch, such as access logs) */
  batch(key: string, limit: number): Promise<OutboxRow[]>;
  settle(s: OutboxSettlement): Promise<void>;
  /** a failed attempt: the row waits until `dueAt`, and its name's retried counter moves */
  retryLater(row: OutboxRow, dueAt: number, error: string, name: string): Promise<void>;
  /** make every row of `key` due now (a flush request) */
  hurry(key: string): Promise<void>;
  /** rows waiting, per key */
  queued(): Promise<OutboxQueued[]>;
  counters(): Promise<OutboxCounter[]>;
}

/** Error text kept with a row: bounded, one line. */
export function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, ' ').slice(0, 500);
}
