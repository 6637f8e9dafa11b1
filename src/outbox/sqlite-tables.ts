// The outbox and the notification topics on the embedded engine: tables in the region's
// meta.db, created here if missing (their own CREATE IF NOT EXISTS, so that they need no slot
// in the shared migration list). Rows are recorded through the writer connection inside a
// change's transaction (SqliteOutboxWriter); the workers read through the reader connection and
// settle rows in transactions of their own on the writer queue.
import type { Db } from '../store/db.ts';
import type { Topic, TopicTable } from '../notify/topics.ts';
import type { OutboxCounter, OutboxEntry, OutboxQueued, OutboxRow, OutboxSettlement, OutboxTable } from './outbox.ts';

export function createOutboxTables(db: Db): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      kind TEXT NOT NULL,
      key TEXT NOT NULL,
      payload TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      due_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      last_error TEXT
    );
    CREATE INDEX IF NOT EXISTS outbox_by_key ON outbox(key, id);
    CREATE TABLE IF NOT EXISTS outbox_counters (
      kind TEXT NOT NULL,
      name TEXT NOT NULL,
      delivered INTEGER NOT NULL DEFAULT 0,
      retried INTEGER NOT NULL DEFAULT 0,
      dropped INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (kind, name)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS topics (
      org TEXT NOT NULL,
      name TEXT NOT NULL,
      endpoint TEXT NOT NULL,
      secret TEXT,
      opaque_data TEXT,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (org, name)
    ) WITHOUT ROWID;`);
}

/** Inside a change's transaction, on the writer connection. */
export class SqliteOutboxWriter {
  private readonly insert;
  constructor(db: Db) {
    this.insert = db.prepare('INSERT INTO outbox (kind, key, payload, due_at, created_at) VALUES (?, ?, ?, ?, ?)');
  }
  enqueue(entries: OutboxEntry[]): void {
    const now = Date.now();
    for (const e of entries) this.insert.run(e.kind, e.key, e.payload, e.dueAt ?? now, now);
  }
}

type TopicRow = { org: string; name: string; endpoint: string; secret: string | null; opaque_data: string | null; created_at: number };
const toTopic = (r: TopicRow): Topic => ({ org: r.org, name: r.name, endpoint: r.endpoint, secret: r.secret, opaqueData: r.opaque_data, createdAt: r.created_at });

/** `write` runs a function as a transaction of its own on the writer queue. */
export class SqliteOutbox implements OutboxTable, TopicTable {
  constructor(
    private readonly writer: Db,
    private readonly reader: Db,
    private readonly write: (fn: () => void) => Promise<void>,
  ) {}

  async due(now: number, limit: number): Promise<OutboxRow[]> {
    return this.reader
      .prepare<[number, number], OutboxRow>('SELECT * FROM outbox WHERE id IN (SELECT MIN(id) FROM outbox GROUP BY key) AND due_at <= ? ORDER BY id LIMIT ?')
      .all(now, limit);
  }

  async batch(key: string, limit: number): Promise<OutboxRow[]> {
    return this.reader.prepare<[string, number], OutboxRow>('SELECT * FROM outbox WHERE key = ? ORDER BY id LIMIT ?').all(key, limit);
  }

  settle(s: OutboxSettlement): Promise<void> {
    return this.write(() => {
      const remove = this.writer.prepare('DELETE FROM outbox WHERE id = ?');
      for (const id of s.remove) remove.run(id);
      this.count(s.kind, s.name, s.delivered ?? 0, 0, s.dropped ?? 0);
    });
  }

  retryLater(row: OutboxRow, dueAt: number, error: string, name: string): Promise<void> {
    return this.write(() => {
      this.writer.prepare('UPDATE outbox SET attempts = attempts + 1, due_at = ?, last_error = ? WHERE id = ?').run(dueAt, error, row.id);
      this.count(row.kind, name, 0, 1, 0);
    });
  }

  hurry(key: string): Promise<void> {
    return this.write(() => {
      this.writer.prepare('UPDATE outbox SET due_at = 0 WHERE key = ?').run(key);
    });
  }

  private count(kind: string, name: string, delivered: number, retried: number, dropped: number): void {
    if (delivered + retried + dropped === 0) return;
    this.writer
      .prepare(
        `INSERT INTO outbox_counters (kind, name, delivered, retried, dropped) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(kind, name) DO UPDATE SET delivered = delivered + excluded.delivered, retried = retried + excluded.retried, dropped = dropped + excluded.dropped`,
      )
      .run(kind, name, delivered, retried, dropped);
  }

  async queued(): Promise<OutboxQueued[]> {
    return this.reader
      .prepare<[], OutboxQueued>(
        `SELECT kind, key, COUNT(*) AS queued, SUM(attempts > 0) AS retrying, MIN(created_at) AS oldest,
           (SELECT last_error FROM outbox i WHERE i.key = o.key ORDER BY id LIMIT 1) AS last_error
         FROM outbox o GROUP BY kind, key ORDER BY kind, key`,
      )
      .all();
  }

  async counters(): Promise<OutboxCounter[]> {
    return this.reader.prepare<[], OutboxCounter>('SELECT * FROM outbox_counters ORDER BY kind, name').all();
  }

  // ---- topics ----

  async put(t: Topic): Promise<'created' | 'updated'> {
    let result: 'created' | 'updated' = 'created';
    await this.write(() => {
      const existing = this.writer.prepare('SELECT 1 FROM topics WHERE org = ? AND name = ?').get(t.org, t.name);
      if (existing) result = 'updated';
      this.writer
        .prepare(
          `INSERT INTO topics (org, name, endpoint, secret, opaque_data, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(org, name) DO UPDATE SET endpoint = excluded.endpoint, secret = excluded.secret, opaque_data = excluded.opaque_data`,
        )
        .run(t.org, t.name, t.endpoint, t.secret, t.opaqueData, t.createdAt);
    });
    return result;
  }

  async get(org: string, name: string): Promise<Topic | undefined> {
    const row = this.reader.prepare<[string, string], TopicRow>('SELECT * FROM topics WHERE org = ? AND name = ?').get(org, name);
    return row ? toTopic(row) : undefined;
  }

  async list(org?: string): Promise<Topic[]> {
    const rows = org === undefined
      ? this.reader.prepare<[], TopicRow>('SELECT * FROM topics ORDER BY org, name').all()
      : this.reader.prepare<[string], TopicRow>('SELECT * FROM topics WHERE org = ? ORDER BY name').all(org);
    return rows.map(toTopic);
  }

  async delete(org: string, name: string): Promise<boolean> {
    let deleted = false;
    await this.write(() => {
      deleted = this.writer.prepare('DELETE FROM topics WHERE org = ? AND name = ?').run(org, name).changes > 0;
    });
    return deleted;
  }
}
